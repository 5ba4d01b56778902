"""Real-size benchmark: the whole chain through the QGIS algorithms on a deposit pair of the synthetic "size"
profile (100 x 500 x 500 = 25 million voxels per deposit, 8 features), with wall time and peak memory per stage.

generate the depth slices -> stack source (with labels) and target from the GeoTIFF slices -> train (with the
samples-per-epoch budget) -> predict the target (cube and level rasters) -> evaluate against the target's labels
-> extract exploration targets. Each stage is one ``qgis_process run``; its peak memory is the largest resident
set (VmHWM) of the QGIS process and of any process it starts (the worker), read from /proc while it runs.
Results: bench/size/results.json and results.md, with the machine they ran on. ``--shape`` tries a small size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from common import load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

import qgis_process  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES  # noqa: E402
from mpm3d.core.settings import DEFAULTS, METHODS  # noqa: E402

POLL_S = 0.2


def _status(pid: int, key: str) -> int | None:
    """A /proc/<pid>/status figure in bytes (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_stage(name: str, algorithm: str, parameters: dict, profile: str) -> tuple[dict, dict]:
    """One algorithm through qgis_process: (its results, the stage's time and peak memory)."""
    command = [qgis_process.qgis_process_command(), "--json", "run", f"mpm3d:{algorithm}", "--",
               *qgis_process.parameter_arguments(parameters)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=qgis_process.environment(profile), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peaks = {"qgis": 0, "worker": 0}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peaks["qgis"] = max(peaks["qgis"], _status(process.pid, "VmHWM:") or 0)
            for child in _children(process.pid):
                peaks["worker"] = max(peaks["worker"], _status(child, "VmHWM:") or 0)
            stop.wait(POLL_S)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate()
    stop.set()
    watcher.join()
    seconds = time.perf_counter() - started
    try:
        results = json.loads(stdout[stdout.index("{"):])["results"]
    except (ValueError, KeyError):
        sys.exit(f"{algorithm} failed ({process.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    record = {"stage": name, "algorithm": algorithm, "seconds": round(seconds, 1),
              "qgis_peak_rss_mb": round(peaks["qgis"] / 2**20), "worker_peak_rss_mb": round(peaks["worker"] / 2**20)}
    print(f"  {name:<16} {seconds:8.1f} s  QGIS {record['qgis_peak_rss_mb']:6d} MB  worker "
          f"{record['worker_peak_rss_mb']:6d} MB", flush=True)
    return results, record


def machine() -> dict:
    import torch

    memory = None
    try:
        with open("/proc/meminfo") as handle:
            memory = round(int(handle.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gb": memory, "torch": torch.__version__,
            "python": platform.python_version(), "system": f"{platform.system()} {platform.machine()}, {cpu}",
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def training_figures(model_path: str) -> dict:
    """The trained model's own account: epochs, seconds and training rate per epoch."""
    from mpm3d.core.learning.modelfile import load_model

    history = load_model(model_path).provenance["history"]
    return {"epoch_seconds": [round(h["seconds"], 1) for h in history],
            "patches_per_s": [round(h["patches_per_s"]) for h in history if h.get("patches_per_s")]}


def main() -> None:
    size = PROFILES["size"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="x".join(map(str, size["shape"])), help="levels x rows x columns")
    parser.add_argument("--cell-size", type=float, default=size["voxel_size"][1], help="metres")
    parser.add_argument("--level-spacing", type=float, default=size["voxel_size"][0], help="metres")
    parser.add_argument("--method", choices=METHODS, default=DEFAULTS["method"])
    parser.add_argument("--epochs", type=int, default=2, help="the time of more epochs is epoch time x epochs")
    parser.add_argument("--members", type=int, default=1, help="ensemble members (each costs one training)")
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])
    parser.add_argument("--samples-per-epoch", type=int, default=DEFAULTS["samples_per_epoch"])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "bench-size"),
                        help="folder for the slices, cubes and maps (deleted first; about 4 GB at full size)")
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "size"))
    parser.add_argument("--note", default="", help="conditions of the run, written with the results (e.g. a shared "
                                                   "machine)")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    profile = qgis_process.isolated_profile(os.path.join(work, "qgis-profile"))
    print(f"mpm3d size benchmark: {shape[0]} x {shape[1]} x {shape[2]} = {shape[0] * shape[1] * shape[2]:,} voxels "
          f"per deposit, in {work}", flush=True)
    stages = []

    def stage(name, algorithm, parameters):
        results, record = run_stage(name, algorithm, parameters, profile)
        stages.append(record)
        return results

    started = time.perf_counter()
    data = stage("generate", "generate_synthetic_pair", {
        "LEVELS": shape[0], "ROWS": shape[1], "COLUMNS": shape[2], "CELL_SIZE": args.cell_size,
        "LEVEL_SPACING": args.level_spacing, "SEED": 0, "OUTPUT_FOLDER": os.path.join(work, "slices")})
    source = stage("stack source", "stack_slices", {"EVIDENCE": data["SOURCE_EVIDENCE"],
                                                    "LABELS": data["SOURCE_LABELS"],
                                                    "OUTPUT": os.path.join(work, "source.nc")})["OUTPUT"]
    target = stage("stack target", "stack_slices", {"EVIDENCE": data["TARGET_EVIDENCE"],
                                                    "OUTPUT": os.path.join(work, "target.nc")})["OUTPUT"]
    model = stage("train", "train_model", {
        "SOURCE": source, "TARGET": target, "METHOD": METHODS.index(args.method), "EPOCHS": args.epochs,
        "PATCH_SIZE": args.patch_size, "SAMPLES_PER_EPOCH": args.samples_per_epoch, "ENSEMBLE_MEMBERS": args.members,
        "DEVICE": ("auto", "cuda", "cpu").index(args.device), "SEED": 0,
        "OUTPUT_MODEL": os.path.join(work, "model.safetensors"),
        "OUTPUT_REPORT": os.path.join(work, "training_report.html")})
    predicted = stage("predict", "predict_prospectivity", {
        "MODEL": model["OUTPUT_MODEL"], "CUBE": target, "DEVICE": ("auto", "cuda", "cpu").index(args.device),
        "OUTPUT_CUBE": os.path.join(work, "prospectivity.nc"), "OUTPUT_FOLDER": os.path.join(work, "levels")})
    scored = stage("evaluate", "evaluate_prospectivity", {
        "PROSPECTIVITY": predicted["OUTPUT_CUBE"], "LABEL_SLICES": data["TARGET_LABELS"],
        "OUTPUT_REPORT": os.path.join(work, "evaluation_report.html"),
        "OUTPUT_JSON": os.path.join(work, "metrics.json")})
    targets = stage("targets", "extract_targets", {
        "PROSPECTIVITY": predicted["OUTPUT_CUBE"], "CUT_BY": 0, "TOP_PERCENT": 5, "MIN_VOXELS": 5,
        "OUTPUT": os.path.join(work, "exploration_targets.gpkg"),
        "OUTPUT_FOOTPRINTS": os.path.join(work, "exploration_target_footprints.gpkg")})
    results = {"shape": list(shape), "voxels_per_deposit": shape[0] * shape[1] * shape[2], "features": 8,
               "voxel_size_m": [args.level_spacing, args.cell_size, args.cell_size],
               "training": {"method": args.method, "epochs": args.epochs, "members": args.members,
                            "patch_size": args.patch_size, "samples_per_epoch": args.samples_per_epoch,
                            "device": model.get("DEVICE_USED", args.device), **training_figures(model["OUTPUT_MODEL"])},
               "target_auc": scored.get("AUC"), "targets": targets.get("TARGETS"),
               "total_seconds": round(time.perf_counter() - started, 1), "stages": stages, "machine": machine(),
               "note": args.note}
    os.makedirs(args.out_dir, exist_ok=True)
    name = "results" if shape == tuple(PROFILES["size"]["shape"]) else f"results_{'x'.join(map(str, shape))}"
    with open(os.path.join(args.out_dir, f"{name}.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    write_markdown(results, os.path.join(args.out_dir, f"{name}.md"))
    print(f"{args.out_dir}/{name}.md")


def write_markdown(results: dict, path: str) -> None:
    shape, train, box = results["shape"], results["training"], results["machine"]
    lines = [f"# Real-size chain: {shape[0]} x {shape[1]} x {shape[2]} = {results['voxels_per_deposit']:,} voxels "
             f"per deposit, {results['features']} features", "",
             f"Machine: {box['cpus']} CPUs, {box['memory_gb']} GB, torch {box['torch']}, {box['system']}"
             + (f", GPU {box['cuda']}" if box["cuda"] else "") + (f". {results['note']}" if results["note"] else ""),
             "",
             f"Training: {train['method']}, {train['epochs']} epochs of at most {train['samples_per_epoch']:,} "
             f"samples, {train['members']} member(s), patch {train['patch_size']}, on {train['device']}; seconds per "
             f"epoch {train['epoch_seconds']}, patches/s {train['patches_per_s']}. Target AUC "
             f"{results['target_auc']:.3f}, {results['targets']} exploration targets.", "",
             "| stage | algorithm | time (s) | peak RSS, QGIS (MB) | peak RSS, worker (MB) |",
             "|---|---|---:|---:|---:|"]
    for s in results["stages"]:
        lines.append(f"| {s['stage']} | {s['algorithm']} | {s['seconds']:.1f} | {s['qgis_peak_rss_mb']} | "
                     f"{s['worker_peak_rss_mb']} |")
    lines += [f"| all | | {results['total_seconds']:.1f} | | |", "",
              "Produced by `make bench-size` (`.venv/bin/python bench/size.py`).", ""]
    with open(path, "w") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    main()
