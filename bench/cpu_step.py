"""`make bench-cpu-step`: how fast one training step runs on this CPU, in GFLOP/s against the machine's peak, and
what thread count, the input's channels-last 3D layout and oneDNN convolutions change (issue: train at the speed
of dense prediction, item 4).

One step is what training does per step for DANN-CTA at every default (patch 9, one member): forward, backward
and the optimizer on the step's blocks (block mode) or its 3 x 128 patches (patch mode), drawn from the 20 x 64
x 64 pair. Operations are counted once per mode with torch.utils.flop_counter; each variant is timed over
--steps steps after --warm-up steps, --repeats times (the median is kept). The peak is cores x clock x 32
(two 256-bit FMA pipes, 8 float32 lanes, 2 operations each; AVX-512 on Zen 4 runs at the same rate).
Writes bench/cpu_step/results.json and results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from common import BENCH_DIR, load_plugin, save_results

load_plugin()

import torch  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.blocks import MemberBlocks, block_losses  # noqa: E402
from mpm3d.core.learning.domain import domain_labels, domain_loss  # noqa: E402
from mpm3d.core.learning.members import MemberStack, TrainingHeads  # noqa: E402
from mpm3d.core.learning.model import ProspectivityNet, config_for_method  # noqa: E402
from mpm3d.core.learning.sampling import PatchGatherer, cube_stats, padded_standardised, source_samples  # noqa: E402
from mpm3d.core.settings import DEFAULTS, TrainConfig  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

PAIR = {"shape": (20, 64, 64), "voxel_size": (40.0, 25.0, 25.0)}
VARIANTS = {  # name -> (threads, channels-last 3D input, oneDNN)
    "2 threads, channels-last 3D (as training runs)": (2, True, True),
    "2 threads, contiguous": (2, False, True),
    "1 thread, channels-last 3D": (1, True, True),
    "2 threads, channels-last 3D, oneDNN off": (2, True, False),
}


def clock_ghz() -> float:
    """The first core's clock from /proc/cpuinfo (the nominal one where the kernel reports no other)."""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) / 1000
    raise RuntimeError("no 'cpu MHz' line in /proc/cpuinfo")


class Step:
    """One mode's training step on fixed draws, in a chosen memory layout."""

    def __init__(self, mode: str, channels_last: bool) -> None:
        config = TrainConfig(device="cpu", seed=0, members=1)
        source, target = synthetic_pair(**PAIR, seed=0)
        p, batch = config.patch_size, config.batch_size
        patches = [PatchGatherer(padded_standardised(cube, cube_stats(cube), p // 2), p, torch.device("cpu"))
                   for cube in (source, target)]
        torch.manual_seed(0)
        net = ProspectivityNet(config_for_method("dann_cta", len(source.feature_names), p))
        net.channels_last_on_cpu = channels_last  # the network lays out its own input (core/learning/model.py)
        self.heads = TrainingHeads(net, None)
        self.heads.train()
        self.stack = MemberStack([self.heads])
        self.optimizer = torch.optim.AdamW(self.heads.parameters(), lr=1e-3)
        self.mode = mode
        rng = np.random.default_rng(0)
        if mode == "block":
            split = source_samples(source, config)[0]
            self.blocks = [MemberBlocks(*patches, split.train_ore, split.train_barren)]
            self.draws = [self.blocks[0].epoch_draws(rng, np.flatnonzero(source.valid), np.flatnonzero(target.valid),
                                                     64)]
        else:
            cubes = (source, source, target)  # the labelled batch, then the domain loss's source and target
            gatherers = (patches[0], patches[0], patches[1])
            self.x = torch.cat([gatherer.gather(gatherer.centre_index(rng.choice(np.flatnonzero(cube.valid), batch)))
                                for gatherer, cube in zip(gatherers, cubes, strict=True)])
            self.labels = torch.from_numpy(rng.integers(0, 2, batch).astype(np.float32))[None]
            self.domains = domain_labels(batch, 1, torch.device("cpu"))
            self.batch = batch
        self.n = 0

    def __call__(self) -> None:
        if self.mode == "block":
            label, domain, _ = block_losses(self.stack, self.blocks, self.draws, self.n % 64, 0.5)
            loss = label + domain
        else:
            label_logits, domain_logits = self.stack(self.x[None], self.batch, 0.5)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(label_logits, self.labels)
                    + domain_loss(domain_logits, self.domains)[0])
        self.optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.optimizer.step()
        self.n += 1

    def flops(self) -> int:
        with FlopCounterMode(display=False) as counter:
            self()
        return counter.get_total_flops()


def timed(step: Step, steps: int, warm_up: int) -> float:
    for _ in range(warm_up):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def write_markdown(results: dict, path: str) -> None:
    lines = ["# One training step on the CPU: GFLOP/s against the peak", "",
             f"Command: `{results['command']}`. {results['hardware']}; peak {results['peak_gflops']:.0f} GFLOP/s "
             f"({results['cores']} cores x {results['clock_ghz']:.2f} GHz x 32). DANN-CTA at every default "
             "(patch 9, batch 128), one member, 20 x 64 x 64 pair; median of the repeats.", "",
             "| mode | variant | GFLOP per step | s per step | GFLOP/s | share of peak |", "|---|---|---|---|---|---|"]
    for row in results["rows"]:
        lines.append(f"| {row['mode']} | {row['variant']} | {row['gflop']:.2f} | {row['seconds']:.4f} | "
                     f"{row['gflops']:.1f} | {row['gflops'] / results['peak_gflops']:.0%} |")
    lines += ["", f"Kept: {results['kept']}."]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", default=os.path.join(BENCH_DIR, "cpu_step"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results = {"command": "python bench/cpu_step.py", "cores": cores, "clock_ghz": clock_ghz(),
               "hardware": f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}",
               "defaults": {k: DEFAULTS[k] for k in ("patch_size", "batch_size")}, "rows": []}
    results["peak_gflops"] = cores * results["clock_ghz"] * 32
    for mode in ("block", "patch"):
        for variant, (threads, channels_last, onednn) in VARIANTS.items():
            torch.set_num_threads(threads)
            torch.backends.mkldnn.enabled = onednn
            step = Step(mode, channels_last)
            flops = step.flops()
            seconds = float(np.median([timed(step, args.steps, args.warm_up) for _ in range(args.repeats)]))
            results["rows"].append({"mode": mode, "variant": variant, "gflop": flops / 1e9, "seconds": seconds,
                                    "gflops": flops / 1e9 / seconds})
            print(results["rows"][-1], flush=True)
    torch.set_num_threads(cores)
    torch.backends.mkldnn.enabled = True
    best = {mode: max((r for r in results["rows"] if r["mode"] == mode), key=lambda r: r["gflops"])
            for mode in ("block", "patch")}
    results["kept"] = "; ".join(f"{mode}: {row['variant']} is the fastest" for mode, row in best.items())
    save_results(results, args.out_dir, write_markdown)


if __name__ == "__main__":
    main()
