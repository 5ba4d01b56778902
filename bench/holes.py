"""`make bench-holes`: how many target drill holes does adaptation save?

For each seed (the deposits, the holes' placement and the training all change with it) and each number of
target drill holes k, the holes are drilled on the synthetic target (core.data.synthetic.drill_holes, vertical,
collared at surface anomalies as an explorer drills first), voxelised as the chain does, and these models
are trained and scored on the target voxels away from every hole (buffer: patch size - 1, as Evaluate):

- k = 0 (no holes): the source-only forest and CNN, and DANN-CTA adapting without labels (``ignore``);
- k > 0: a forest trained on the target holes alone; the forest on source + holes (``train`` mode); the CNN
  fine-tuned on source + holes (``train``); DANN-CTA choosing its epoch on the holes (``validate``) and
  DANN-CTA with the holes in its label loss (``train``). The k = 0 models are scored again on each k's
  voxels, so every row of a column is scored on the same voxels.

Where the holes cannot serve a mode (train mode needs 2 holes that cut ore; validate needs ore and barren in
the holes), training refuses, and a user falls back to the label-free model: that run counts with the k = 0
model's score and the table says in how many runs the mode applied. A forest on the holes alone without ore
in them has nothing to learn and counts as 0.5. Target labels are read here to score only.

``--weights``: the train mode's label weight (TrainConfig.target_label_weight), picked on seeds 0-4 and kept
only where seeds 5-9 confirm it (rule in ``decide_weight``), at WEIGHT_HOLES holes, before the curve is run.
Writes bench/holes/results.json, results.md and results.png.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np
from common import load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from common import AS_MEASURED, parse_arguments, save_results  # noqa: E402
from mpm3d.core.data.grid import LABEL_ORE, LABEL_UNKNOWN  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from mpm3d.core.data.synthetic import drill_holes, synthetic_pair  # noqa: E402
from mpm3d.core.data.voxelise import voxelise_samples  # noqa: E402
from mpm3d.core.errors import Mpm3dError  # noqa: E402
from mpm3d.core.learning.model import resolve_device  # noqa: E402
from mpm3d.core.learning.predict import predict_cube  # noqa: E402
from mpm3d.core.learning.sampling import cube_stats, standardise  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.results.metrics import away_from_holes, labelled_scores, roc_auc  # noqa: E402
from mpm3d.core.settings import TrainConfig  # noqa: E402

HOLE_COUNTS = (0, 1, 3, 5, 10, 20)
PLACEMENT, DIP_DEG = "anomaly", 90.0
PROFILES = {
    # quick: the main benchmark's quick deposits and training (2 CPU cores, about an hour); one network per model
    "quick": {**DEPOSIT_SIZES["demo"], "seeds": 5, "epochs": 6, "batch_size": 128, "patch_size": 7},
    "smoke": {**DEPOSIT_SIZES["test"], "seeds": 1, "epochs": 1, "batch_size": 32, "patch_size": 5},
}
SOURCE_ONLY = {"rf": "rf", "cnn": "cnn", "dann_cta": "dann_cta"}  # k = 0: method -> its label-free model
WITH_HOLES = {  # k > 0: row -> (method, TARGET_LABELS mode, the k = 0 model a refused run falls back to)
    "rf_target_only": ("rf", "target_only", None),
    "rf_train": ("rf", "train", "rf"),
    "cnn_train": ("cnn", "train", "cnn"),
    "dann_cta_validate": ("dann_cta", "validate", "dann_cta"),
    "dann_cta_train": ("dann_cta", "train", "dann_cta"),
}
ROW_LABELS = {
    "rf": "forest, source only", "cnn": "CNN, source only", "dann_cta": "DANN-CTA, no labels (ignore)",
    "rf_target_only": "forest on the target holes alone", "rf_train": "forest, source + holes (train)",
    "cnn_train": "CNN fine-tuned: source + holes (train)", "dann_cta_validate": "DANN-CTA, holes choose (validate)",
    "dann_cta_train": "DANN-CTA, holes in the loss (train)",
}
WEIGHTS = (0.3, 1.0, 3.0)
WEIGHT_HOLES = 10
PICK_SEEDS, CONFIRM_SEEDS = list(range(5)), list(range(5, 10))
TRAINING_DEFAULTS_WEIGHT = TrainConfig.target_label_weight  # the train mode's label weight today (the study that
# set it to 0.3 compared the candidates with the earlier default 1.0: bench/holes/weights.json)


def drilled(target, k: int, seed: int) -> np.ndarray:
    """The label cube of k holes drilled on the target (1 ore, 0 barren, -1 not drilled), as the chain voxelises."""
    samples = drill_holes(target, k, seed=seed, placement=PLACEMENT, dip_deg=DIP_DEG).samples
    label, _ = voxelise_samples(samples["x"], samples["y"], samples["z"], target.grid, ore=samples["ore"])
    return label


def target_only_forest(target, holes: np.ndarray, seed: int) -> np.ndarray:
    """A forest on the target holes' centre voxels alone (the forest's settings, target statistics): its map."""
    from sklearn.ensemble import RandomForestClassifier

    stats = cube_stats(target)
    flat = target.features.reshape(len(target.feature_names), -1)
    labelled = np.flatnonzero((holes.ravel() != LABEL_UNKNOWN) & target.valid.ravel())
    labels = holes.ravel()[labelled] == LABEL_ORE
    if labels.all() or not labels.any():
        raise Mpm3dError("the holes hold no ore (or no barren): a forest on them alone has nothing to learn")
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=2, random_state=seed,
                                    class_weight="balanced")
    forest.fit(standardise(flat[:, labelled], stats).T, labels)
    valid = np.flatnonzero(target.valid.ravel())
    probability = np.full(holes.size, np.nan, np.float32)
    probability[valid] = forest.predict_proba(standardise(flat[:, valid], stats).T)[:, 1]
    return probability.reshape(holes.shape)


def score(probability: np.ndarray, label: np.ndarray, holes: np.ndarray | None, buffer: int) -> float:
    """Target AUC on the voxels away from the holes (all voxels without holes)."""
    if holes is not None:
        away = away_from_holes(probability, label, holes, buffer)
        probability, label = away["probability"], away["label"]
    return roc_auc(*labelled_scores(probability, label))


def train_and_map(source, target, method: str, mode: str, holes, profile: dict, seed: int, device: str,
                  weight: float) -> tuple[np.ndarray, dict | None]:
    """One model trained in ``mode`` (ignore/validate/train), its target map and its holes' figures."""
    config = TrainConfig(method=method, epochs=profile["epochs"], batch_size=profile["batch_size"],
                         patch_size=profile["patch_size"], device=device, seed=seed, members=1,
                         target_labels=mode, target_label_weight=weight, **AS_MEASURED)
    result = train(source, target, config, target_holes=holes if mode != "ignore" else None)
    return predict_cube(result.model, target, device=device), result.target_holes


def run_seed(seed: int, profile: dict, counts, rows, device: str, weight: float) -> list[dict]:
    """Every row's target AUC at every k for one seed."""
    source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed)
    label, target = target.label, dataclasses.replace(target, label=None)  # training never sees them
    buffer = profile["patch_size"] - 1
    baseline = {name: train_and_map(source, target, method, "ignore", None, profile, seed, device, weight)[0]
                for name, method in SOURCE_ONLY.items()}
    records = []
    for k in counts:
        holes = drilled(dataclasses.replace(target, label=label), k, seed) if k else None
        hole_figures = _hole_figures(holes) if k else {}
        for name, probability in baseline.items():
            records.append({"seed": seed, "k": k, "row": name, "applied": True, **hole_figures,
                            "target_auc": score(probability, label, holes, buffer)})
        for name in rows if k else ():
            method, mode, fallback = WITH_HOLES[name]
            started, record = time.perf_counter(), {"seed": seed, "k": k, "row": name, **hole_figures}
            try:
                if mode == "target_only":
                    probability, figures = target_only_forest(target, holes, seed), None
                else:
                    probability, figures = train_and_map(source, target, method, mode, holes, profile, seed, device,
                                                         weight)
                record.update(applied=True, target_auc=score(probability, label, holes, buffer))
                if figures:
                    record["validation"] = {key: figures["validation"][key] for key in ("auc", "low", "high")}
            except Mpm3dError as refused:
                auc = 0.5 if fallback is None else score(baseline[fallback], label, holes, buffer)
                record.update(applied=False, target_auc=auc, refused=str(refused))
            record["seconds"] = time.perf_counter() - started
            records.append(record)
            print(json.dumps({key: record.get(key) for key in ("seed", "k", "row", "applied", "target_auc",
                                                               "seconds")}), flush=True)
    return records


def _hole_figures(holes: np.ndarray) -> dict:
    from mpm3d.core.data.voxelise import hole_groups

    groups, n = hole_groups(holes)
    return {"holes": n, "ore_voxels": int(np.sum(holes == LABEL_ORE)),
            "holes_with_ore": len(np.unique(groups[holes == LABEL_ORE]))}


def weight_study(profile: dict, device: str, partial_path: str) -> dict:
    """DANN-CTA in train mode at WEIGHT_HOLES holes: every candidate weight on the pick seeds, then only the
    best of them and the default on the confirm seeds (a refused run counts with the label-free model). Each
    run is kept in ``partial_path`` as it ends; runs found there are not run again (a run resumed)."""
    runs: list[dict] = []
    if os.path.exists(partial_path):
        with open(partial_path) as handle:
            runs = json.load(handle)

    def run(seeds, weights):
        for seed in seeds:
            weights_left = [w for w in weights if not any(r["seed"] == seed and r["weight"] == w for r in runs)]
            if not weights_left:
                continue
            source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed)
            label, target = target.label, dataclasses.replace(target, label=None)
            holes = drilled(dataclasses.replace(target, label=label), WEIGHT_HOLES, seed)
            buffer = profile["patch_size"] - 1
            for weight in weights_left:
                try:
                    probability, _ = train_and_map(source, target, "dann_cta", "train", holes, profile, seed, device,
                                                   weight)
                    auc, applied = score(probability, label, holes, buffer), True
                except Mpm3dError:
                    ignore = train_and_map(source, target, "dann_cta", "ignore", None, profile, seed, device, weight)
                    auc, applied = score(ignore[0], label, holes, buffer), False
                runs.append({"seed": seed, "weight": weight, "target_auc": auc, "applied": applied})
                print(json.dumps(runs[-1]), flush=True)
                with open(partial_path, "w") as handle:
                    json.dump(runs, handle, indent=1)

    run(PICK_SEEDS, WEIGHTS)
    candidate = decide_weight(runs)["candidate"]
    if candidate not in (None, TRAINING_DEFAULTS_WEIGHT):
        run(CONFIRM_SEEDS, sorted({candidate, TRAINING_DEFAULTS_WEIGHT}))
    return {"runs": runs, "decision": decide_weight(runs)}


def decide_weight(runs: list[dict], default: float = TRAINING_DEFAULTS_WEIGHT) -> dict:
    """Fixed before any run: the candidate is the weight with the best mean target AUC over the pick seeds'
    applied runs; it replaces the default only if, on the confirm seeds, its paired mean gain over the default
    is positive and it wins on at least 3 of 5 seeds."""
    pick = [r for r in runs if r["seed"] in PICK_SEEDS and r["applied"]]
    means = {w: float(np.mean([r["target_auc"] for r in pick if r["weight"] == w])) for w in WEIGHTS
             if any(r["weight"] == w for r in pick)}
    if not means:
        return {"candidate": None, "confirmed": False, "reason": "train mode applied on no pick seed"}
    candidate = max(means, key=means.get)
    verdict = {"candidate": candidate, "pick_means": means, "default": default,
               "confirmed": candidate == default}
    if candidate == default:
        verdict["reason"] = "the default is the best on the pick seeds"
        return verdict
    by_seed = {}
    for r in runs:
        if r["seed"] in CONFIRM_SEEDS and r["applied"]:
            by_seed.setdefault(r["seed"], {})[r["weight"]] = r["target_auc"]
    gains = [v[candidate] - v[default] for v in by_seed.values()
             if candidate in v and default in v]
    wins = sum(g > 0 for g in gains)
    verdict.update(confirm_gain=float(np.mean(gains)) if gains else None, confirm_wins=wins,
                   confirm_seeds=len(gains), confirmed=bool(gains and np.mean(gains) > 0 and wins >= 3))
    verdict["reason"] = (f"paired gain over the default on {len(gains)} confirm seeds: "
                         f"{np.mean(gains) if gains else float('nan'):+.3f}, wins {wins}")
    return verdict


def _mean_sd(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}" if values else "–"


def summary(records: list[dict]) -> dict:
    """Per row and k: mean, sd, runs applied, and the validate mode's interval coverage."""
    table = {}
    for r in records:
        table.setdefault(r["row"], {}).setdefault(r["k"], []).append(r)
    out = {}
    for row, by_k in table.items():
        out[row] = {}
        for k, runs in by_k.items():
            aucs = [r["target_auc"] for r in runs]
            cell = {"mean": float(np.mean(aucs)), "sd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else 0.0,
                    "runs": len(runs), "applied": sum(r["applied"] for r in runs)}
            intervals = [r for r in runs if "validation" in r]
            if intervals:
                cell["covered"] = sum(r["validation"]["low"] <= r["target_auc"] <= r["validation"]["high"]
                                      for r in intervals)
                cell["with_interval"] = len(intervals)
            out[row][k] = cell
    return out


def write_markdown(results: dict, path: str) -> None:
    settings, table = results["settings"], summary(results["runs"])
    counts = sorted({r["k"] for r in results["runs"]})
    seeds = sorted({r["seed"] for r in results["runs"]})
    lines = [
        "# Target drill holes: how many does adaptation save?",
        "",
        f"Regenerate: `make bench-holes` (`.venv/bin/python bench/holes.py --profile {results['profile']}`). "
        f"Profile `{results['profile']}`: {settings['shape']} voxels per deposit, patch {settings['patch_size']}, "
        f"{settings['epochs']} epochs, batch {settings['batch_size']}, one network per model, seeds {seeds} (the "
        f"deposits, the holes and the training change with the seed), device {results['device']}, "
        f"{results['minutes']:.0f} min. Holes: vertical, collared at surface anomalies; train mode's label weight "
        f"{results['weight']}. Target AUC, mean ± sd over seeds, on the target voxels farther than "
        f"{settings['patch_size'] - 1} voxels from every hole (target labels score only). `(a/n)`: the mode applied "
        "in a of n runs; the others were refused (too few holes with ore) and count with the label-free model's "
        "score, as a user would fall back to it (the forest on the holes alone: 0.5).",
        "",
        "| model | " + " | ".join(f"k = {k}" for k in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for row in [*SOURCE_ONLY, *WITH_HOLES]:
        cells = []
        for k in counts:
            cell = table.get(row, {}).get(k)
            if cell is None:
                cells.append("")
                continue
            text = f"{cell['mean']:.3f} ± {cell['sd']:.3f}"
            cells.append(text + (f" ({cell['applied']}/{cell['runs']})" if cell["applied"] < cell["runs"] else ""))
        lines.append(f"| {ROW_LABELS[row]} | " + " | ".join(cells) + " |")
    holes = [r for r in results["runs"] if r["row"] == "dann_cta" and r["k"]]
    lines += ["", "Holes drilled (mean over seeds): " + ", ".join(
        f"k = {k}: {np.mean([r['ore_voxels'] for r in holes if r['k'] == k]):.1f} ore voxels in "
        f"{np.mean([r['holes_with_ore'] for r in holes if r['k'] == k]):.1f} holes" for k in counts if k) + "."]
    coverage = [(k, c) for k, c in table.get("dann_cta_validate", {}).items() if "covered" in c]
    if coverage:
        covered, total = sum(c["covered"] for _, c in coverage), sum(c["with_interval"] for _, c in coverage)
        lines += ["", f"Validate mode: the true target AUC lay inside the stated 95 % interval over holes in "
                      f"{covered} of {total} runs ({100 * covered / total:.0f} %); by k: " + ", ".join(
                          f"k = {k}: {c['covered']}/{c['with_interval']}" for k, c in sorted(coverage)) + "."]
    if "weights" in results:
        study = results["weights"]
        decision = study["decision"]
        lines += ["", f"## The train mode's label weight ({WEIGHT_HOLES} holes, DANN-CTA)", "",
                  "| weight | " + " | ".join(f"seeds {s}" for s in ("0-4", "5-9")) + " |", "|---|---|---|"]
        for weight in sorted({r["weight"] for r in study["runs"]}):
            cells = [_mean_sd([r["target_auc"] for r in study["runs"] if r["weight"] == weight and r["seed"] in group
                               and r["applied"]]) for group in (PICK_SEEDS, CONFIRM_SEEDS)]
            lines.append(f"| {weight} | " + " | ".join(cells) + " |")
        lines += ["", f"Decision (rule fixed before the runs, `decide_weight`): candidate {decision['candidate']}, "
                      f"{'kept' if decision['confirmed'] else 'not kept'}: {decision['reason']}."]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    _plot(table, counts, os.path.join(os.path.dirname(path), "results.png"))


def _plot(table: dict, counts, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for row in [*SOURCE_ONLY, *WITH_HOLES]:
        ks = [k for k in counts if k in table.get(row, {})]
        if not ks:
            continue
        means = np.array([table[row][k]["mean"] for k in ks])
        sds = np.array([table[row][k]["sd"] for k in ks])
        style = "--" if row in SOURCE_ONLY else "-"
        axis.plot(ks, means, style, marker="o", label=ROW_LABELS[row])
        axis.fill_between(ks, means - sds, means + sds, alpha=0.12)
    axis.set_xlabel("target drill holes (k)")
    axis.set_ylabel("target AUC away from the holes")
    axis.set_xscale("symlog", linthresh=1)
    axis.set_xticks(list(counts), [str(k) for k in counts])
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0], PROFILES, WITH_HOLES, "holes",
                           extra=[("--resume", {"action": "store_true", "help": "keep the weight study's runs and "
                                                "the seeds finished in --out-dir, and run the rest"})])
    profile = PROFILES[args.profile]
    seeds = args.seeds if args.seeds is not None else list(range(profile["seeds"]))
    device = str(resolve_device(args.device))
    started = time.perf_counter()
    results = {"profile": args.profile, "settings": profile, "device": device}
    weight = TRAINING_DEFAULTS_WEIGHT
    weights_file = os.path.join(args.out_dir, "weights.json")
    if not args.resume:  # a fresh run: the weight study and the curve from the start
        for name in ("weights.json", "weights_runs.json", "results.json"):
            if os.path.exists(os.path.join(args.out_dir, name)):
                os.remove(os.path.join(args.out_dir, name))
    if args.profile == "quick" and os.path.exists(weights_file):  # the weight study is run once, before the curve
        with open(weights_file) as handle:
            results["weights"] = json.load(handle)
    elif args.profile == "quick":
        os.makedirs(args.out_dir, exist_ok=True)
        results["weights"] = weight_study(profile, device, os.path.join(args.out_dir, "weights_runs.json"))
        with open(weights_file, "w") as handle:
            json.dump(results["weights"], handle, indent=1)
    if "weights" in results and results["weights"]["decision"]["confirmed"]:
        weight = results["weights"]["decision"]["candidate"]
    results["weight"] = weight
    counts = HOLE_COUNTS if args.profile != "smoke" else (0, 10)
    results["runs"] = []
    previous = os.path.join(args.out_dir, "results.json")
    if args.resume and os.path.exists(previous):  # the seeds a cut-short run finished are kept, not run again
        with open(previous) as handle:
            earlier = json.load(handle)
        results["runs"], started = earlier["runs"], started - 60 * earlier["minutes"]
    for seed in seeds:
        if any(r["seed"] == seed for r in results["runs"]):
            continue
        results["runs"] += run_seed(seed, profile, counts, args.methods, device, weight)
        results["minutes"] = (time.perf_counter() - started) / 60
        save_results(results, args.out_dir, write_markdown)  # after every seed, so a cut-short run still reports
    print(open(os.path.join(args.out_dir, "results.md")).read())


if __name__ == "__main__":
    main()
