"""Reading a block-model CSV: blocks per second and peak memory against file size -> bench/blockmodel/results.md.

Writes a dense CSV of N blocks (x, y, z and five float32 attributes, as a modelling package exports them), then
imports it into a cube file in a fresh process per size (the job 'Import block model' runs), timing it and taking
that process's peak resident memory from the operating system. The goal: >= 2 M blocks/s and a peak of at most
twice the cube's own size (features x voxels x 4 bytes) on 2 cores.

    python bench/blockmodel.py --blocks 1000000 25000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import BENCH_DIR, load_plugin

FEATURES = 5
ROWS_PER_WRITE = 1_000_000


def write_model(path: str, blocks: int) -> tuple[int, int, int]:
    """A dense model of about ``blocks`` blocks of 10 x 10 x 5 m on a 200 x 200 grid of columns."""
    nx = ny = min(200, int(round(blocks ** (1 / 3))) or 1)
    nz = max(3, -(-blocks // (nx * ny)))
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("XC,YC,ZC," + ",".join(f"f{i}" for i in range(FEATURES)) + "\n")
        for start in range(0, nx * ny * nz, ROWS_PER_WRITE):
            index = np.arange(start, min(start + ROWS_PER_WRITE, nx * ny * nz))
            columns = [500005.0 + 10 * (index % nx), 4000005.0 + 10 * ((index // nx) % ny),
                       -2.5 - 5 * (index // (nx * ny))]
            values = rng.random((len(index), FEATURES)).astype(np.float32)
            np.savetxt(handle, np.column_stack(columns + [values]), fmt=["%.1f"] * 3 + ["%.7g"] * FEATURES,
                       delimiter=",")
    return nz, ny, nx


def measure(path: str, shape: tuple[int, int, int]) -> dict:
    """Import in a child process: its seconds and its peak RSS (wait4's rusage is that process's alone)."""
    child = subprocess.Popen([sys.executable, __file__, "--child", path], stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"the import failed: {output}")
    seconds = json.loads(output.strip().splitlines()[-1])["seconds"]
    blocks = int(np.prod(shape))
    cube_bytes = FEATURES * blocks * 4
    peak = usage.ru_maxrss * 1024
    return {"blocks": blocks, "file_bytes": os.path.getsize(path), "seconds": seconds,
            "blocks_per_s": blocks / seconds, "peak_rss_bytes": peak, "cube_bytes": cube_bytes,
            "peak_over_cube": peak / cube_bytes}


def child(path: str) -> None:
    load_plugin()
    from mpm3d.core import jobs
    from mpm3d.core.data.blockmodel import BlockOptions

    out = path[:-4] + ".nc"
    started = time.perf_counter()
    jobs.import_blocks(path, out, BlockOptions(crs="EPSG:32650"))
    print(json.dumps({"seconds": time.perf_counter() - started}))


def baseline_rss() -> int:
    """Peak RSS of a process that only loads the plugin, numpy and GDAL: what no import can go below."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from common import load_plugin; load_plugin(); "
            "import mpm3d.core.jobs, mpm3d.core.data.cubefile as c; c.gdal_modules()")
    process = subprocess.Popen([sys.executable, "-c", code, BENCH_DIR])
    return os.wait4(process.pid, 0)[2].ru_maxrss * 1024


def markdown(results: dict) -> str:
    lines = ["# Reading a block-model CSV", "", f"Command: `{results['command']}`; {results['cores']} CPU cores. "
             "A dense model, x, y, z and 5 float32 attributes per block; one fresh process per size, peak RSS from "
             "the operating system. Goal: >= 2 M blocks/s, peak RSS <= 2x the cube (5 features x blocks x 4 bytes).",
             "", f"A process that only loads the plugin, numpy and GDAL peaks at {results['baseline_rss_mb']:.0f} MB.",
             "", "| blocks | file MB | s | blocks/s | peak RSS MB | cube MB | peak / cube |",
             "|---|---|---|---|---|---|---|"]
    for row in results["runs"]:
        lines.append(f"| {row['blocks']:,} | {row['file_bytes'] / 1e6:.0f} | {row['seconds']:.1f} | "
                     f"{row['blocks_per_s'] / 1e6:.2f} M | {row['peak_rss_bytes'] / 1e6:.0f} | "
                     f"{row['cube_bytes'] / 1e6:.0f} | {row['peak_over_cube']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--out-dir", default=os.path.join(BENCH_DIR, "blockmodel"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    runs = []
    with tempfile.TemporaryDirectory(prefix="mpm3d_blocks_") as folder:
        for blocks in args.blocks:
            path = os.path.join(folder, f"model_{blocks}.csv")
            shape = write_model(path, blocks)
            runs.append(measure(path, shape))
            print(json.dumps(runs[-1]), flush=True)
            os.remove(path)
    results = {"command": "python bench/blockmodel.py --blocks " + " ".join(map(str, args.blocks)),
               "cores": os.cpu_count(), "baseline_rss_mb": baseline_rss() / 1e6, "runs": runs}
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    with open(os.path.join(args.out_dir, "results.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(results))


if __name__ == "__main__":
    main()
