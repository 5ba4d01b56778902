"""What evidence importance (core/learning/importance.py) costs beside a training run, and whether it finds the
evidence the synthetic ore follows: each method trained with the default settings on the synthetic pair, then its
importance measured; the seconds of both, the overhead, and each layer's source AUC drop and target change, ranked.

The synthetic ore lies close to the modelled fault (core/data/synthetic.py), so fault_distance should rank among the
first few layers on the source. Results: bench/importance/results.json and results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from common import BENCH_DIR, load_plugin, save_results

load_plugin()

import torch  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.importance import evidence_importance  # noqa: E402
from mpm3d.core.learning.training import TrainConfig, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["rf", "dann_cta"])
    parser.add_argument("--shape", type=int, nargs=3, default=(20, 64, 64))
    parser.add_argument("--voxel-size", type=float, nargs=3, default=(40.0, 25.0, 25.0))
    parser.add_argument("--epochs", type=int, default=None, help="default: the EPOCHS setting's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", default=os.path.join(BENCH_DIR, "importance"))
    args = parser.parse_args()
    source, target = synthetic_pair(shape=tuple(args.shape), voxel_size=tuple(args.voxel_size), seed=args.seed)
    results = {"shape": args.shape, "voxel_size": args.voxel_size, "seed": args.seed, "device": args.device,
               "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(), "runs": []}
    for method in args.methods:
        config = TrainConfig(method=method, device=args.device, seed=args.seed,
                             **({"epochs": args.epochs} if args.epochs else {}))
        started = time.perf_counter()
        result = train(source, target, config)
        train_seconds = time.perf_counter() - started
        importance = evidence_importance(result.model, source, target, config, device=args.device)
        ranked = sorted(importance["layers"], key=lambda layer: -layer["source_auc_drop"]["mean"])
        run = {"method": method, "epochs": config.epochs, "members": result.model.n_members if method != "rf" else 1,
               "train_seconds": train_seconds, "importance_seconds": importance["seconds"],
               "overhead": importance["seconds"] / train_seconds, "val_auc": result.val_auc,
               "fault_distance_rank": 1 + [layer["layer"] for layer in ranked].index("fault_distance"),
               "layers": [{"layer": layer["layer"], "source_auc_drop": layer["source_auc_drop"]["mean"],
                           "source_sd": layer["source_auc_drop"]["sd"], "target_change": layer["target_change"]["mean"],
                           "target_sd": layer["target_change"]["sd"]} for layer in ranked]}
        results["runs"].append(run)
        print(f"{method}: training {train_seconds:.1f} s, importance {importance['seconds']:.1f} s "
              f"({100 * run['overhead']:.0f} %), fault_distance rank {run['fault_distance_rank']}", flush=True)
        save_results(results, args.out_dir, write_markdown)


def write_markdown(results: dict, path: str) -> None:
    lines = ["# Evidence importance: cost and ranking", "",
             f"Synthetic pair {' x '.join(map(str, results['shape']))}, seed {results['seed']}, {results['device']}, "
             f"{results['threads']} threads; default settings (bench/importance.py).", "",
             "| method | epochs | training s | importance s | overhead | fault_distance rank (source) |",
             "|---|---|---|---|---|---|"]
    for run in results["runs"]:
        lines.append(f"| {run['method']} | {run['epochs']} | {run['train_seconds']:.1f} | "
                     f"{run['importance_seconds']:.1f} | {100 * run['overhead']:.0f} % | "
                     f"{run['fault_distance_rank']} |")
    for run in results["runs"]:
        lines += ["", f"## {run['method']}", "", "| layer | source AUC drop | target mean abs change |",
                  "|---|---|---|"]
        lines += [f"| {layer['layer']} | {layer['source_auc_drop']:.4f} ± {layer['source_sd']:.4f} | "
                  f"{layer['target_change']:.4f} ± {layer['target_sd']:.4f} |" for layer in run["layers"]]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
