"""`make bench-profiles`: when does transfer without labels help? Every adaptation against source-only training
and a target-trained oracle, on four pair profiles (core/data/synthetic.py PAIR_PROFILES), paired by seed.

For each profile and seed the target's x-y plane is cut into 4 x 4 blocks and four of them (seeded) are held out:
every row is scored on the labels of those blocks only, and the oracle (the same method trained on the target's
own labels outside them, a buffer of half a patch left out, with as many training steps as the source-only run:
more epochs, since the steps follow the ore count) says how well the target can be predicted at all.
Headroom = oracle - source-only: what any adaptation could win. A row's share of headroom = its gain over its
source-only base / the headroom of that base's family (forest rows: the forest's; network rows: the CNN's).
Target labels reach nothing but the oracle's training and the scoring.

Diagnostics of the adversary, measured in the same space before and after: the proxy A-distance (PAD) of the
network's embedding at initialisation (the same seed's untrained network) and after training, for the
source-only CNN and DANN-CTA; the evidence's PAD before and after each input alignment; the discriminator's
accuracy and domain loss per epoch.

THE RULE, fixed before the first run: an option becomes Train's default only if on the measurement profile its
mean paired gain over plain DANN-CTA (the default) is > 0 on seeds 0-4, and on seeds 5-9 the mean gain is > 0 and
it is better on at least 4 of 5 seeds, and on the concept-only and as-designed profiles its mean paired loss
against plain DANN-CTA is within one paired sd (over all seeds run). The script prints each option's verdict.
The fault-geometry profile came after the first run (none of the three others moves the ore's own controls, so
the measurement profile left no headroom); fixed with it, before its first run: it is a second shift profile, the
test above passes on either shift profile, and the loss bound then holds on every other profile.
Seeds run in the order 0, 5, 1, 6, ... so that a cut-short run still has seeds on both sides of the rule.

THE FOREST'S RULE, written and committed before its first run: THE RULE covers only Train's default method, and
on seeds 0-9 quantile alignment looked like it would pass for the forest; those seeds have been seen, so the
forest's default input alignment is decided on fresh seeds 10-19 alone (FOREST_SEEDS, FOREST_ROWS). Quantile
alignment becomes the forest's default INPUT_ALIGNMENT only if on a shift profile its paired gain over the plain
forest on seeds 10-19 has a mean > 0 and is > 0 on at least 8 of the 10 seeds, and on every other profile its mean
paired loss against the plain forest on seeds 10-19 is within one paired sd. All 40 profile-seeds must have run.

Peer rows (PEER_ROWS), each an independent implementation run in its own environment where --peer-python is given:
skada's CORAL and OT mapping feeding a forest fitted on the plain forest's samples (bench/peer_skada_mapping.py,
base rf) and skada's DANN (bench/peer_skada.py, base cnn). Target labels never reach the peer process.

--rows runs only the rows (and oracles) named, adding them to the profile-seeds already in the results file:
rows added later are paired with the earlier rows of the same seed. Writes bench/profiles/results.json (resumed
where it stopped) and results.md.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import platform
import subprocess
import tempfile
import time

import numpy as np
from common import AS_MEASURED, load_plugin, parse_arguments  # noqa: E402
from scipy.ndimage import binary_dilation

load_plugin()

import torch  # noqa: E402
from mpm3d.core.data.grid import LABEL_UNKNOWN  # noqa: E402
from mpm3d.core.data.synthetic import PAIR_PROFILES, synthetic_pair  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from mpm3d.core.learning.alignment import aligned_cube, reference_summary  # noqa: E402
from mpm3d.core.learning.members import member_seed  # noqa: E402
from mpm3d.core.learning.model import ProspectivityNet, config_for_method  # noqa: E402
from mpm3d.core.learning.predict import predict_cube  # noqa: E402
from mpm3d.core.learning.sampling import (  # noqa: E402
    SPLIT_TILES,
    FeatureStats,
    PatchGatherer,
    column_blocks,
    cube_stats,
    draw_source_epoch,
    ore_cycle,
    padded_standardised,
    source_samples,
    standardise,
)
from mpm3d.core.learning.training import adabn_voxels, target_batch_norm, train  # noqa: E402
from mpm3d.core.learning.voxel_outputs import embed_and_score  # noqa: E402
from mpm3d.core.results.metrics import labelled_scores, proxy_a_distance, roc_auc  # noqa: E402
from mpm3d.core.settings import TrainConfig  # noqa: E402
from run import run_peer  # noqa: E402

# Row -> (method, Train options, source-only base row). The oracle rows train on the target's own labels.
ROWS = {
    "rf": ("rf", {"input_alignment": "none"}, None),  # the plain forest (its default is now quantile alignment)
    "rf + quantile": ("rf", {"input_alignment": "quantile"}, "rf"),
    "rf + coral": ("rf", {"input_alignment": "coral"}, "rf"),
    "cnn": ("cnn", {}, None),
    "cnn + adabn": ("cnn", {"target_batch_norm": True}, "cnn"),
    "cnn + mcc": ("cnn", {"target_loss": "mcc"}, "cnn"),  # added after the first run, with dann_cta + mcc
    "cta": ("cta", {}, "cnn"),  # the attention without the adversary: what DANN-CTA's gain owes to attention
    "dann_cta": ("dann_cta", {}, "cnn"),
    "dann_cta + adabn": ("dann_cta", {"target_batch_norm": True}, "cnn"),
    "dann_cta + quantile": ("dann_cta", {"input_alignment": "quantile"}, "cnn"),
    "dann_cta + large discriminator, 2 domain steps": ("dann_cta", {"discriminator": "large", "domain_steps": 2},
                                                       "cnn"),
    # added after the first run, under THE RULE as it stands (written before it): MCC, Jin et al. 2020
    "dann_cta + mcc": ("dann_cta", {"target_loss": "mcc"}, "cnn"),
}
# Peer rows, each an independent implementation in the peer environment (--peer-python): row -> (adaptation,
# source-only base row). skada's mappings feed the plain forest's samples to a forest; its DANN is bench/run.py's.
PEER_ROWS = {
    "skada coral + rf": ("coral", "rf"),
    "skada ot + rf": ("ot", "rf"),
    "skada dann": ("dann", "cnn"),
}
BASES = {**{row: base for row, (_, _, base) in ROWS.items()}, **{row: base for row, (_, base) in PEER_ROWS.items()}}
ORACLES = {"rf": "rf oracle", "cnn": "cnn oracle"}
DEFAULT_ROW = "dann_cta"  # Train's default: what an option must beat to become the default
CANDIDATES = [row for row in ROWS if row.startswith("dann_cta +")]
RULE_SEEDS = tuple(range(10))  # THE RULE's seeds: 0-4 pick, 5-9 confirm; the tables show these
HALVES_ROWS = ("cnn + mcc", "dann_cta + mcc")  # rows shown by halves of THE RULE's seeds too
FOREST_BASE = "rf"
FOREST_CANDIDATES = ("rf + quantile",)  # THE FOREST'S RULE: INPUT_ALIGNMENT 'quantile' as the forest's default
FOREST_SEEDS = tuple(range(10, 20))  # fresh: seeds 0-9 were seen before the forest's rule was written
FOREST_ROWS = ("rf", "rf + quantile", "rf oracle")
FOREST_BETTER_ON = 8  # of the 10 fresh seeds
RUN_PROFILES = {
    # patch 5, 6 epochs: about 10 s a network on 2 cores, so 3 profiles x 10 seeds fit in about 40 minutes
    "quick": {"size": "test", "config": dict(epochs=6, patch_size=5, batch_size=64), "seeds": list(range(10))},
    "full": {"size": "demo", "config": dict(epochs=20, patch_size=9, batch_size=128), "seeds": list(range(10))},
    # seconds: that the script runs (tests/bench)
    "smoke": {"size": "smoke", "config": dict(epochs=1, patch_size=3, batch_size=32), "seeds": [0]},
}
PAIR_SIZES = {**DEPOSIT_SIZES, "smoke": {"shape": (8, 24, 24), "voxel_size": (50.0, 70.0, 70.0)}}
HELD_OUT_TILES = 4
PAD_VOXELS = 2000


def held_out_blocks(shape: tuple[int, int, int], seed: int, buffer: int) -> tuple[np.ndarray, np.ndarray]:
    """(scored, oracle may train) column masks (Y, X): four of 4 x 4 x-y blocks held out, and the rest less a
    buffer of ``buffer`` columns around them."""
    _, ny, nx = shape
    block = column_blocks(ny, nx)
    chosen = np.random.default_rng([seed, 21]).choice(SPLIT_TILES * SPLIT_TILES, HELD_OUT_TILES, replace=False)
    scored = np.isin(block, chosen)
    near = binary_dilation(scored, np.ones((2 * buffer + 1,) * 2, bool)) if buffer else scored
    return scored, ~near


def _auc(probability: np.ndarray, labels: np.ndarray, scored: np.ndarray) -> float:
    masked = np.where(scored[None], labels, LABEL_UNKNOWN)
    return float(roc_auc(*labelled_scores(probability, masked)))


def _embedding(net, cube, stats, flat: np.ndarray) -> np.ndarray:
    patches = PatchGatherer(padded_standardised(cube, stats, net.config.patch_size // 2), net.config.patch_size,
                            torch.device("cpu"))
    return embed_and_score(net.eval(), patches, patches.centre_index(flat), torch.device("cpu"))[0]


def _voxels(cube, rng) -> np.ndarray:
    flat = np.flatnonzero(cube.valid.ravel())
    return rng.choice(flat, min(PAD_VOXELS, len(flat)), replace=False)


def _centres(cube, flat) -> np.ndarray:
    return standardise(cube.features.reshape(len(cube.feature_names), -1)[:, flat], cube_stats(cube)).T


def run_one(profile: str, seed: int, run_profile: dict, rows, done: dict | None = None,
            peer_python: str | None = None) -> dict:
    """The ``rows`` (and oracles) of one profile and seed that ``done`` (its earlier run) lacks: target AUCs on the
    held-out blocks and the diagnostics, added to ``done``. Peer rows need ``peer_python``."""
    source, target = synthetic_pair(**PAIR_SIZES[run_profile["size"]], seed=seed, profile=profile)
    labels = target.label
    unlabelled = dataclasses.replace(target, label=None)
    base = TrainConfig(**run_profile["config"], seed=seed, members=1, device="cpu", **AS_MEASURED)
    scored, trainable = held_out_blocks(target.grid.shape, seed, base.patch_size // 2)
    rng = np.random.default_rng([seed, 22])
    source_flat, target_flat = _voxels(source, rng), _voxels(target, rng)
    out = done or {"profile": profile, "seed": seed, "auc": {}, "seconds": {}, "history": {}, "pad": {}}
    wanted = [name for name in rows if name not in out["auc"]]

    def score(name, model, started):
        out["auc"][name] = _auc(predict_cube(model, unlabelled, device="cpu"), labels, scored)
        out["seconds"][name] = time.perf_counter() - started

    # oracles: the target as its own labelled source, scored blocks unlabelled
    oracle_cube = dataclasses.replace(target, label=np.where(trainable[None], labels, LABEL_UNKNOWN).astype(np.int8))
    # as many steps as the source-only run: the steps follow the ore count, and the oracle has less ore to learn on
    ore_ratio = (source.label == 1).sum() / (oracle_cube.label == 1).sum()
    oracle_epochs = int(min(4 * base.epochs, round(base.epochs * ore_ratio)))
    out["oracle_epochs"] = oracle_epochs
    for method, name in ORACLES.items():
        if name not in wanted:
            continue
        started = time.perf_counter()
        oracle_config = dataclasses.replace(base, method=method, epochs=max(base.epochs, oracle_epochs))
        score(name, train(oracle_cube, unlabelled, oracle_config).model, started)
    trained = {}

    def plain(method):  # the plain run's model (trained again, the same weights, where an earlier call scored it)
        if method not in trained:
            trained[method] = train(source, unlabelled, dataclasses.replace(base, method=method)).model
        return trained[method]

    for name, (method, options, _) in ROWS.items():
        if name not in wanted:
            continue
        if options.get("target_batch_norm"):  # AdaBN on the plain run's chosen weights: Train's own function
            model = plain(method)
            started = time.perf_counter()
            voxels = adabn_voxels(np.flatnonzero(target.valid), seed)
            nets = [target_batch_norm(copy.deepcopy(net), _target_patches(model, unlabelled), voxels)
                    for net in model.networks]
            score(name, dataclasses.replace(model, networks=nets), started)
            continue
        started = time.perf_counter()
        result = train(source, unlabelled, dataclasses.replace(base, method=method, **options))
        score(name, result.model, started)
        if not options:
            trained[method] = result.model
        if method != "rf":
            out["history"][name] = [{k: h[k] for k in ("epoch", "loss_domain", "disc_acc", "val_auc", "loss_target")
                                     if k in h} for h in result.history]
            out.setdefault("best_epoch", {})[name] = result.best_epoch
            out["pad"][name] = _embedding_pad(result.model, source, unlabelled, source_flat, target_flat, seed,
                                              dataclasses.replace(base, method=method, **options))
    for name, (adaptation, base_row) in PEER_ROWS.items():
        if name not in wanted:
            continue
        started = time.perf_counter()
        config = dataclasses.replace(base, method=base_row)
        if adaptation == "dann":
            probability = run_peer(peer_python, source, unlabelled, config, (source_flat, target_flat),
                                   np.random.default_rng([seed, 23]))["probability"]
        else:
            probability = mapped_forest(peer_python, adaptation, source, unlabelled, config)
        out["auc"][name] = _auc(probability, labels, scored)
        out["seconds"][name] = time.perf_counter() - started
    for method in ("quantile", "coral"):
        if f"evidence, {method}" in out["pad"]:
            continue
        aligned = aligned_cube(reference_summary(method, source, seed), unlabelled, seed)
        out["pad"][f"evidence, {method}"] = {
            "before": proxy_a_distance(_centres(source, source_flat), _centres(target, target_flat), seed),
            "after": proxy_a_distance(_centres(source, source_flat), _centres(aligned, target_flat), seed)}
    return out


def mapped_forest(peer_python: str, adaptation: str, source, target, config: TrainConfig) -> np.ndarray:
    """skada's ``adaptation`` mapping feeding a forest in the peer environment (bench/peer_skada_mapping.py), on
    the samples the plugin's forest is fitted on: the target ore probability per voxel (NaN off the valid mask)."""
    split, _, rng = source_samples(source, config)
    voxels, labels = draw_source_epoch(split, config.negative_ratio, rng, ore_cycle(split, config).next_epoch())
    target_flat = np.flatnonzero(target.valid)
    job = {"adaptation": adaptation, "seed": config.seed, "train_samples": _centres(source, voxels),
           "train_labels": labels, "target_samples": _centres(target, target_flat)}
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_skada_mapping.py")
    with tempfile.TemporaryDirectory() as folder:
        job_path, answer_path = os.path.join(folder, "job.npz"), os.path.join(folder, "answer.npz")
        np.savez(job_path, **job)
        subprocess.run([peer_python, script, job_path, answer_path], check=True)
        with np.load(answer_path) as data:
            answer = data["probability"]
    probability = np.full(target.valid.shape, np.nan, np.float32)
    probability.ravel()[target_flat] = answer
    return probability


def _target_patches(model, target) -> PatchGatherer:
    stats = cube_stats(target)
    return PatchGatherer(padded_standardised(target, stats, model.patch_size // 2), model.patch_size,
                         torch.device("cpu"))


def _embedding_pad(model, source, target, source_flat, target_flat, seed: int, config) -> dict:
    """PAD of the embedding at initialisation (the same seed's untrained network) and after training, each on
    the model's own standardisation of both deposits."""
    stats = {role: FeatureStats.from_dict(model.normalisation[role]) for role in ("source", "target")}
    torch.manual_seed(member_seed(seed, 0))
    initial = ProspectivityNet(config_for_method(config.method, len(source.feature_names), config.patch_size,
                                                 config.discriminator))
    target_in = aligned_cube(model.alignment, target, seed)
    pads = {}
    for when, net in (("before", initial), ("after", model.networks[0])):
        pads[when] = proxy_a_distance(_embedding(net, source, stats["source"], source_flat),
                                      _embedding(net, target_in, stats["target"], target_flat), seed)
    return pads


# ---------------------------------------------------------------------------------------------------------------
# the table and the rule


def paired(runs: list[dict], profile: str, row: str, against: str, seeds=RULE_SEEDS) -> np.ndarray:
    """row - against, per seed, over the runs of one profile that scored both (``seeds``: those only)."""
    return np.array([r["auc"][row] - r["auc"][against] for r in runs
                     if r["profile"] == profile and r["seed"] in seeds and row in r["auc"] and against in r["auc"]])


SHIFT_PROFILES = ("measurement", "fault_geometry")


def _shift_test(runs: list[dict], profile: str, row: str) -> list[str] | None:
    """Why ``row`` fails the pick-and-confirm test on one shift profile ([]: it passes; None: seeds missing)."""
    pick = paired(runs, profile, row, DEFAULT_ROW, range(5))
    confirm = paired(runs, profile, row, DEFAULT_ROW, range(5, 10))
    if len(pick) < 5 or len(confirm) < 5:
        return None
    reasons = []
    if pick.mean() <= 0:
        reasons.append(f"{profile} seeds 0-4 mean gain {pick.mean():+.4f}")
    if confirm.mean() <= 0 or (confirm > 0).sum() < 4:
        reasons.append(f"{profile} seeds 5-9 mean gain {confirm.mean():+.4f}, better on {(confirm > 0).sum()} of 5")
    return reasons


def verdicts(runs: list[dict]) -> dict[str, str]:
    """THE RULE (module docstring) for every candidate option."""
    out = {}
    for row in CANDIDATES:
        tests = {profile: _shift_test(runs, profile, row) for profile in SHIFT_PROFILES}
        decided = {profile: reasons for profile, reasons in tests.items() if reasons is not None}
        if not decided:
            out[row] = "not decided: no shift profile has seeds 0-9 run"
            continue
        passed = [profile for profile, reasons in decided.items() if not reasons]
        reasons = [] if passed else [reason for failed in decided.values() for reason in failed]
        for control in (profile for profile in PAIR_PROFILES if profile not in passed):
            diff = paired(runs, control, row, DEFAULT_ROW)
            if len(diff) > 1 and diff.mean() < -diff.std(ddof=1):
                reasons.append(f"{control} loses {diff.mean():+.4f} (sd {diff.std(ddof=1):.4f})")
        out[row] = (f"becomes the default (passes on {', '.join(passed)})" if not reasons
                    else "stays an option: " + "; ".join(reasons))
    return out


def forest_verdicts(runs: list[dict]) -> dict[str, str]:
    """THE FOREST'S RULE (module docstring) for every forest candidate, on seeds 10-19 alone."""
    out = {}
    for row in FOREST_CANDIDATES:
        diffs = {profile: paired(runs, profile, row, FOREST_BASE, FOREST_SEEDS) for profile in PAIR_PROFILES}
        missing = [profile for profile, diff in diffs.items() if len(diff) < len(FOREST_SEEDS)]
        if missing:
            out[row] = f"not decided: seeds 10-19 not all run on {', '.join(missing)}"
            continue
        passed = [profile for profile in SHIFT_PROFILES
                  if diffs[profile].mean() > 0 and (diffs[profile] > 0).sum() >= FOREST_BETTER_ON]
        reasons = [] if passed else [f"{profile} seeds 10-19 mean gain {diffs[profile].mean():+.4f}, better on "
                                     f"{(diffs[profile] > 0).sum()} of 10" for profile in SHIFT_PROFILES]
        for control in (profile for profile in PAIR_PROFILES if profile not in passed):
            diff = diffs[control]
            if diff.mean() < -diff.std(ddof=1):
                reasons.append(f"{control} seeds 10-19 loses {diff.mean():+.4f} (sd {diff.std(ddof=1):.4f})")
        out[row] = (f"becomes the forest's default (passes on {', '.join(passed)})" if not reasons
                    else "stays an option for the forest: " + "; ".join(reasons))
    return out


def _halves_lines(runs: list[dict]) -> list[str]:
    """HALVES_ROWS against their source-only base and against plain DANN-CTA, by halves of seeds 0-9."""
    lines = ["## By halves: " + ", ".join(HALVES_ROWS), "",
             "Paired differences (mean ± sd, better on n of seeds), seeds 0-4, 5-9 and 0-9.", "",
             *_target_loss_lines(runs),
             "| profile | row | against | seeds 0-4 | seeds 5-9 | seeds 0-9 |", "|---|---|---|---|---|---|"]

    def cell(diff):
        return f"{_mean_sd(diff, 4)}, {(diff > 0).sum()} of {len(diff)}" if len(diff) else "-"

    for profile in PAIR_PROFILES:
        for row in HALVES_ROWS:
            for against in dict.fromkeys((BASES[row], DEFAULT_ROW)):
                halves = [paired(runs, profile, row, against, seeds) for seeds in (range(5), range(5, 10), RULE_SEEDS)]
                if len(halves[2]):
                    lines.append(f"| {profile} | {row} | {against} | " + " | ".join(map(cell, halves)) + " |")
    return lines + [""]


def _target_loss_lines(runs: list[dict]) -> list[str]:
    """The label-free target loss per epoch (mean over seeds 0-9) and the epoch the source validation kept."""
    lines = []
    for profile in PAIR_PROFILES:
        for row in HALVES_ROWS:
            have = [r for r in runs if r["profile"] == profile and r["seed"] in RULE_SEEDS
                    and "loss_target" in r["history"].get(row, [{}])[0]]
            if have:
                losses = np.mean([[h["loss_target"] for h in r["history"][row]] for r in have], axis=0)
                kept = np.mean([r["best_epoch"][row] for r in have])
                lines.append(f"- {profile}, {row}: MCC loss by epoch {' '.join(f'{v:.3f}' for v in losses)}; "
                             f"epoch kept {kept:.1f} on average ({len(have)} seeds)")
    return lines + [""] if lines else []


def _forest_lines(runs: list[dict]) -> list[str]:
    """The fresh-seed table of THE FOREST'S RULE and its verdict."""
    lines = ["## The forest's default on fresh seeds 10-19", "",
             "THE FOREST'S RULE (bench/profiles.py), written and committed before its first run: quantile alignment "
             "becomes the forest's default INPUT_ALIGNMENT only if on a shift profile its paired gain over the plain "
             f"forest on seeds 10-19 has a mean > 0 and is > 0 on at least {FOREST_BETTER_ON} of 10 seeds, and on "
             "every other profile its mean paired loss is within one paired sd.", "",
             "| profile | seeds | rf oracle | rf | rf + quantile | gain (paired mean ± sd) | better on |",
             "|---|---|---|---|---|---|---|"]
    for profile in PAIR_PROFILES:
        mine = [r for r in runs if r["profile"] == profile and r["seed"] in FOREST_SEEDS]
        if not mine:
            continue
        gain = paired(runs, profile, FOREST_CANDIDATES[0], FOREST_BASE, FOREST_SEEDS)
        aucs = {row: _mean_sd([r["auc"][row] for r in mine if row in r["auc"]]) for row in FOREST_ROWS}
        lines.append(f"| {profile} | {len(mine)} | {aucs['rf oracle']} | {aucs['rf']} | {aucs['rf + quantile']} | "
                     f"{_mean_sd(gain, 4)} | {(gain > 0).sum()} of {len(gain)} |")
    lines += [""] + [f"- {row}: {verdict}" for row, verdict in forest_verdicts(runs).items()] + [""]
    return lines


def _mean_sd(values, digits: int = 3) -> str:
    values = np.asarray(values, float)
    if len(values) == 0:
        return "-"
    return (f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}" if len(values) > 1
            else f"{values.mean():.{digits}f}")


def write_markdown(results: dict, path: str) -> None:
    runs = results["runs"]
    lines = ["# When does adaptation help? Pair profiles with a target-trained oracle", "",
             f"Commands: {', '.join(f'`{c}`' for c in results.get('commands', [results['command']]))}. "
             f"{results['hardware']}. Settings: {results['settings']}. Wall time: {results['wall_minutes']:.1f} min "
             f"in all, for {len(runs)} profile-seeds (rows added later run on a machine shared with other work).", "",
             "Target AUC on four held-out 4 x 4 x-y blocks of the target (mean ± sd over seeds). Headroom = oracle - "
             "source-only; gain = the row minus its source-only base, paired by seed (mean ± sd; se = sd / sqrt(n)); "
             "share = mean gain / mean headroom of the base's family.", ""]
    for profile in PAIR_PROFILES:
        mine = [r for r in runs if r["profile"] == profile and r["seed"] in RULE_SEEDS]
        if not mine:
            continue
        seeds = sorted(r["seed"] for r in mine)

        def aucs(row, mine=mine):
            return [r["auc"][row] for r in mine if row in r["auc"]]

        lines += [f"## {profile}: {PAIR_PROFILES[profile]}", "", f"Seeds: {', '.join(map(str, seeds))}.", ""]
        headroom = {base: paired(runs, profile, ORACLES[base], base) for base in ORACLES}
        lines += ["| row | target AUC | gain over its base | share of headroom | vs dann_cta |",
                  "|---|---|---|---|---|"]
        for oracle_base, oracle in ORACLES.items():
            room = headroom[oracle_base]
            lines.append(f"| {oracle} | {_mean_sd(aucs(oracle))} | headroom "
                         f"{_mean_sd(room)} (se {room.std(ddof=1) / np.sqrt(len(room)) if len(room) > 1 else 0:.3f})"
                         " | | |")
        for row, base in BASES.items():
            if not aucs(row):
                continue
            gain = paired(runs, profile, row, base) if base else np.array([])
            family = headroom["rf" if base == "rf" else "cnn"]
            share = f"{gain.mean() / family.mean():.0%}" if base and abs(family.mean()) > 1e-9 else ""
            versus = _mean_sd(paired(runs, profile, row, DEFAULT_ROW)) if row != DEFAULT_ROW else ""
            fewer = f" ({len(aucs(row))} seeds)" if len(aucs(row)) < len(mine) else ""
            lines.append(f"| {row}{fewer} | {_mean_sd(aucs(row))} | {_mean_sd(gain) if base else ''} "
                         f"| {share} | {versus} |")
        best = max((row for row in ROWS if ROWS[row][2] and len(aucs(row)) == len(mine)),
                   key=lambda row: np.mean(aucs(row)))
        beat = paired(runs, profile, best, "rf")
        se = beat.std(ddof=1) / np.sqrt(len(beat)) if len(beat) > 1 else float("nan")
        lines += ["", f"Best adaptation: {best}, {beat.mean():+.4f} over the source-only forest "
                      f"({beat.mean() / se if se else float('nan'):.1f} paired standard errors).", ""]
        lines += ["| adversary (mean over seeds) | disc acc epoch 1 | disc acc last | domain loss last | "
                  "embedding PAD before -> after |", "|---|---|---|---|---|"]
        for row in (row for row in ROWS if any(row in r["history"] for r in mine)):
            have = [r for r in mine if row in r["history"]]
            first = np.mean([r["history"][row][0]["disc_acc"] for r in have])
            last = np.mean([r["history"][row][-1]["disc_acc"] for r in have])
            loss = np.mean([r["history"][row][-1]["loss_domain"] for r in have])
            before = np.mean([r["pad"][row]["before"] for r in have])
            after = np.mean([r["pad"][row]["after"] for r in have])
            lines.append(f"| {row} | {first:.3f} | {last:.3f} | {loss:.3f} | {before:.2f} -> {after:.2f} |")
        for method in ("quantile", "coral"):
            key = f"evidence, {method}"
            lines.append(f"| evidence PAD, {method} alignment | | | | "
                         f"{np.mean([r['pad'][key]['before'] for r in mine]):.2f} -> "
                         f"{np.mean([r['pad'][key]['after'] for r in mine]):.2f} |")
        lines.append("")
    lines += ["## The rule", "", "Fixed before the first run (bench/profiles.py): an option becomes Train's default "
              "only if on a shift profile (measurement; fault_geometry, added with this clause before its first run) "
              "its mean paired gain over plain DANN-CTA is > 0 on seeds 0-4, and on seeds 5-9 the mean gain is > 0 "
              "and it is better on at least 4 of 5 seeds, and on every other profile its mean paired loss is within "
              "one paired sd.", ""]
    lines += [f"- {row}: {verdict}" for row, verdict in verdicts(runs).items()] + [""]
    if any(row in r["auc"] for r in runs for row in HALVES_ROWS):
        lines += _halves_lines(runs)
    if any(r["seed"] in FOREST_SEEDS for r in runs):
        lines += _forest_lines(runs)
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0], RUN_PROFILES, [], "profiles",
                           extra=[("--pair-profiles", {"nargs": "+", "default": list(PAIR_PROFILES),
                                                       "choices": list(PAIR_PROFILES)}),
                                  ("--rows", {"nargs": "+", "choices": [*ORACLES.values(), *ROWS, *PEER_ROWS],
                                              "help": "only these rows and oracles (default: all)"}),
                                  ("--peer-python", {"help": "Python of the environment with skada "
                                                             "(bench/requirements-peer.txt): the peer rows"})])
    run_profile = RUN_PROFILES[args.profile]
    seeds = args.seeds if args.seeds is not None else run_profile["seeds"]
    order = [seed for pair in zip(seeds[:5], seeds[5:], strict=False) for seed in pair]
    order += [seed for seed in seeds if seed not in order]
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, "results.json")
    results = {"runs": [], "wall_minutes": 0.0}
    if os.path.exists(path):
        with open(path) as handle:
            results = json.load(handle)
    torch.set_num_threads(os.cpu_count() or 1)
    command = " ".join(["python bench/profiles.py", f"--profile {args.profile}",
                        *([f"--seeds {' '.join(map(str, args.seeds))}"] if args.seeds is not None else []),
                        *([f"--pair-profiles {' '.join(args.pair_profiles)}"]
                          if args.pair_profiles != list(PAIR_PROFILES) else []),
                        *([" ".join(["--rows", *(f"'{row}'" for row in args.rows)])] if args.rows else []),
                        *([f"--peer-python {args.peer_python}"] if args.peer_python else [])])
    commands = results.get("commands", [results["command"]] if "command" in results else [])
    results.update(command=commands[0] if commands else command,
                   commands=commands + [command] * (command not in commands),
                   hardware=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU",
                   settings=f"{run_profile['size']} deposits {PAIR_SIZES[run_profile['size']]['shape']}, "
                            f"{run_profile['config']}, one network per row")
    rows = args.rows or [*ORACLES.values(), *ROWS, *PEER_ROWS]
    if not args.peer_python and any(row in PEER_ROWS for row in rows):
        print("no --peer-python given: the peer rows are left out", flush=True)
        rows = [row for row in rows if row not in PEER_ROWS]
    done = {(r["profile"], r["seed"]): r for r in results["runs"]}
    for seed in order:
        for profile in args.pair_profiles:
            earlier = done.get((profile, seed))
            if earlier is not None and all(row in earlier["auc"] for row in rows):
                continue
            started = time.perf_counter()
            run = run_one(profile, seed, run_profile, rows, earlier, args.peer_python)
            if earlier is None:
                results["runs"].append(run)
            results["wall_minutes"] += (time.perf_counter() - started) / 60
            print(f"{profile} seed {seed}: {time.perf_counter() - started:.0f} s; "
                  + ", ".join(f"{k} {run['auc'][k]:.3f}" for k in rows), flush=True)
            with open(path, "w") as handle:
                json.dump(results, handle, indent=1)
            write_markdown(results, os.path.join(args.out_dir, "results.md"))
    for row, verdict in {**verdicts(results["runs"]), **forest_verdicts(results["runs"])}.items():
        print(f"{row}: {verdict}")


if __name__ == "__main__":
    main()
