"""The cross-deposit benchmark's report (bench/run.py runs it): the summary over seeds, results.md, results.json
and the figure of ROC curves and feature projections."""

from __future__ import annotations

import json
import os

import numpy as np

PAPER_AUC = {"dann_cta": 0.890, "rf": 0.791, "cnn": 0.744}
PEER = "skada_dann"  # skada's DANN, run in its own environment (bench/peer_skada.py)
SUMMARY_KEYS = ("target_auc", "source_val_auc", "capture_top10", "train_s", "pad_before", "pad_after",
                "patches_per_s", "best_epoch", "target_auc_last_epoch", "target_auc_source_stats", "epochs_s",
                "epoch_samples", "steps_per_epoch")


def save(results: dict, rocs: dict, embeddings: dict, out_dir: str, regenerate: str) -> None:
    """The summary over seeds into ``results``, and the three files; ``regenerate``: the command that made them."""
    results["summary"] = summarise(results["runs"])
    results["seeds_done"] = len({r["seed"] for r in results["runs"]})
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    write_markdown(results, os.path.join(out_dir, "results.md"), regenerate)
    write_figure(rocs, embeddings, os.path.join(out_dir, "results.png"))


def summarise(runs: list[dict]) -> dict:
    """Mean and sd over seeds of every summary key a method reports."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == method]
        summary[method] = {"n": len(rows)}
        for key in SUMMARY_KEYS:
            values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=float)
            if len(values):
                summary[method][key] = {"mean": float(values.mean()),
                                        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
        traces = [r["target_auc_by_epoch"] for r in rows if r.get("target_auc_by_epoch")]
        if traces:
            summary[method]["target_auc_by_epoch"] = np.mean(traces, axis=0).tolist()
    return summary


VARIANT_TEXT = {
    "as_designed": "the synthetic pair as designed (target ore 110 ± 50 m into the footwall, source 35 ± 35 m)",
    "same_ore_zone": "ablation `same_ore_zone`: the target's ore zone placed as in the source (35 ± 35 m into the "
                     "footwall); every other difference between the deposits stays",
    "source_statistics": "ablation `source_statistics`: the synthetic pair as designed, but the target standardised "
                         "with the source's statistics in training and prediction (no per-deposit standardisation), "
                         "for every method",
}


def _mean_sd(row: dict, key: str, percent: bool = False) -> str:
    if key not in row:
        return "–"
    value = row[key]
    return (f"{value['mean']:.1%} ± {value['sd']:.1%}" if percent else f"{value['mean']:.3f} ± {value['sd']:.3f}")


def _paired_gaps(runs: list[dict], method: str, baseline: str) -> np.ndarray:
    """Per-seed target AUC of ``method`` minus ``baseline``, over the seeds both ran."""
    by_seed = {(r["method"], r["seed"]): r["target_auc"] for r in runs}
    return np.array([by_seed[(method, seed)] - by_seed[(baseline, seed)]
                     for (m, seed) in by_seed if m == method and (baseline, seed) in by_seed])


def _budget_text(settings: dict) -> str:
    """Training's samples-per-epoch budget, as the heading states it (results from before it was recorded: none)."""
    budget = settings.get("samples_per_epoch")
    if budget is None:
        return ""
    if budget == 0:
        return ", no samples-per-epoch budget (every training ore voxel each epoch)"
    return f", at most {budget:,} labelled samples per epoch"


def write_markdown(results: dict, path: str, regenerate: str) -> None:
    s = results["summary"]
    profile = results["settings"]
    seeds = sorted({r["seed"] for r in results["runs"]})
    lines = [
        "# Cross-deposit benchmark (synthetic Jiaodong-type pair)", "",
        f"Profile `{results['profile']}`: {profile['shape'][0]} x {profile['shape'][1]} x {profile['shape'][2]} "
        f"voxels per deposit, {len(seeds)} seeds ({', '.join(map(str, seeds))}; the seed changes the deposits and "
        f"the training), patch {profile['patch_size']}, {profile['epochs']} epochs{_budget_text(profile)}, "
        f"batch {profile['batch_size']} "
        f"labelled + {profile['batch_size']} + {profile['batch_size']} for the domain loss. "
        f"Data: {VARIANT_TEXT[results.get('variant', 'as_designed')]}. Hardware: {results['hardware']}.", "",
        "Target AUC is scored against the target labels, which training never reads. The checkpoint is chosen "
        "on source spatial-block validation AUC. Hyper-parameters are the plugin's defaults, fixed before the "
        "benchmark and not tuned on any target score. PAD: proxy A-distance between source and target "
        "representations (standardised centre features for rf, the network's pooled embedding otherwise); "
        "0 means indistinguishable, 2 fully separable. What the numbers mean, with the ablations: "
        "docs/benchmarks.md.", "",
        "| method | target AUC (mean ± sd) | paper | source val AUC | ore in top 10 % of volume | "
        "PAD before -> after | train time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, row in s.items():
        paper = PAPER_AUC.get(method)
        lines.append(
            f"| {method} | {_mean_sd(row, 'target_auc')} | {paper if paper else '–'} | "
            f"{_mean_sd(row, 'source_val_auc')} | {_mean_sd(row, 'capture_top10', percent=True)} | "
            f"{row['pad_before']['mean']:.2f} -> {row['pad_after']['mean']:.2f} | {row['train_s']['mean']:.1f} |")
    if PEER in s:
        lines += ["", f"`{PEER}`: skada 0.6.0's DANN (its gradient reversal, domain classifier, domain loss and "
                      "domain-balanced batches) on the same source patches (one epoch's class-balanced draw), as many "
                      "uniformly drawn target patches and the same `cnn` feature extractor; its default domain "
                      "classifier ends in a softmax over one output, which is constant, so a sigmoid replaces it. "
                      "No augmentation, the last epoch is kept (bench/peer_skada.py)."]
    gaps = {m: _paired_gaps(results["runs"], "dann_cta", m) for m in ("rf", "cnn") if m in s and "dann_cta" in s}
    if gaps:
        lines += ["", "DANN-CTA minus baseline, paired by seed (target AUC, mean ± sd of the differences): "
                  + ", ".join(f"{m}: {g.mean():+.3f} ± {g.std(ddof=1) if len(g) > 1 else 0.0:.3f}"
                              for m, g in gaps.items())]
    lines += ["", "## Diagnostics (read after training, never used to choose anything)", "",
              "| method | chosen epoch | target AUC, chosen epoch | target AUC, last epoch | "
              "target AUC, scored with source statistics |", "|---|---|---|---|---|"]
    for method, row in s.items():
        epoch = f"{row['best_epoch']['mean']:.1f}" if "best_epoch" in row else "–"
        lines.append(f"| {method} | {epoch} | {_mean_sd(row, 'target_auc')} | "
                     f"{_mean_sd(row, 'target_auc_last_epoch')} | {_mean_sd(row, 'target_auc_source_stats')} |")
    traces = {m: row["target_auc_by_epoch"] for m, row in s.items() if "target_auc_by_epoch" in row}
    if traces:
        lines += ["", "Mean target AUC after each epoch: "
                  + "; ".join(f"{m}: " + ", ".join(f"{a:.3f}" for a in t) for m, t in traces.items()) + "."]
    dense = results.get("dense")
    if dense:
        lines += ["", f"Dense prediction ({results['device']}): {dense['dense_voxels_per_s']:,.0f} voxels/s; "
                      f"one patch per voxel: {dense['patch_voxels_per_s']:,.0f} voxels/s; "
                      f"speed-up {dense['speedup']:.1f}x (cube {dense['cube_shape']})."]
    if "dann_cta" in s:
        lines += [f"Training throughput (dann_cta): {s['dann_cta']['patches_per_s']['mean']:,.0f} patches/s."]
    lines += ["", "![ROC curves and feature projections](results.png)", "", f"Regenerate: `{regenerate}`."]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def write_figure(rocs: dict, embeddings: dict, path: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.6))
    FigureCanvasAgg(figure)
    roc_axes = figure.add_subplot(1, 3, 1)
    for method, roc in rocs.items():
        roc_axes.plot(roc["fpr"], roc["tpr"], label=method)
    roc_axes.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    roc_axes.set(title="Target ROC (seed 0)", xlabel="false positive rate", ylabel="true positive rate")
    roc_axes.legend(loc="lower right")
    for column, (method, title) in enumerate((("features", "before: standardised features"),
                                              ("dann_cta", "after: DANN-CTA embedding")), start=2):
        if method not in embeddings:
            continue
        source, target = embeddings[method]
        both = np.concatenate([source, target])
        centred = both - both.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        projected = centred @ components[:2].T
        axes = figure.add_subplot(1, 3, column)
        axes.scatter(*projected[:len(source)].T, s=3, alpha=0.4, label="source")
        axes.scatter(*projected[len(source):].T, s=3, alpha=0.4, label="target")
        axes.set(title=f"PCA {title}", xlabel="PC 1", ylabel="PC 2")
        axes.legend(loc="upper right", markerscale=4)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
