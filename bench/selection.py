"""`make bench-selection`: does a label-free rule choose better epochs than the source validation AUC?

For each adapting method and base seed, one network is trained (the default rule returns its weights;
every rule's scores are in its history), and after every epoch the target is predicted densely and
scored against the target labels (only here, never by a rule). Each rule's choice is then read off:
the target AUC of the epoch it chose, or, for ``average``, of the mean of the last quarter's weights.
``oracle`` is the best epoch by target AUC: a ceiling no rule can see.

The decision, fixed before any run: the candidate is the rule with the highest mean target AUC over the
pick seeds (0-4), all methods run together; it becomes the default only if, on the confirm seeds (5-9)
that nothing has seen, its paired mean difference to `source_val` is positive for every method and it
wins on at least 60 % of the (method, seed) pairs. Writes bench/selection/results.md and results.json.
"""

from __future__ import annotations

import json
import time

import numpy as np
from common import load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from common import AS_MEASURED, parse_arguments, save_results  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES as DEPOSIT_SIZES  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.model import ProspectivityNet, config_for_method, resolve_device  # noqa: E402
from mpm3d.core.learning.sampling import cube_stats  # noqa: E402
from mpm3d.core.learning.selection import SELECTION_LABELS, SELECTION_RULES, averaged_epochs, chosen_epoch  # noqa: E402
from mpm3d.core.learning.selection_scores import average_states  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.settings import TrainConfig  # noqa: E402
from run import EpochTrace  # noqa: E402  (bench/run.py: the per-epoch target AUC of the main benchmark)

METHODS = ("dann_cta", "dann")
PICK_SEEDS, CONFIRM_SEEDS = list(range(5)), list(range(5, 10))
MIN_CONFIRM_WIN_SHARE = 0.6
PROFILES = {
    # quick: 2 CPU cores; the benchmark's quick deposits, twice its epochs so that there is something to choose
    "quick": {**DEPOSIT_SIZES["demo"], "epochs": 12, "batch_size": 128, "patch_size": 7},
    "full": {**DEPOSIT_SIZES["bench"], "epochs": 20, "batch_size": 1024, "patch_size": 9},
    "smoke": {**DEPOSIT_SIZES["test"], "epochs": 3, "batch_size": 32, "patch_size": 5},
}
CHOICES = (*SELECTION_RULES, "last", "oracle")


def run_one(method: str, seed: int, profile: dict, device: str) -> dict:
    """One network: its per-epoch target AUC and the target AUC each rule's choice gets."""
    source, target = synthetic_pair(shape=profile["shape"], voxel_size=profile["voxel_size"], seed=seed)
    label, target.label = target.label, None  # training never sees them
    config = TrainConfig(members=1, method=method, epochs=profile["epochs"], batch_size=profile["batch_size"],
                         patch_size=profile["patch_size"], device=device, seed=seed, **AS_MEASURED)
    trace, states = EpochTrace(method, target, label, device, cube_stats(target)), []

    def on_epoch_end(epoch: int, net: ProspectivityNet) -> None:
        states.append({k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()})
        trace(epoch, net)

    started = time.perf_counter()
    history = train(source, target, config, on_epoch_end=on_epoch_end).history
    per_epoch = trace.aucs
    chosen = {rule: chosen_epoch(history, rule) for rule in SELECTION_RULES if rule != "average"}
    choices = {rule: per_epoch[epoch - 1] for rule, epoch in chosen.items()}
    net = ProspectivityNet(config_for_method(method, len(source.feature_names), config.patch_size))
    net.load_state_dict(average_states([states[e - 1] for e in averaged_epochs(config.epochs)]))
    trace(config.epochs + 1, net.eval())
    choices.update(average=trace.aucs.pop(), last=per_epoch[-1], oracle=max(per_epoch))
    return {"method": method, "seed": seed, "target_auc_by_epoch": per_epoch, "choices": choices,
            "chosen_epochs": chosen,
            "scores": {key: [h[key] for h in history] for key in ("val_auc", "entropy", "dev", "mixval")},
            "seconds": time.perf_counter() - started}


def run(profile_name: str, methods, device: str, seeds) -> dict:
    profile = PROFILES[profile_name]
    runs = []
    for seed in seeds:
        for method in methods:
            record = run_one(method, seed, profile, device)
            runs.append(record)
            print(json.dumps({k: record[k] for k in ("method", "seed", "choices", "seconds")}), flush=True)
    return {"profile": profile_name, "settings": profile, "device": str(resolve_device(device)), "runs": runs,
            "decision": decide(runs)}


def decide(runs: list[dict]) -> dict:
    """The candidate from the pick seeds and the verdict of the confirm seeds, by the rule in the docstring."""
    pick = [r for r in runs if r["seed"] in PICK_SEEDS]
    candidates = [rule for rule in SELECTION_RULES if rule != "source_val"]
    means = {rule: float(np.mean([r["choices"][rule] for r in pick])) for rule in SELECTION_RULES} if pick else {}
    candidate = max(candidates, key=lambda rule: means[rule]) if pick else None
    confirm = [r for r in runs if r["seed"] in CONFIRM_SEEDS]
    verdict = {"candidate": candidate, "pick_means": means, "confirmed": False}
    if candidate is None or not confirm:
        verdict["reason"] = "no confirm seeds were run"
        return verdict
    gains = {m: [r["choices"][candidate] - r["choices"]["source_val"] for r in confirm if r["method"] == m]
             for m in dict.fromkeys(r["method"] for r in confirm)}
    wins = sum(g > 0 for values in gains.values() for g in values)
    positive = all(np.mean(values) > 0 for values in gains.values())
    verdict.update(confirm_gains={m: float(np.mean(v)) for m, v in gains.items()}, confirm_wins=int(wins),
                   confirm_pairs=sum(len(v) for v in gains.values()),
                   confirmed=bool(positive and wins >= MIN_CONFIRM_WIN_SHARE * sum(len(v) for v in gains.values())))
    per_method = ", ".join(f"{m} {np.mean(v):+.3f}" for m, v in gains.items())
    verdict["reason"] = f"paired gain over source_val on the confirm seeds {per_method}, wins {wins} of " \
                        f"{verdict['confirm_pairs']}"
    return verdict


def _mean_sd(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"


def write_markdown(results: dict, path: str) -> None:
    settings, runs, decision = results["settings"], results["runs"], results["decision"]
    methods = list(dict.fromkeys(r["method"] for r in runs))
    groups = [("pick seeds", PICK_SEEDS), ("confirm seeds", CONFIRM_SEEDS)]
    groups = [(name, seeds) for name, seeds in groups if any(r["seed"] in seeds for r in runs)]
    header = [f"{method}, {name} {[s for s in seeds if any(r['seed'] == s for r in runs)]}"
              for name, seeds in groups for method in methods]
    lines = [
        "# Choosing the epoch without target labels",
        "",
        f"Regenerate: `.venv/bin/python bench/selection.py --profile {results['profile']} --methods "
        f"{' '.join(methods)}`. Profile `{results['profile']}`: "
        f"{settings['shape']} voxels per deposit, {settings['epochs']} epochs, patch {settings['patch_size']}, "
        f"batch {settings['batch_size']}, one network per method and seed, device {results['device']}. Target AUC "
        "(mean ± sd over seeds) of the weights each rule returns; target labels are used only to score here. "
        "`last`: the last epoch; `oracle`: the best epoch by target AUC, which no rule can see.",
        "",
        "| rule | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(header),
    ]
    for rule in CHOICES:
        cells = [_mean_sd([r["choices"][rule] for r in runs if r["method"] == m and r["seed"] in seeds])
                 for _, seeds in groups for m in methods]
        label = f"{rule} ({SELECTION_LABELS[rule]})" if rule in SELECTION_LABELS else rule
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Mean epoch chosen: " + "; ".join(
        f"{m}: " + ", ".join(f"{rule} {np.mean([r['chosen_epochs'][rule] for r in runs if r['method'] == m]):.1f}"
                             for rule in runs[0]["chosen_epochs"]) for m in methods) + ".", ""]
    lines += ["## Decision", "", "Fixed before the runs: " + " ".join(__doc__.split("The decision, fixed before any "
              "run: ")[1].split("Writes")[0].split()), ""]
    if decision["candidate"] is None:
        lines.append("No pick seeds were run: nothing was decided.")
    else:
        lines.append(f"Candidate from the pick seeds: `{decision['candidate']}` (mean target AUC "
                     + ", ".join(f"{rule} {mean:.3f}" for rule, mean in decision["pick_means"].items()) + ").")
        outcome = "confirmed: it becomes the default" if decision["confirmed"] else \
            "not confirmed: the default stays `source_val`"
        lines.append(f"Confirm seeds: {decision['reason']}; {outcome}.")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0], PROFILES, METHODS, "selection", PICK_SEEDS + CONFIRM_SEEDS)
    save_results(run(args.profile, args.methods, args.device, args.seeds), args.out_dir, write_markdown)


if __name__ == "__main__":
    main()
