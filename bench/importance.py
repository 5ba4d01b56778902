"""Evidence importance (core/learning/importance.py): whether it means something on the synthetic pair, where the
controls are known, and what it and "why here" cost. Results: bench/importance/results.json and results.md.

Two parts, each resumable (a run already in results.json is kept; --force runs it again):

``--part checks`` (item 5 of the issue): rf, cnn, dann and dann_cta on the 16 x 40 x 40 pair (the "test" profile),
seeds 0-4 (the pair's and the training's), 6 epochs, patch 5, batch 64, one member, with a pure-noise evidence
layer ``noise`` (standard normal, seeded, drawn once per cube, so training and importance read the same values)
added to both cubes. The rules, fixed before the first run:

- controls: the generator's favourability (core/data/synthetic.py, _favourability) is made of the distance to the
  true fault, the dip, the dip change (steep to gentle downwards) and the distance to the contact; the issue names
  the distance and the dip change. Pass when fault_distance and fault_dip_change hold ranks 1 and 2 (either order)
  of the nine layers by the mean source AUC drop over the 5 seeds; also counted per seed, and a looser reading
  (both above density, susceptibility and noise, the layers the favourability does not read at all) reported.
  Alteration and fracture density are made from the favourability and the fault distance, so they are markers of
  the ore, not its controls, and may rank high.
- noise: pass when the noise layer ranks last by the mean source drop, or its mean drop over the seeds is within
  two standard errors (SD of the 5 seeds' means / sqrt 5) of 0.
- stability: Spearman's rho of the nine layers' source drops between every two seeds (10 pairs): mean and range,
  per method (and of the target changes). Stable when the mean rho is at least 0.7.
- fracture density: on the pair as designed, its share of the importance on the source (of the AUC drops) and on
  the target (of the changes); differs visibly when the shares of the 5 seeds' means differ by SHARE_SHIFT
  (10 points) or more, the training report's own criterion; and the report written from each seed's importance is
  checked for the sentence naming fracture_density.

``--part speed`` (the issue's Speed): on the 20 x 64 x 64 pair with the default settings (--members 1 trains one
member of the default ensemble: training, importance and prediction all cost the same per member), the seconds of
training and of importance, the overhead (goal at most 20 %), and a plain dense prediction of the target against
"why here" (dominant_evidence, F more passes; goal at most F + 1 passes in all).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import tempfile
import time

from common import AS_MEASURED, BENCH_DIR, load_plugin, save_results

load_plugin()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mpm3d.core.data.grid import Cube  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES, synthetic_pair  # noqa: E402
from mpm3d.core.learning.importance import SHARE_SHIFT, evidence_importance, importance_shares  # noqa: E402
from mpm3d.core.learning.predict import dominant_evidence, model_input, own_stats, predict_ensemble  # noqa: E402
from mpm3d.core.learning.sampling import SlabSource, cube_slab_reader  # noqa: E402
from mpm3d.core.learning.training import TrainConfig, train  # noqa: E402
from mpm3d.core.results.reports import write_training_report  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

CHECK_METHODS = ("rf", "cnn", "dann", "dann_cta")
CHECK_SEEDS = tuple(range(5))
CHECK_PAIR = PROFILES["test"]
CHECK_CONFIG = {"epochs": 6, "patch_size": 5, "batch_size": 64, "members": 1}
NOISE = "noise"
CONTROLS = ("fault_distance", "fault_dip_change")
UNREAD = ("density", "susceptibility", NOISE)  # layers the generator's favourability does not read at all
FRACTURE = "fracture_density"
STABLE_RHO = 0.7
SPEED_PAIR = {"shape": (20, 64, 64), "voxel_size": (40.0, 25.0, 25.0)}
SPEED_METHODS = ("dann_cta", "rf")
OVERHEAD_GOAL = 0.20


def with_noise(cube: Cube, seed: int, stream: int) -> Cube:
    """The cube with a standard-normal ``noise`` layer (nodata where the cube's evidence is)."""
    noise = np.random.default_rng([seed, 97, stream]).standard_normal(cube.grid.shape).astype(np.float32)
    noise[~cube.valid] = np.nan
    return Cube(grid=cube.grid, features=np.concatenate([cube.features, noise[None]]),
                feature_names=[*cube.feature_names, NOISE], label=cube.label, attrs=dict(cube.attrs))


def check_run(method: str, seed: int, device: str) -> dict:
    """One method on one seed's pair with the noise layer: its importance per layer and the report's sentences."""
    source, target = synthetic_pair(shape=CHECK_PAIR["shape"], voxel_size=CHECK_PAIR["voxel_size"], seed=seed)
    source, target = with_noise(source, seed, 0), with_noise(target, seed, 1)
    config = TrainConfig(method=method, device=device, seed=seed, **CHECK_CONFIG, **AS_MEASURED)
    started = time.perf_counter()
    result = train(source, target, config)
    train_seconds = time.perf_counter() - started
    importance = evidence_importance(result.model, source, target, config, device=device)
    shares = {share["layer"]: share for share in importance_shares(importance)}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "report.html")
        write_training_report(path, result.history, {"method": method, "feature_names": source.feature_names,
                                                     "best_epoch": result.best_epoch, "importance": importance})
        report = open(path, encoding="utf-8").read()
    return {"method": method, "seed": seed, "val_auc": result.val_auc, "train_seconds": train_seconds,
            "importance_seconds": importance["seconds"],
            "layers": {layer["layer"]: {"source": layer["source_auc_drop"]["mean"],
                                        "source_sd": layer["source_auc_drop"]["sd"],
                                        "target": layer["target_change"]["mean"],
                                        "target_sd": layer["target_change"]["sd"],
                                        "source_share": shares[layer["layer"]]["source_share"],
                                        "target_share": shares[layer["layer"]]["target_share"]}
                       for layer in importance["layers"]},
            "report_names_fracture_density": f"<p>{FRACTURE} carries " in report}


def speed_run(method: str, members: int | None, device: str) -> dict:
    """A default training on the 20 x 64 x 64 pair, its importance, and a plain prediction against why here."""
    source, target = synthetic_pair(**SPEED_PAIR, seed=0)
    config = TrainConfig(method=method, device=device, seed=0, **({"members": members} if members else {}))
    started = time.perf_counter()
    result = train(source, target, config)
    train_seconds = time.perf_counter() - started
    importance = evidence_importance(result.model, source, target, config, device=device)
    once = evidence_importance(result.model, source, target, config, repeats=1, device=device)  # the cheap variant
    model = result.model
    cube = model_input(model, SlabSource(cube_slab_reader(target), target.grid.shape, list(target.feature_names)))
    started = time.perf_counter()
    stats = own_stats(cube, torch.device(device))
    stats_seconds = time.perf_counter() - started
    started = time.perf_counter()
    probability = predict_ensemble(model, cube, device=device, stats=stats)[0]
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    dominant_evidence(model, cube, probability, device=device, stats=stats)
    why_seconds = time.perf_counter() - started
    n_features = len(model.feature_names)
    return {"method": method, "epochs": config.epochs, "patch_size": config.patch_size,
            "members": len(result.members), "train_seconds": train_seconds,
            "importance_seconds": importance["seconds"], "overhead": importance["seconds"] / train_seconds,
            "one_repeat_seconds": once["seconds"], "one_repeat_overhead": once["seconds"] / train_seconds,
            "features": n_features, "stats_seconds": stats_seconds, "plain_prediction_seconds": plain_seconds,
            "why_here_seconds": why_seconds,
            "why_here_passes": (plain_seconds + why_seconds) / plain_seconds, "why_here_goal_passes": n_features + 1}


def prediction_run(method: str, members: int | None, device: str, repeats: int = 3) -> dict:
    """A plain dense prediction of the 20 x 64 x 64 target against why here, each timed ``repeats`` times (the
    median kept: a pass of a fraction of a second is at the mercy of other jobs). The model has the default
    architecture and patch but one epoch: the cost of a pass does not depend on how long the model trained."""
    source, target = synthetic_pair(**SPEED_PAIR, seed=0)
    config = TrainConfig(method=method, device=device, seed=0, epochs=1, **({"members": members} if members else {}))
    model = train(source, target, config).model
    cube = model_input(model, SlabSource(cube_slab_reader(target), target.grid.shape, list(target.feature_names)))
    stats = own_stats(cube, torch.device(device))
    plain, why = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        probability = predict_ensemble(model, cube, device=device, stats=stats)[0]
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        dominant_evidence(model, cube, probability, device=device, stats=stats)
        why.append(time.perf_counter() - started)
    plain_seconds, why_seconds = float(np.median(plain)), float(np.median(why))
    n_features = len(model.feature_names)
    return {"method": method, "patch_size": config.patch_size, "members": model.n_members if model.networks else 1,
            "features": n_features, "repeats": repeats, "plain_seconds": plain, "why_seconds": why,
            "plain_prediction_seconds": plain_seconds, "why_here_seconds": why_seconds,
            "why_here_passes": (plain_seconds + why_seconds) / plain_seconds, "why_here_goal_passes": n_features + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("checks", "speed", "prediction"), required=True)
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(CHECK_SEEDS))
    parser.add_argument("--members", type=int, default=None, help="speed: members (default: the setting's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--force", action="store_true", help="run again what results.json already has")
    parser.add_argument("--out-dir", default=os.path.join(BENCH_DIR, "importance"))
    args = parser.parse_args()
    path = os.path.join(args.out_dir, "results.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    results.update({"threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
                    "device": args.device})
    if args.part == "checks":
        runs = results.setdefault("checks", {})
        for method, seed in itertools.product(args.methods or CHECK_METHODS, args.seeds):
            key = f"{method}/{seed}"
            if key in runs and not args.force:
                continue
            runs[key] = check_run(method, seed, args.device)
            print(f"{key}: val AUC {runs[key]['val_auc']:.3f}, training {runs[key]['train_seconds']:.1f} s, "
                  f"importance {runs[key]['importance_seconds']:.1f} s", flush=True)
            save_results(results, args.out_dir, write_markdown)
    elif args.part == "prediction":
        runs = results.setdefault("prediction", {})
        for method in args.methods or SPEED_METHODS:
            if method in runs and not args.force:
                continue
            runs[method] = run = prediction_run(method, args.members, args.device)
            print(f"{method}: prediction {run['plain_prediction_seconds']:.2f} s, why here "
                  f"{run['why_here_seconds']:.2f} s more ({run['why_here_passes']:.2f} passes)", flush=True)
            save_results(results, args.out_dir, write_markdown)
    else:
        runs = results.setdefault("speed", {})
        for method in args.methods or SPEED_METHODS:
            if method in runs and not args.force:
                continue
            runs[method] = speed_run(method, args.members, args.device)
            run = runs[method]
            print(f"{method}: training {run['train_seconds']:.1f} s, importance {run['importance_seconds']:.1f} s "
                  f"({100 * run['overhead']:.1f} %); prediction {run['plain_prediction_seconds']:.1f} s, why here "
                  f"{run['why_here_seconds']:.1f} s more ({run['why_here_passes']:.2f} passes)", flush=True)
            save_results(results, args.out_dir, write_markdown)
    save_results(results, args.out_dir, write_markdown)


def summarise(runs: list[dict]) -> dict:
    """One method's checks over its seeds (see the module's rules)."""
    layers = list(runs[0]["layers"])
    source = np.array([[run["layers"][name]["source"] for name in layers] for run in runs])
    target = np.array([[run["layers"][name]["target"] for name in layers] for run in runs])
    mean = source.mean(axis=0)
    ranked = [layers[k] for k in np.argsort(-mean, kind="stable")]
    rank = {name: 1 + ranked.index(name) for name in layers}
    per_seed_top = sum(set(CONTROLS) == {layers[k] for k in np.argsort(-row, kind="stable")[:2]} for row in source)
    noise = source[:, layers.index(NOISE)]
    noise_se = float(noise.std(ddof=1) / np.sqrt(len(noise))) if len(noise) > 1 else float("nan")

    def rhos(values: np.ndarray) -> list[float]:
        return [float(spearmanr(values[a], values[b])[0]) for a, b in itertools.combinations(range(len(values)), 2)]

    source_rho, target_rho = rhos(source), rhos(target)
    shares = {side: np.array([run["layers"][FRACTURE][f"{side}_share"] or 0.0 for run in runs])
              for side in ("source", "target")}
    mean_shares = {side: importance_shares({"layers": [
        {"layer": name, "source_auc_drop": {"mean": float(mean[k])},
         "target_change": {"mean": float(target.mean(axis=0)[k])}} for k, name in enumerate(layers)]})[
        layers.index(FRACTURE)][f"{side}_share"] for side in ("source", "target")}
    seeds_shifted = int(sum(abs(t - s) >= SHARE_SHIFT for s, t in zip(shares["source"], shares["target"],
                                                                       strict=True)))
    return {"seeds": [run["seed"] for run in runs], "ranked": ranked, "rank": rank,
            "mean_source": dict(zip(layers, mean.tolist(), strict=True)),
            "mean_target": dict(zip(layers, target.mean(axis=0).tolist(), strict=True)),
            "controls_top_two": all(rank[name] <= 2 for name in CONTROLS), "seeds_controls_top_two": per_seed_top,
            "controls_above_unread": max(rank[name] for name in CONTROLS) < min(rank[name] for name in UNREAD),
            "noise_rank": rank[NOISE], "noise_mean": float(noise.mean()), "noise_se": noise_se,
            "noise_pass": rank[NOISE] == len(layers) or abs(float(noise.mean())) <= 2 * noise_se,
            "noise_target_rank": 1 + [layers[k] for k in np.argsort(-target.mean(axis=0), kind="stable")].index(NOISE),
            "rho_source": source_rho, "rho_target": target_rho,
            "stable": bool(source_rho) and bool(np.mean(source_rho) >= STABLE_RHO),
            "fracture_source_share": mean_shares["source"], "fracture_target_share": mean_shares["target"],
            "fracture_source_share_sd": float(shares["source"].std()),
            "fracture_target_share_sd": float(shares["target"].std()),
            "fracture_differs": abs(mean_shares["target"] - mean_shares["source"]) >= SHARE_SHIFT,
            "seeds_fracture_shifted": seeds_shifted,
            "seeds_report_names_fracture": int(sum(run["report_names_fracture_density"] for run in runs)),
            "val_auc": float(np.mean([run["val_auc"] for run in runs])),
            "val_auc_sd": float(np.std([run["val_auc"] for run in runs]))}


def verdict(passed: bool) -> str:
    return "pass" if passed else "miss"


def write_markdown(results: dict, path: str) -> None:
    lines = ["# Evidence importance: does it mean something, and what does it cost", "",
             f"{results['device']}, {results['threads']} threads, bench/importance.py (the rules are in its "
             "docstring, fixed before the first run). Timings were taken on a machine other jobs shared.", ""]
    checks = results.get("checks") or {}
    by_method = {}
    for run in checks.values():
        by_method.setdefault(run["method"], []).append(run)
    if by_method:
        lines += ["## Checks on the synthetic pair (item 5)", "",
                  f"Pair {' x '.join(map(str, CHECK_PAIR['shape']))} as designed with a noise layer, "
                  f"{CHECK_CONFIG['epochs']} epochs, patch {CHECK_CONFIG['patch_size']}, one member. Ranks by the "
                  "mean source AUC drop over the seeds (1 = most important, of 9 layers).", "",
                  "| method | seeds | source val AUC | rank fault_distance | rank fault_dip_change | controls top 2 "
                  "(seeds) | above density, susceptibility, noise | noise rank (source / target) | noise drop "
                  "(mean ± SE) | rho source: mean (range) | rho target: mean (range) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        summaries = {method: summarise(sorted(runs, key=lambda run: run["seed"]))
                     for method, runs in by_method.items()}
        for method, s in summaries.items():
            rho = {side: f"{np.mean(s[side]):.2f} ({min(s[side]):.2f} to {max(s[side]):.2f})" if s[side] else "–"
                   for side in ("rho_source", "rho_target")}
            lines.append(
                f"| {method} | {len(s['seeds'])} | {s['val_auc']:.3f} ± {s['val_auc_sd']:.3f} | "
                f"{s['rank']['fault_distance']} | {s['rank']['fault_dip_change']} | "
                f"{verdict(s['controls_top_two'])} ({s['seeds_controls_top_two']} of {len(s['seeds'])}) | "
                f"{verdict(s['controls_above_unread'])} | {s['noise_rank']} / {s['noise_target_rank']} "
                f"({verdict(s['noise_pass'])}) | {s['noise_mean']:.4f} ± {s['noise_se']:.4f} | "
                f"{rho['rho_source']} ({verdict(s['stable'])}) | {rho['rho_target']} |")
        lines += ["", "Fracture density, which stops marking ore in the target (its damage zone hugs the fault, the "
                  "target's ore lies deeper in the footwall): its share of the importance on each side (of the 5 "
                  "seeds' means; ± the SD of the seeds' own shares), whether the shares differ by "
                  f"{100 * SHARE_SHIFT:g} points or more, and in how many seeds the training report says so.", "",
                  "| method | source share | target share | differs visibly | seeds shifted | seeds the report "
                  "names it |", "|---|---|---|---|---|---|"]
        for method, s in summaries.items():
            lines.append(f"| {method} | {100 * (s['fracture_source_share'] or 0):.1f} ± "
                         f"{100 * s['fracture_source_share_sd']:.1f} % | {100 * (s['fracture_target_share'] or 0):.1f}"
                         f" ± {100 * s['fracture_target_share_sd']:.1f} % | {verdict(s['fracture_differs'])} | "
                         f"{s['seeds_fracture_shifted']} | {s['seeds_report_names_fracture']} |")
        lines += ["", "Mean source AUC drop and target mean |change| per layer over the seeds, in the order of the "
                  "source drop:", ""]
        for method, s in summaries.items():
            lines += [f"- {method}: " + ", ".join(f"{name} {s['mean_source'][name]:.4f} / {s['mean_target'][name]:.4f}"
                                                  for name in s["ranked"])]
        lines.append("")
    speed = results.get("speed") or {}
    if speed:
        lines += ["## Cost (the issue's Speed)", "",
                  f"Pair {' x '.join(map(str, SPEED_PAIR['shape']))}, seed 0, default settings, the members given. "
                  f"Goals: importance at most {100 * OVERHEAD_GOAL:g} % of the training; why here at most F + 1 "
                  "dense passes in all (the plain one and one per layer; feature statistics, shared, not counted).",
                  "", "| method | epochs | patch | members | training s | importance s | overhead | one repeat: s, "
                  "overhead | plain prediction s | why here s (more) | passes (goal) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for run in speed.values():
            lines.append(f"| {run['method']} | {run['epochs']} | {run['patch_size']} | {run['members']} | "
                         f"{run['train_seconds']:.1f} | {run['importance_seconds']:.1f} | "
                         f"{100 * run['overhead']:.1f} % ({verdict(run['overhead'] <= OVERHEAD_GOAL)}) | "
                         + (f"{run['one_repeat_seconds']:.1f}, {100 * run['one_repeat_overhead']:.1f} % | "
                            if "one_repeat_seconds" in run else "– | ") +
                         f"{run['plain_prediction_seconds']:.2f} | {run['why_here_seconds']:.2f} | "
                         f"{run['why_here_passes']:.2f} ({run['why_here_goal_passes']}, "
                         f"{verdict(run['why_here_passes'] <= run['why_here_goal_passes'])}) |")
        lines.append("")
    prediction = results.get("prediction") or {}
    if prediction:
        lines += ["Why here against a plain prediction, each timed three times (median), on a model of the default "
                  "architecture trained one epoch (bench/importance.py --part prediction):", "",
                  "| method | patch | members | plain prediction s (runs) | why here s, more (runs) | passes (goal) |",
                  "|---|---|---|---|---|---|"]
        for run in prediction.values():
            runs = {key: ", ".join(f"{value:.2f}" for value in run[key]) for key in ("plain_seconds", "why_seconds")}
            lines.append(f"| {run['method']} | {run['patch_size']} | {run['members']} | "
                         f"{run['plain_prediction_seconds']:.2f} ({runs['plain_seconds']}) | "
                         f"{run['why_here_seconds']:.2f} ({runs['why_seconds']}) | "
                         f"{run['why_here_passes']:.2f} ({run['why_here_goal_passes']}, "
                         f"{verdict(run['why_here_passes'] <= run['why_here_goal_passes'])}) |")
        lines.append("")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    main()
