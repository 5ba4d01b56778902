"""`make bench`: the paper's cross-deposit table on the synthetic pair, plus throughput numbers.

For every method and seed: train on the labelled source and the unlabelled target, predict the
target densely, score it against the target labels (the only place they are read). Also: training
patches/s, dense prediction voxels/s and its speed-up over one patch per voxel, and the domain
discrepancy (proxy A-distance) of source vs target representations before and after training.
Writes bench/results.md, bench/results.json and bench/results.png (or --out-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.metrics import evaluate, proxy_a_distance  # noqa: E402
from core.sampling import PatchGatherer, cube_stats, padded_standardised, standardise  # noqa: E402
from core.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from core.synthetic import synthetic_pair  # noqa: E402
from core.train import TrainConfig, train  # noqa: E402

PAPER_AUC = {"dann_cta": 0.890, "rf": 0.791, "cnn": 0.744}
METHODS = ("rf", "cnn", "cta", "dann", "dann_cta")
PROFILES = {
    # quick: 2 CPU cores within about 30 minutes; full: >= 1 million voxels per deposit, for a GPU
    "quick": {**DEPOSIT_SIZES["demo"], "seeds": 5, "epochs": 6, "batch_size": 128, "patch_size": 7},
    "full": {**DEPOSIT_SIZES["bench"], "seeds": 5, "epochs": 12, "batch_size": 1024, "patch_size": 9},
    # smoke: seconds, to check the script itself
    "smoke": {**DEPOSIT_SIZES["test"], "seeds": 2, "epochs": 1, "batch_size": 32, "patch_size": 5},
}
DISCREPANCY_SAMPLES = 2000
SUMMARY_KEYS = ("target_auc", "source_val_auc", "capture_top10", "train_s", "pad_before", "pad_after",
                "patches_per_s")


def _sample_voxels(cube, n: int, rng) -> np.ndarray:
    flat = np.flatnonzero(cube.valid.ravel())
    return rng.choice(flat, size=min(n, len(flat)), replace=False)


def _standardised_centres(cube, flat: np.ndarray) -> np.ndarray:
    return standardise(cube.features.reshape(len(cube.feature_names), -1)[:, flat], cube_stats(cube)).T


def representations(model, cube, flat: np.ndarray, device: str) -> np.ndarray:
    """What the label head sees: the network's pooled embedding, or the standardised centre features."""
    import torch

    if model.network is None:
        return _standardised_centres(cube, flat)
    stats = cube_stats(cube)
    torch_device = torch.device(device)
    net = model.network.to(torch_device).eval()
    patches = PatchGatherer(padded_standardised(cube, stats, model.patch_size // 2), model.patch_size, torch_device)
    with torch.inference_mode():
        embedding = net.embed(patches.gather(patches.centre_index(flat)))
    return embedding.float().reshape(len(flat), -1).cpu().numpy()


def dense_speedup(model, cube, device: str, n_patch_voxels: int = 4000) -> dict:
    """Dense prediction of the whole cube against one patch per voxel on a sample of voxels."""
    from core.predict import predict_cube, predict_patches

    predict_cube(model, cube, device=device)  # warm-up
    started = time.perf_counter()
    predict_cube(model, cube, device=device)
    dense_s = time.perf_counter() - started
    rng = np.random.default_rng(0)
    flat = _sample_voxels(cube, n_patch_voxels, rng)
    indices = np.stack(np.unravel_index(flat, cube.grid.shape), axis=1)
    started = time.perf_counter()
    predict_patches(model, cube, indices, device=device)
    patch_s = time.perf_counter() - started
    dense_rate = cube.valid.size / dense_s
    patch_rate = len(flat) / patch_s
    return {"dense_voxels_per_s": dense_rate, "patch_voxels_per_s": patch_rate, "speedup": dense_rate / patch_rate,
            "cube_shape": list(cube.grid.shape)}


def run(profile_name: str, methods, device: str, out_dir: str) -> dict:
    profile = PROFILES[profile_name]
    results: dict = {"profile": profile_name, "settings": profile, "device": device, "runs": [],
                     "hardware": _hardware(device)}
    rocs, embeddings = {}, {}
    for seed in range(profile["seeds"]):
        source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed)
        target_labels = target.label
        target.label = None  # training never sees them
        rng = np.random.default_rng(seed)
        source_flat, target_flat = _sample_voxels(source, DISCREPANCY_SAMPLES, rng), _sample_voxels(
            target, DISCREPANCY_SAMPLES, rng)
        raw = [_standardised_centres(c, flat) for c, flat in ((source, source_flat), (target, target_flat))]
        pad_before = proxy_a_distance(*raw, seed=seed)
        if seed == 0:
            embeddings["features"] = tuple(raw)
        for method in methods:
            config = TrainConfig(method=method, epochs=profile["epochs"], batch_size=profile["batch_size"],
                                 patch_size=profile["patch_size"], device=device, seed=seed)
            started = time.perf_counter()
            result = train(source, target, config)
            train_s = time.perf_counter() - started
            probability = result.model.predict_dense(target, device=device)
            metrics = evaluate(probability, target_labels, target.grid.z)
            rep_source = representations(result.model, source, source_flat, device)
            rep_target = representations(result.model, target, target_flat, device)
            run = {"method": method, "seed": seed, "target_auc": metrics["auc"], "source_val_auc": result.val_auc,
                   "capture_top10": metrics["capture_top10"], "train_s": train_s, "best_epoch": result.best_epoch,
                   "patches_per_s": float(np.mean([h["patches_per_s"] for h in result.history
                                                   if h.get("patches_per_s")] or [np.nan])),
                   "pad_before": pad_before, "pad_after": proxy_a_distance(rep_source, rep_target, seed=seed)}
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
            if seed == 0:
                rocs[method] = metrics["roc"]
                embeddings[method] = (rep_source, rep_target)
            if seed == 0 and method == "dann_cta":
                results["dense"] = dense_speedup(result.model, target, device)
                print(json.dumps(results["dense"]), flush=True)
        save(results, rocs, embeddings, out_dir)  # after every seed, so a cut-short run still reports
    return results


def save(results: dict, rocs: dict, embeddings: dict, out_dir: str) -> None:
    results["summary"] = summarise(results["runs"])
    results["seeds_done"] = len({r["seed"] for r in results["runs"]})
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    write_markdown(results, os.path.join(out_dir, "results.md"))
    write_figure(rocs, embeddings, os.path.join(out_dir, "results.png"))


def summarise(runs: list[dict]) -> dict:
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == method]
        summary[method] = {key: {"mean": float(np.nanmean([r[key] for r in rows])),
                                 "sd": float(np.nanstd([r[key] for r in rows], ddof=1)) if len(rows) > 1 else 0.0}
                           for key in SUMMARY_KEYS}
        summary[method]["n"] = len(rows)
    return summary


def _hardware(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"{platform.processor() or platform.machine()} CPU x {os.cpu_count()} threads, torch {torch.__version__}"


def write_markdown(results: dict, path: str) -> None:
    s = results["summary"]
    profile = results["settings"]
    lines = [
        "# Cross-deposit benchmark (synthetic Jiaodong-type pair)", "",
        f"Profile `{results['profile']}`: {profile['shape'][0]} x {profile['shape'][1]} x {profile['shape'][2]} "
        f"voxels per deposit, {results['seeds_done']} seeds (0..{results['seeds_done'] - 1}; the seed changes "
        f"the deposits and the training), patch {profile['patch_size']}, {profile['epochs']} epochs, "
        f"batch {profile['batch_size']} + {profile['batch_size']}. "
        f"Hardware: {results['hardware']}.", "",
        "Target AUC is scored against the target labels, which training never reads. The checkpoint is chosen "
        "on source spatial-block validation AUC. Hyper-parameters are the plugin's defaults, fixed before the "
        "benchmark and not tuned on any target score. PAD: proxy A-distance between source and target "
        "representations (standardised centre features for rf, the network's pooled embedding otherwise); "
        "0 means indistinguishable, 2 fully separable.", "",
        "| method | target AUC (mean ± sd) | paper | source val AUC | ore in top 10 % of volume | "
        "PAD before -> after | train time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, row in s.items():
        paper = PAPER_AUC.get(method)
        lines.append(
            f"| {method} | {row['target_auc']['mean']:.3f} ± {row['target_auc']['sd']:.3f} | "
            f"{paper if paper else '–'} | {row['source_val_auc']['mean']:.3f} ± {row['source_val_auc']['sd']:.3f} | "
            f"{row['capture_top10']['mean']:.1%} ± {row['capture_top10']['sd']:.1%} | "
            f"{row['pad_before']['mean']:.2f} -> {row['pad_after']['mean']:.2f} | {row['train_s']['mean']:.1f} |")
    if "dann_cta" in s and "rf" in s and "cnn" in s:
        gap = {m: (s["dann_cta"]["target_auc"]["mean"] - s[m]["target_auc"]["mean"]) for m in ("rf", "cnn")}
        lines += ["", "DANN-CTA minus baseline (target AUC): "
                  + ", ".join(f"{m}: {g:+.3f}" for m, g in gap.items())]
    dense = results.get("dense")
    if dense:
        lines += ["", f"Dense prediction ({results['device']}): {dense['dense_voxels_per_s']:,.0f} voxels/s; "
                      f"one patch per voxel: {dense['patch_voxels_per_s']:,.0f} voxels/s; "
                      f"speed-up {dense['speedup']:.1f}x (cube {dense['cube_shape']})."]
    if "dann_cta" in s:
        lines += [f"Training throughput (dann_cta): {s['dann_cta']['patches_per_s']['mean']:,.0f} patches/s."]
    lines += ["", "![ROC curves and feature projections](results.png)", "",
              f"Regenerate: `make bench BENCH_PROFILE={results['profile']}`."]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    import torch

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    run(args.profile, args.methods, device, args.out_dir)


if __name__ == "__main__":
    main()
