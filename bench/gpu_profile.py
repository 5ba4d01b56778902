"""Where a GPU's time goes in dense prediction, and what ensemble members cost in training.

Runs on core with numpy arrays only (no GDAL, no QGIS), on a bare GPU server:
    python bench/gpu_profile.py --out gpu.json
Dense: ``predict_cube`` on a host-resident 128 x 512 x 512 x 8 cube, host array out (statistics pass
included), with every GPU choice of core.learning.predict.GPU_DENSE on, all off, and each one off alone; one and
five members; float32 against bf16; a plain valid 3D CNN of the same widths as the yardstick; the top
kernels under the profiler; and how far dense lies from one patch per voxel. Training: the full benchmark
profile's DANN-CTA with 1 member, 5 members side by side and 5 one after the other, with each one's time
and target AUC, each after an untimed one-epoch warm-up of its own kind. ``--smoke`` runs the same on tiny
shapes (and on the CPU), to check the script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from dataclasses import replace

import numpy as np
from common import load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

import torch  # noqa: E402
from mpm3d.core.data.grid import Cube, Grid  # noqa: E402
from mpm3d.core.data.synthetic import PROFILES, synthetic_pair  # noqa: E402
from mpm3d.core.learning import predict  # noqa: E402
from mpm3d.core.learning.model import ProspectivityNet, TrainedModel, config_for_method  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.results.metrics import labelled_scores, roc_auc  # noqa: E402
from mpm3d.core.settings import TrainConfig  # noqa: E402

SIZES = {
    "gpu": {"dense_shape": (128, 512, 512), "train_shape": PROFILES["bench"]["shape"], "epochs": 12,
            "batch_size": 1024, "patch_size": 9, "repeats": 3},
    "smoke": {"dense_shape": (12, 40, 36), "train_shape": (12, 24, 24), "epochs": 1, "batch_size": 32,
              "patch_size": 5, "repeats": 1},
}
N_FEATURES = 8


def _synchronise(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _best_seconds(call, repeats: int, device: str) -> float:
    """The fastest of ``repeats`` calls after one warm-up (which pays for cuDNN's autotuning and allocation)."""
    call()
    timings = []
    for _ in range(repeats):
        _synchronise(device)
        started = time.perf_counter()
        call()
        _synchronise(device)
        timings.append(time.perf_counter() - started)
    return min(timings)


def _model(n_members: int, patch_size: int) -> TrainedModel:
    """dann_cta members with random weights and non-trivial batch-norm statistics (speed does not depend on them)."""
    nets = []
    for member in range(n_members):
        torch.manual_seed(member)
        net = ProspectivityNet(config_for_method("dann_cta", N_FEATURES, patch_size))
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        nets.append(net.eval())
    stats = {"mean": [0.0] * N_FEATURES, "std": [1.0] * N_FEATURES}
    return TrainedModel("dann_cta", [f"f{i}" for i in range(N_FEATURES)], patch_size,
                        {"source": stats, "target": stats}, networks=nets)


@contextlib.contextmanager
def _choices(**switched):
    saved = dict(predict.GPU_DENSE)
    predict.GPU_DENSE.update(switched)
    try:
        yield
    finally:
        predict.GPU_DENSE.update(saved)


@contextlib.contextmanager
def _float32():
    """Prediction without bf16 autocast (and without TF32): what dense == per-patch to 1e-4 would cost."""
    saved, tf32 = predict.autocast_for, (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    predict.autocast_for = lambda device: contextlib.nullcontext()
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        predict.autocast_for = saved
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


def _yardstick(patch_size: int) -> torch.nn.Module:
    """A plain valid 3D CNN of DANN-CTA's widths (8 -> 32 -> 64 -> 64, window pooling, 1x1 head): the pace the
    hardware gives such a network."""
    shape = config_for_method("cnn", N_FEATURES, patch_size)
    layers, n_in = [], N_FEATURES
    for n_out in shape.channels[:shape.n_conv]:
        layers += [torch.nn.Conv3d(n_in, n_out, 3), torch.nn.ReLU(inplace=True)]
        n_in = n_out
    return torch.nn.Sequential(*layers, torch.nn.AvgPool3d(shape.pool_window, stride=1),
                               torch.nn.Conv3d(n_in, 1, 1)).eval()


def _yardstick_seconds(features: np.ndarray, patch_size: int, device: str, repeats: int, layout) -> float:
    """The yardstick over the whole cube, already standardised and on the device, in the tiles prediction uses."""
    net = _yardstick(patch_size).to(device, memory_format=layout)
    half = patch_size // 2
    cube = torch.from_numpy(features).to(device)
    n_levels, n_rows, n_cols = cube.shape[1:]
    depth = max(1, min(n_levels, predict.CHUNK_VOXELS[device] // (n_rows * n_cols)))
    padded = torch.nn.functional.pad(cube, (half,) * 6)

    def run():
        with torch.inference_mode(), predict.autocast_for(torch.device(device)):
            for z0 in range(0, n_levels, depth):
                z1 = min(z0 + depth, n_levels)
                tile = padded[None, :, z0:z1 + 2 * half].contiguous(memory_format=layout)
                net(tile)

    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device == "cuda"
    try:
        return _best_seconds(run, repeats, device)
    finally:
        torch.backends.cudnn.benchmark = previous


def _profile_table(model, cube, device: str) -> str:
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities) as recorded:
        predict.predict_cube(model, cube, device=device)
        _synchronise(device)
    key = "self_cuda_time_total" if device == "cuda" else "self_cpu_time_total"
    return recorded.key_averages().table(sort_by=key, row_limit=25)


def dense(size: dict, device: str, report: dict, out: str | None, every_choice: bool = True) -> None:
    shape, patch_size, repeats = size["dense_shape"], size["patch_size"], size["repeats"]
    voxels = int(np.prod(shape))
    features = np.random.default_rng(0).standard_normal((N_FEATURES, *shape), dtype=np.float32)
    grid = Grid("EPSG:4528", np.arange(shape[2]) * 25.0, -np.arange(shape[1]) * 25.0, -np.arange(shape[0]) * 25.0)
    cube = Cube(grid, features, [f"f{i}" for i in range(N_FEATURES)])
    rows = report.setdefault("dense", [])

    def timed(name: str, model, **switched) -> None:
        with _choices(**switched):
            seconds = _best_seconds(lambda: predict.predict_cube(model, cube, device=device), repeats, device)
        rows.append({"variant": name, "members": model.n_members, "seconds": seconds,
                     "voxels_per_s": voxels / seconds})
        print(json.dumps(rows[-1]), flush=True)
        _save(report, out)

    one, five = _model(1, patch_size), _model(5, patch_size)
    timed("defaults", one)
    timed("defaults", five)
    if every_choice:
        everything_off = {choice: False for choice in predict.GPU_DENSE}
        timed("all choices off (the earlier path, less its per-tile copies)", one, **everything_off)
        for choice, default in predict.GPU_DENSE.items():
            timed(f"{choice} {'off' if default else 'on'}", one, **{choice: not default})
        timed("all choices off", five, **everything_off)
        with _float32():
            timed("defaults, float32 (no bf16, no TF32)", one)
    layouts = (("channels-last", torch.channels_last_3d), ("contiguous", torch.contiguous_format))
    for layout_name, layout in layouts if every_choice else layouts[1:]:
        seconds = _yardstick_seconds(features, patch_size, device, repeats, layout)
        rows.append({"variant": f"yardstick: plain CNN forward only, cube on the device, {layout_name}",
                     "members": 1, "seconds": seconds, "voxels_per_s": voxels / seconds})
        print(json.dumps(rows[-1]), flush=True)
    _save(report, out)
    if not every_choice:
        return
    try:
        report["dense_profile"] = _profile_table(one, cube, device)
    except Exception as exc:  # the profiler needs CUPTI, which some machines lack: say so and go on
        report["dense_profile"] = f"profiler unavailable: {exc!r}"
    print(report["dense_profile"], flush=True)
    _save(report, out)


def _auc(probability: np.ndarray, label: np.ndarray) -> float:
    return float(roc_auc(*labelled_scores(probability, label)))


TRAINING_RUNS = {"one": ("1 member", 1, None), "together": ("5 members side by side", 5, True),
                 "one_by_one": ("5 members one after the other", 5, False)}


@contextlib.contextmanager
def _stopwatch(spent: dict):
    """Seconds spent in the epoch's scoring, by score, and in all of it (the training steps are the rest)."""
    from mpm3d.core.learning import selection_scores
    from mpm3d.core.learning import training as train_module
    saved = {}
    for module, name in ((train_module, "epoch_scores"), (selection_scores, "outputs_at"),
                         (selection_scores, "_mixval"), (selection_scores, "deep_embedded_validation")):
        original = saved[module, name] = getattr(module, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            _synchronise(str(args[-1]) if _name != "deep_embedded_validation" else "cpu")
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)
    try:
        yield
    finally:
        for (module, name), original in saved.items():
            setattr(module, name, original)


def training(size: dict, device: str, report: dict, out: str | None, runs=tuple(TRAINING_RUNS)) -> None:
    source, target = synthetic_pair(shape=size["train_shape"], seed=0)
    label, target.label = target.label, None
    rows = report.setdefault("training", [])
    models = {}
    for name, members, together in (TRAINING_RUNS[run] for run in runs):
        config = TrainConfig(method="dann_cta", epochs=size["epochs"], batch_size=size["batch_size"],
                             patch_size=size["patch_size"], device=device, seed=0, members=members,
                             members_together=together)
        warm_up = time.perf_counter()  # untimed: the process's first CUDA work and the kind's first kernels
        train(source, target, replace(config, epochs=1))
        report.setdefault("training_warm_up_seconds", {})[name] = time.perf_counter() - warm_up
        spent = {}
        _synchronise(device)
        started = time.perf_counter()
        with _stopwatch(spent):
            result = train(source, target, config)
        _synchronise(device)
        seconds = time.perf_counter() - started
        mean = predict.predict_cube(result.model, target, device=device)
        members_auc = [_auc(predict.predict_cube(TrainedModel(
            "dann_cta", result.model.feature_names, result.model.patch_size, result.model.normalisation,
            networks=[net]), target, device=device), label) for net in result.model.networks]
        rows.append({"run": name, "members": members, "seconds": seconds, "target_auc": _auc(mean, label),
                     "member_target_aucs": members_auc, "best_epochs": [m.best_epoch for m in result.members],
                     "patches_per_s_last_epoch": [m.history[-1]["patches_per_s"] for m in result.members],
                     "epochs": config.epochs, "seconds_scoring": spent})
        models[name] = result.model
        print(json.dumps(rows[-1]), flush=True)
        _save(report, out)
    accuracy(models["1 member"], target, device, report)
    _save(report, out)


def accuracy(model: TrainedModel, target: Cube, device: str, report: dict) -> None:
    """How far the GPU's dense map lies from one patch per voxel (on the GPU) and from the CPU's float32 map."""
    rng = np.random.default_rng(1)
    indices = np.argwhere(target.valid)
    indices = indices[rng.choice(len(indices), min(4096, len(indices)), replace=False)]
    dense_gpu = predict.predict_cube(model, target, device=device)
    at = tuple(indices.T)
    with _float32():
        dense_gpu32 = predict.predict_cube(model, target, device=device)
        patches_gpu32 = predict.predict_patches(model, target, indices, device=device)
    dense_cpu = predict.predict_cube(model, target, device="cpu")
    report["accuracy"] = {
        "voxels_checked": len(indices),
        "bf16_dense_vs_bf16_patches": float(np.nanmax(np.abs(
            dense_gpu[at] - predict.predict_patches(model, target, indices, device=device)))),
        "bf16_dense_vs_cpu_float32_dense": float(np.nanmax(np.abs(dense_gpu - dense_cpu))),
        "float32_dense_vs_float32_patches": float(np.nanmax(np.abs(dense_gpu32[at] - patches_gpu32))),
        "float32_dense_vs_cpu_float32_dense": float(np.nanmax(np.abs(dense_gpu32 - dense_cpu))),
    }
    print(json.dumps(report["accuracy"]), flush=True)


def _save(report: dict, out: str | None) -> None:
    if out:
        with open(out, "w") as handle:
            json.dump(report, handle, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, to check the script")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--parts", nargs="+", default=["dense", "training"], choices=["dense", "training"])
    parser.add_argument("--training-runs", nargs="+", default=list(TRAINING_RUNS), choices=list(TRAINING_RUNS))
    parser.add_argument("--epochs", type=int, help="instead of the size's (a shorter training measurement)")
    parser.add_argument("--dense-variants", choices=["all", "defaults"], default="all",
                        help="every choice on and off, or the defaults alone (one and five members)")
    parser.add_argument("--out")
    args = parser.parse_args()
    size = dict(SIZES["smoke" if args.smoke else "gpu"], **({"epochs": args.epochs} if args.epochs else {}))
    report = {"device": args.device, "torch": torch.__version__, "numpy": np.__version__,
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "sizes": size}
    if "dense" in args.parts:
        dense(size, args.device, report, args.out, every_choice=args.dense_variants == "all")
    if "training" in args.parts:
        training(size, args.device, report, args.out, args.training_runs)
    _save(report, args.out)


if __name__ == "__main__":
    main()
