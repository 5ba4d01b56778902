"""`make bench-adversary`: does the adversary help at every default? DANN-CTA as Train trains it (every default,
one network, the 20 x 64 x 64 pair) against the same training with LAMBDA_MAX 0 (the discriminator still learns,
its reversed gradient never reaches the features), paired by seed, seeds 0-9, target AUC on every labelled target
voxel. Target labels reach nothing but the scoring. No rule: this is a measurement, not a default's choice
(Train's default already is DANN-CTA with LAMBDA_MAX 1). Writes bench/adversary/results.json and results.md.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time

import numpy as np
from common import load_plugin, parse_arguments, save_results

load_plugin()

import torch  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.predict import predict_cube  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.results.metrics import labelled_scores, roc_auc  # noqa: E402
from mpm3d.core.settings import TrainConfig  # noqa: E402

RUNS = {"adversary": {}, "no adversary": {"lambda_max": 0.0}}
RUN_PROFILES = {"defaults": {"shape": (20, 64, 64), "seeds": list(range(10)), "config": {}},
                "smoke": {"shape": (12, 24, 24), "seeds": [0], "config": {"epochs": 1, "patch_size": 5}}}


def run_one(seed: int, run_profile: dict) -> dict:
    source, target = synthetic_pair(run_profile["shape"], seed=seed)
    labels, unlabelled = target.label, dataclasses.replace(target, label=None)
    out = {"seed": seed}
    for name, changes in RUNS.items():
        config = TrainConfig(method="dann_cta", members=1, device="cpu", seed=seed, **run_profile["config"],
                             **changes)
        started = time.perf_counter()
        result = train(source, unlabelled, config)
        probability = predict_cube(result.model, unlabelled, device="cpu")
        out[name] = {"target_auc": float(roc_auc(*labelled_scores(probability, labels))), "val_auc": result.val_auc,
                     "seconds": time.perf_counter() - started,
                     "training_mode": result.model.provenance["train_config"]["training_mode"],
                     "disc_acc_last": result.history[-1]["disc_acc"]}
    return out


def write_markdown(results: dict, path: str) -> None:
    runs = results["runs"]
    lines = ["# Does the adversary help at every default? (DANN-CTA, one network)", "",
             f"Command: `{results['command']}`. {results['hardware']}. Pair: as designed, {results['shape']}; "
             f"training mode {runs[0]['adversary']['training_mode'] if runs else '-'}.", "",
             "| run | target AUC | source validation AUC | last epoch's discriminator accuracy | training s |",
             "|---|---|---|---|---|"]
    for name in RUNS:
        column = {key: np.array([r[name][key] for r in runs], float)
                  for key in ("target_auc", "val_auc", "disc_acc_last", "seconds")}
        lines.append(f"| {name} | " + " | ".join(f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}"
                                                 for v in column.values()) + " |")
    gain = np.array([r["adversary"]["target_auc"] - r["no adversary"]["target_auc"] for r in runs])
    lines += ["", f"Adversary - no adversary, paired: {gain.mean():+.3f} ± "
              f"{gain.std(ddof=1) if len(gain) > 1 else 0:.3f}, better on {int((gain > 0).sum())} of {len(gain)} "
              "seeds; per seed: " + ", ".join(f"{r['seed']}: {g:+.3f}" for r, g in zip(runs, gain, strict=True))]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0], RUN_PROFILES, [], "adversary")
    run_profile = RUN_PROFILES[args.profile]
    torch.set_num_threads(os.cpu_count() or 1)
    results = {"command": f"python bench/adversary.py --profile {args.profile}", "shape": list(run_profile["shape"]),
               "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU", "runs": []}
    seeds = args.seeds if args.seeds is not None else run_profile["seeds"]
    order = [seed for pair in zip(seeds[:5], seeds[5:], strict=False) for seed in pair]  # 0, 5, 1, 6, ...
    for seed in order + [seed for seed in seeds if seed not in order]:
        results["runs"].append(run_one(seed, run_profile))
        run = results["runs"][-1]
        print(f"seed {seed}: " + ", ".join(f"{name} {run[name]['target_auc']:.3f}" for name in RUNS), flush=True)
        save_results(results, args.out_dir, write_markdown)


if __name__ == "__main__":
    main()
