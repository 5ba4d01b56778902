"""`make bench-ensembles`: do ensembles, their uncertainty and the novelty map earn their place?

For every base seed (synthetic pair and training): an ensemble per network method (members from
their own seeds) and the random forest (its trees), the target predicted densely, and, against the
target labels (only here): the ensemble's target AUC, each member's own AUC (a member is a single
model, so the members over all base seeds give a single model's spread), and the AUC in the half of
the target volume with the lowest uncertainty (or novelty) against the other half. Nothing here
chooses a default. Writes bench/ensembles/results.md and results.json (or --out-dir) after every run;
--resume keeps the runs found there and does only the missing ones (a GPU run split over sittings).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
from common import AS_MEASURED, load_plugin, parse_arguments, save_results  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from mpm3d.core.data.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.model import TrainedModel  # noqa: E402
from mpm3d.core.learning.novelty import novelty_map  # noqa: E402
from mpm3d.core.learning.predict import predict_cube, predict_ensemble  # noqa: E402
from mpm3d.core.learning.sampling import cube_stats  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.results.metrics import (  # noqa: E402
    auc_by_halves,
    labelled_scores,
    ore_share_by_halves,
    predictive_entropy,
    roc_auc,
)
from mpm3d.core.settings import TrainConfig  # noqa: E402

METHODS = ("dann_cta", "dann", "cnn", "rf")
PROFILES = {
    # quick: 2 CPU cores, 3 members; full: a GPU, 5 members, deposits of >= 1 million voxels
    "quick": {**DEPOSIT_SIZES["demo"], "seeds": 5, "members": 3, "epochs": 6, "batch_size": 128, "patch_size": 7},
    "full": {**DEPOSIT_SIZES["bench"], "seeds": 5, "members": 5, "epochs": 12, "batch_size": 1024, "patch_size": 9},
    "smoke": {**DEPOSIT_SIZES["test"], "seeds": 2, "members": 2, "epochs": 1, "batch_size": 32, "patch_size": 5},
}


def _auc(probability: np.ndarray, label: np.ndarray) -> float:
    return float(roc_auc(*labelled_scores(probability, label)))


def run(profile_name: str, methods, device: str, seeds=None, done=(), on_run=None) -> dict:
    """Every (method, base seed) not in ``done`` (runs of an earlier, cut-short call, kept as they are);
    ``on_run(results)`` after each run, so that a run cut short leaves what it finished."""
    profile = PROFILES[profile_name]
    seeds = list(range(profile["seeds"])) if seeds is None else list(seeds)
    runs = list(done)
    finished = {(r["method"], r["seed"]) for r in runs}

    def results() -> dict:
        return {"profile": profile_name, "settings": profile, "device": device, "runs": runs}

    for seed in seeds:
        todo = [method for method in methods if (method, seed) not in finished]
        if not todo:
            continue
        source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed)
        label, target.label = target.label, None  # training never sees them
        novelty = None
        for method in todo:
            config = TrainConfig(method=method, epochs=profile["epochs"], batch_size=profile["batch_size"],
                                 patch_size=profile["patch_size"], device=device, seed=seed,
                                 members=profile["members"], **AS_MEASURED)
            started = time.perf_counter()
            result = train(source, target, config)
            model = result.model
            mean, spread = predict_ensemble(model, target, device=device)
            if novelty is None:  # the same source sample and target for every method of a seed
                novelty, summary = novelty_map(model.source_sample, target, cube_stats(target), seed=seed)
            members = [_auc(predict_cube(TrainedModel(model.method, model.feature_names, model.patch_size,
                                                      model.normalisation, networks=[net]), target, device=device),
                            label) for net in model.networks]
            run = {"method": method, "seed": seed, "members": model.n_members, "target_auc": _auc(mean, label),
                   "member_aucs": members, "mean_uncertainty": float(np.nanmean(spread)),
                   "uncertainty_halves": auc_by_halves(mean, label, spread),
                   "novelty_halves": auc_by_halves(mean, label, novelty),
                   "entropy_halves": auc_by_halves(mean, label, predictive_entropy(mean)),
                   **_target_halves(mean, spread, novelty, label),
                   "novel_share": summary["share_above_half"], "seconds": time.perf_counter() - started}
            runs.append(run)
            print(json.dumps(run), flush=True)
            if on_run is not None:
                on_run(results())
    return results()


def _target_halves(mean: np.ndarray, spread: np.ndarray, novelty: np.ndarray, label: np.ndarray) -> dict:
    """Ore among the top 5 % (Extract targets' default cut) split by uncertainty, by novelty, and, as the
    yardstick a trust map has to beat, by prospectivity itself (its upper half counted as "low")."""
    return {"targets_by_uncertainty": ore_share_by_halves(mean, label, spread),
            "targets_by_novelty": ore_share_by_halves(mean, label, novelty),
            "targets_by_prospectivity": ore_share_by_halves(mean, label, -mean)}


def _mean_sd(values) -> str:
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}" if values else "–"


def write_markdown(results: dict, path: str) -> None:
    settings, runs = results["settings"], results["runs"]
    seeds = sorted({r["seed"] for r in runs})
    lines = [
        "# Ensembles, uncertainty and novelty on the synthetic pair",
        "",
        f"Regenerate: `make bench-ensembles BENCH_PROFILE={results['profile']}`. Profile `{results['profile']}`: "
        f"{settings['shape']} voxels per deposit, {settings['epochs']} epochs, patch {settings['patch_size']}, "
        f"{settings['members']} members per network method (the forest: its 200 trees), base seeds {seeds}, "
        f"device {results['device']}. Mean ± sd over base seeds; target labels are used only to score.",
        "",
        "| method | ensemble target AUC | single member target AUC (all members) | sd ratio ensemble / member | "
        "AUC, certain half | AUC, uncertain half | AUC, familiar half | AUC, novel half | mean uncertainty | "
        "novel > 0.5 | AUC, decided half | AUC, undecided half |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == method]
        ensemble = [r["target_auc"] for r in rows]
        members = [a for r in rows for a in r["member_aucs"]]
        if method == "rf" or len(ensemble) < 2:
            member_cell, ratio_cell = ("–", "–") if method == "rf" else (_mean_sd(members), "–")
        else:
            member_cell = _mean_sd(members)
            ratio_cell = f"{np.std(ensemble, ddof=1) / np.std(members, ddof=1):.2f}"
        halves = [_mean_sd([r[key][half] for r in rows]) for key, half in (
            ("uncertainty_halves", "auc_low"), ("uncertainty_halves", "auc_high"),
            ("novelty_halves", "auc_low"), ("novelty_halves", "auc_high"))]
        entropy = [_mean_sd([r["entropy_halves"][half] for r in rows if "entropy_halves" in r])
                   for half in ("auc_low", "auc_high")]
        cells = [method, _mean_sd(ensemble), member_cell, ratio_cell, *halves,
                 _mean_sd([r["mean_uncertainty"] for r in rows]), f"{np.mean([r['novel_share'] for r in rows]):.1%}",
                 *entropy]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Halves: the voxels with a prediction split at the median uncertainty (or novelty); a map that "
              "means something scores higher in its trusted half, by more than the spread. Decided / undecided: "
              "split instead at the median entropy of the ensemble's mean probability (core.results.metrics."
              "predictive_entropy), which also counts what all members hedge on (a mean near 0.5)."]
    lines += _targets_table(runs)
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _targets_table(runs: list[dict]) -> list[str]:
    """Share of ore in the halves of the top 5 %, and on how many base seeds the trusted half holds more."""
    kinds = (("targets_by_uncertainty", "certain", "uncertain"), ("targets_by_novelty", "familiar", "novel"),
             ("targets_by_prospectivity", "upper", "lower"))
    lines = ["", "## The targets: ore in the top 5 % of the volume, split in halves", "",
             "| method | " + " | ".join(f"{low} half | {high} half | seeds {low} > {high}" for _, low, high in kinds)
             + " |", "|---|" + "---|---|---|" * len(kinds)]
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == method and "targets_by_uncertainty" in r]
        if not rows:
            continue
        cells = [method]
        for key, _, _ in kinds:
            low, high = ([r[key][f"ore_share_{half}"] for r in rows] for half in ("low", "high"))
            paired = [(a, b) for a, b in zip(low, high, strict=True) if a is not None and b is not None]
            cells += [_mean_sd(low), _mean_sd(high), f"{sum(a > b for a, b in paired)} of {len(paired)}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Of the labelled voxels in the top 5 % of the predicted volume (what Extract exploration targets "
              "keeps by default), the share that is ore, in the half of them with the lower uncertainty (novelty) "
              "and in the other half: the question behind cutting targets on MAX_UNCERTAINTY. Upper / lower: the "
              "same voxels split by prospectivity itself, the yardstick; a trust map adds to the prospectivity "
              "only where its trusted half beats the upper half."]
    return lines


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0], PROFILES, METHODS, "ensembles", method_choices=METHODS, extra=[
        ("--resume", {"action": "store_true", "help": "keep the runs already in the output folder's results.json "
                                                      "(same profile) and run only the missing ones"})])
    previous, path = [], os.path.join(args.out_dir, "results.json")
    if args.resume and os.path.exists(path):
        with open(path) as handle:
            saved = json.load(handle)
        if saved["profile"] != args.profile:
            raise SystemExit(f"{path} holds the {saved['profile']} profile's runs, not {args.profile}'s")
        previous = saved["runs"]

    def save(results: dict) -> None:  # after every run: a run cut short keeps what it finished
        save_results(results, args.out_dir, write_markdown)

    save(run(args.profile, args.methods, args.device, args.seeds, previous, save))


if __name__ == "__main__":
    main()
