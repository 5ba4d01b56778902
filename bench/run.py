"""`make bench`: the paper's cross-deposit table on the synthetic pair, plus throughput numbers.

For every method and seed: train on the labelled source and the unlabelled target, predict the
target densely, score it against the target labels (the only place they are read). Also: training
patches/s, dense prediction voxels/s and its speed-up over one patch per voxel, and the domain
discrepancy (proxy A-distance) of source vs target representations before and after training.
Diagnostics, never used to choose anything: the target AUC after every epoch (to see what the
source-validation checkpoint choice costs), rf and cnn scored with the source's statistics instead
of the target's own (what per-deposit standardisation buys), and the `same_ore_zone` variant of
the synthetic pair (what the shift in where ore sits costs). The peer row runs skada's DANN in its
own environment (bench/peer_skada.py) when --peer-python is given. --samples-per-epoch sets training's
samples-per-epoch budget for every method (default: the plugin's, which no profile here reaches).
Writes bench/results.md, bench/results.json and bench/results.png (or --out-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

import numpy as np
from common import AS_MEASURED, load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from mpm3d.core.data.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.model import TrainedModel  # noqa: E402
from mpm3d.core.learning.predict import predict_cube, predict_patches  # noqa: E402
from mpm3d.core.learning.sampling import (  # noqa: E402  # noqa: E402
    FeatureStats,
    PatchGatherer,
    barren_count,
    cube_stats,
    draw_source_epoch,
    epoch_ore_count,
    ore_cycle,
    padded_standardised,
    source_samples,
    standardise,
)
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.learning.voxel_outputs import embed_and_score  # noqa: E402
from mpm3d.core.results.metrics import evaluate, labelled_scores, proxy_a_distance, roc_auc  # noqa: E402
from mpm3d.core.settings import DEFAULTS, TrainConfig  # noqa: E402
from run_report import PEER, save  # noqa: E402

METHODS = ("rf", "cnn", "cta", "dann", "dann_cta", PEER)
SOURCE_STATS_METHODS = ("rf", "cnn")  # trained without the target: scoring them with source statistics is fair
# name: (synthetic_pair arguments, TrainConfig.target_normalisation)
VARIANTS = {
    "as_designed": ({}, "own"),
    "same_ore_zone": ({"same_ore_zone": True}, "own"),
    "source_statistics": ({}, "source"),
}
PROFILES = {
    # quick: 2 CPU cores within about 30 minutes; full: >= 1 million voxels per deposit, for a GPU
    "quick": {**DEPOSIT_SIZES["demo"], "seeds": 5, "epochs": 6, "batch_size": 128, "patch_size": 7},
    "full": {**DEPOSIT_SIZES["bench"], "seeds": 5, "epochs": 12, "batch_size": 1024, "patch_size": 9},
    # smoke: seconds, to check the script itself
    "smoke": {**DEPOSIT_SIZES["test"], "seeds": 2, "epochs": 1, "batch_size": 32, "patch_size": 5},
}
DISCREPANCY_SAMPLES = 2000


def _sample_voxels(cube, n: int, rng) -> np.ndarray:
    flat = np.flatnonzero(cube.valid.ravel())
    return rng.choice(flat, size=min(n, len(flat)), replace=False)


def _standardised_centres(cube, flat: np.ndarray, stats) -> np.ndarray:
    return standardise(cube.features.reshape(len(cube.feature_names), -1)[:, flat], stats).T


def representations(model, cube, role: str, flat: np.ndarray, device: str) -> np.ndarray:
    """What the label head sees: the network's pooled embedding, or the standardised centre features."""
    import torch

    stats = FeatureStats.from_dict(model.normalisation[role])
    if not model.networks:
        return _standardised_centres(cube, flat, stats)
    torch_device = torch.device(device)
    patches = PatchGatherer(padded_standardised(cube, stats, model.patch_size // 2), model.patch_size, torch_device)
    return embed_and_score(model.networks[0].to(torch_device).eval(), patches, patches.centre_index(flat),
                           torch_device)[0]


def dense_speedup(model, cube, device: str, n_patch_voxels: int = 4000) -> dict:
    """Dense prediction of the whole cube against one patch per voxel on a sample of voxels."""

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


def _target_auc(probability: np.ndarray, labels: np.ndarray) -> float:
    return float(roc_auc(*labelled_scores(probability, labels)))


class EpochTrace:
    """Target AUC of the network after every epoch: a diagnostic of the checkpoint choice, read after training."""

    def __init__(self, method: str, target, target_labels: np.ndarray, device: str, stats):
        self.method, self.target, self.labels, self.device = method, target, target_labels, device
        self.stats = stats.to_dict()
        self.aucs: list[float] = []

    def __call__(self, epoch: int, net) -> None:
        model = TrainedModel(method=self.method, feature_names=list(self.target.feature_names),
                             patch_size=net.config.patch_size, normalisation={"target": self.stats}, networks=[net])
        probability = predict_cube(model, self.target, device=self.device, normalisation="target")
        self.aucs.append(_target_auc(probability, self.labels))


def run_peer(peer_python: str, source, target, config: TrainConfig, embedding_voxels, rng) -> dict:
    """skada's DANN in its own environment, on our split, class balance and patches; see bench/peer_skada.py."""
    split, (val_voxels, val_labels), split_rng = source_samples(source, config)
    voxels, labels = draw_source_epoch(split, config.negative_ratio, split_rng,  # train()'s first epoch
                                       ore_cycle(split, config).next_epoch())
    job = {
        "source_features": source.features, "target_features": target.features,
        "target_valid": target.valid, "train_voxels": voxels, "train_labels": labels,
        "target_voxels": rng.choice(np.flatnonzero(target.valid), len(voxels)),
        "val_voxels": val_voxels, "embedding_source_voxels": embedding_voxels[0],
        "embedding_target_voxels": embedding_voxels[1], "seed": config.seed, "patch_size": config.patch_size,
        "epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "target_normalisation": config.target_normalisation,
    }
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_skada.py")
    with tempfile.TemporaryDirectory() as folder:
        job_path, answer_path = os.path.join(folder, "job.npz"), os.path.join(folder, "answer.npz")
        np.savez(job_path, **job)
        subprocess.run([peer_python, script, job_path, answer_path, "--device", config.device], check=True)
        with np.load(answer_path) as data:
            answer = {key: data[key] for key in data.files}
    answer["val_auc"] = float(roc_auc(answer["val_scores"][val_labels == 1], answer["val_scores"][val_labels == 0]))
    return answer


def epoch_size(model, config: TrainConfig) -> dict:
    """Labelled samples (ore + barren) in each epoch of a trained model, under its samples-per-epoch budget, and
    for a network the optimiser steps they make (whole batches)."""
    n_ore = epoch_ore_count(model.provenance["n_train_ore"], config.negative_ratio, config.samples_per_epoch)
    samples = n_ore + barren_count(n_ore, config.negative_ratio)
    return {"epoch_samples": samples, **({"steps_per_epoch": samples // config.batch_size} if model.networks else {})}


def run(profile_name: str, methods, device: str, out_dir: str, seeds=None, variant: str = "as_designed",
        peer_python: str | None = None, keep_runs: list[dict] | None = None, epochs: int | None = None,
        samples_per_epoch: int | None = None) -> dict:
    """``samples_per_epoch``: training's budget (labelled samples per epoch at most, 0: none); None: the default."""
    profile = dict(PROFILES[profile_name], **({"epochs": epochs} if epochs else {}), samples_per_epoch=(
        DEFAULTS["samples_per_epoch"] if samples_per_epoch is None else samples_per_epoch))
    seeds = list(range(profile["seeds"])) if seeds is None else list(seeds)
    if PEER in methods and not peer_python:
        print(f"{PEER}: no --peer-python given, the peer row is left out", flush=True)
        methods = [m for m in methods if m != PEER]
    results: dict = {"profile": profile_name, "variant": variant, "settings": profile, "device": device,
                     "runs": list(keep_runs or []), "hardware": _hardware(device)}
    rocs, embeddings = {}, {}
    for seed in seeds:
        data_options, target_normalisation = VARIANTS[variant]
        source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed,
                                        **data_options)
        stats = {"source": cube_stats(source)}
        stats["target"] = stats["source"] if target_normalisation == "source" else cube_stats(target)
        target_labels = target.label
        target.label = None  # training never sees them
        rng = np.random.default_rng(seed)
        source_flat, target_flat = _sample_voxels(source, DISCREPANCY_SAMPLES, rng), _sample_voxels(
            target, DISCREPANCY_SAMPLES, rng)
        raw = [_standardised_centres(source, source_flat, stats["source"]),
               _standardised_centres(target, target_flat, stats["target"])]
        pad_before = proxy_a_distance(*raw, seed=seed)
        if seed == seeds[0]:
            embeddings["features"] = tuple(raw)
        for method in methods:
            config = TrainConfig(members=1, method=method if method != PEER else "cnn", epochs=profile["epochs"],
                                 batch_size=profile["batch_size"], patch_size=profile["patch_size"], device=device,
                                 seed=seed, target_normalisation=target_normalisation,
                                 samples_per_epoch=profile["samples_per_epoch"], **AS_MEASURED)
            run = {"method": method, "seed": seed, "pad_before": pad_before}
            started = time.perf_counter()
            if method == PEER:
                answer = run_peer(peer_python, source, target, config, (source_flat, target_flat), rng)
                probability, (rep_source, rep_target) = answer["probability"], (
                    answer["embedding_source"], answer["embedding_target"])
                run.update(source_val_auc=answer["val_auc"], best_epoch=config.epochs,
                           patches_per_s=float(answer["patches_per_s"]), train_s=float(answer["train_s"]))
            else:
                trace = EpochTrace(method, target, target_labels, device, stats["target"]) if method != "rf" else None
                result = train(source, target, config, on_epoch_end=trace)
                run["train_s"] = time.perf_counter() - started
                # the epochs' own time (sampling, steps, validation), without the diagnostic trace's predictions
                run["epochs_s"] = float(sum(h["seconds"] for h in result.history))
                run.update(epoch_size(result.model, config))
                probability = predict_cube(result.model, target, device=device, normalisation="target")
                rep_source = representations(result.model, source, "source", source_flat, device)
                rep_target = representations(result.model, target, "target", target_flat, device)
                run.update(source_val_auc=result.val_auc, best_epoch=result.best_epoch,
                           patches_per_s=float(np.mean([h["patches_per_s"] for h in result.history
                                                        if h.get("patches_per_s")] or [np.nan])))
                if trace is not None:
                    run.update(target_auc_by_epoch=trace.aucs, target_auc_last_epoch=trace.aucs[-1])
                if method in SOURCE_STATS_METHODS and target_normalisation == "own":
                    run["target_auc_source_stats"] = _target_auc(
                        predict_cube(result.model, target, device=device, normalisation="source"), target_labels)
            metrics = evaluate(probability, target_labels, target.grid.z)
            run.update(target_auc=metrics["auc"], capture_top10=metrics["capture_top10"],
                       pad_after=proxy_a_distance(rep_source, rep_target, seed=seed))
            results["runs"].append(run)
            print(json.dumps({k: v for k, v in run.items() if k != "target_auc_by_epoch"}), flush=True)
            if seed == seeds[0]:
                rocs[method] = metrics["roc"]
                embeddings[method] = (rep_source, rep_target)
            if seed == seeds[0] and method == "dann_cta":
                results["dense"] = dense_speedup(result.model, target, device)
                print(json.dumps(results["dense"]), flush=True)
        regenerate = _command(results, _folder(out_dir))
        save(results, rocs, embeddings, out_dir, regenerate)  # after every seed, so a cut-short run still reports
    return results


def _hardware(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"{platform.processor() or platform.machine()} CPU x {os.cpu_count()} threads, torch {torch.__version__}"


def _folder(out_dir: str) -> str:
    """``out_dir`` as a path inside bench/ ("." for bench/ itself); outside it, just its name."""
    folder = os.path.relpath(os.path.abspath(out_dir), os.path.dirname(os.path.abspath(__file__)))
    return os.path.basename(os.path.abspath(out_dir)) if folder.startswith(os.pardir) else folder


def _command(results: dict, folder: str) -> str:
    """The make target that gives these results, or the script's command line for a one-off experiment."""
    variant = results.get("variant", "as_designed")
    methods = list(dict.fromkeys(r["method"] for r in results["runs"]))
    epochs = results["settings"]["epochs"]
    seeds = sorted({r["seed"] for r in results["runs"]})
    profile = PROFILES[results["profile"]]
    default_seeds = seeds == list(range(profile["seeds"]))
    budget = results["settings"].get("samples_per_epoch", DEFAULTS["samples_per_epoch"])
    default_budget = budget == DEFAULTS["samples_per_epoch"]
    if epochs == profile["epochs"] and set(methods) == set(METHODS) and default_seeds and default_budget:
        return f"make bench BENCH_PROFILE={results['profile']}" + (
            f" BENCH_VARIANT={variant}" if variant != "as_designed" else "")
    return (f".venv/bin/python bench/run.py --profile {results['profile']} --variant {variant} --epochs {epochs} "
            f"--methods {' '.join(methods)}" + ("" if default_seeds else f" --seeds {' '.join(map(str, seeds))}")
            + ("" if default_budget else f" --samples-per-epoch {budget}")
            + (f" --out-dir bench/{folder}" if folder != "." else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="as_designed",
                        help="as_designed, or same_ore_zone: the ablation without the ore-position shift")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 .. the profile's number of seeds - 1")
    parser.add_argument("--append", action="store_true",
                        help="keep the runs of other seeds already in --out-dir's results.json (a run split in parts)")
    parser.add_argument("--epochs", type=int, help="instead of the profile's (a training-length experiment)")
    parser.add_argument("--samples-per-epoch", type=int, default=DEFAULTS["samples_per_epoch"],
                        help="training's budget of labelled samples per epoch, for every method; 0: none "
                             "(default: the plugin's, %(default)s)")
    parser.add_argument("--peer-python", help="Python of the environment with skada (bench/requirements-peer.txt)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    import torch

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    seeds = args.seeds if args.seeds is not None else list(range(PROFILES[args.profile]["seeds"]))
    keep = []
    previous = os.path.join(args.out_dir, "results.json")
    if args.append and os.path.exists(previous):
        with open(previous) as handle:
            before = json.load(handle)
        budget = before["settings"].get("samples_per_epoch", DEFAULTS["samples_per_epoch"])
        if budget != args.samples_per_epoch:
            parser.error(f"--append: {previous} was run with --samples-per-epoch {budget}")
        keep = [r for r in before["runs"] if r["seed"] not in seeds]
    run(args.profile, args.methods, device, args.out_dir, seeds, args.variant, args.peer_python, keep, args.epochs,
        args.samples_per_epoch)


if __name__ == "__main__":
    main()
