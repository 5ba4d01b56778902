"""Throughput of training (patches/s) and dense prediction (voxels/s), CPU or CUDA (bf16 on CUDA).

Runs on core with numpy arrays only (no GDAL, no QGIS), so it also runs on a bare GPU server:
    python bench/throughput.py --device cuda --train-shape 64x128x128 --dense-shape 128x512x512
Prints one JSON object and writes it to --out when given.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import AS_MEASURED, load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from mpm3d.core.data.grid import Cube, Grid  # noqa: E402
from mpm3d.core.data.synthetic import synthetic_pair  # noqa: E402
from mpm3d.core.learning.training import train  # noqa: E402
from mpm3d.core.settings import DEFAULTS, TrainConfig  # noqa: E402


def _shape(text: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in text.split("x"))


def training_throughput(shape, device: str, method: str, patch_size: int, batch_size: int, epochs: int):
    """Numbers of a short real training run, and the model it made (for the dense timing)."""
    source, target = synthetic_pair(shape=shape, seed=0)
    config = TrainConfig(members=1, method=method, patch_size=patch_size, batch_size=batch_size, epochs=epochs,
                         device=device, seed=0, **AS_MEASURED)
    started = time.perf_counter()
    result = train(source, target, config)
    rates = [h["patches_per_s"] for h in result.history]
    return {"method": method, "patch_size": patch_size, "batch_size": f"{batch_size} + {batch_size}",
            "shape": list(shape), "epochs": epochs, "patches_per_s_last_epoch": rates[-1],
            "patches_per_s_all_epochs": rates, "seconds": time.perf_counter() - started,
            "val_auc": result.val_auc}, result.model


def dense_throughput(model, shape, device: str, repeats: int = 2) -> dict:
    """A random cube with the model's features: the speed does not depend on the values."""
    from mpm3d.core.learning.predict import predict_cube

    rng = np.random.default_rng(0)
    n_features = len(model.feature_names)
    features = rng.standard_normal((n_features, *shape), dtype=np.float32)
    grid = Grid("EPSG:4528", np.arange(shape[2]) * 25.0, -np.arange(shape[1]) * 25.0, -np.arange(shape[0]) * 25.0)
    cube = Cube(grid, features, list(model.feature_names))
    timings = []  # the best of the repeats: the first one also pays for cuDNN autotuning and allocation
    for _ in range(repeats):
        started = time.perf_counter()
        predict_cube(model, cube, device=device)
        timings.append(time.perf_counter() - started)
    voxels = int(np.prod(shape))
    return {"shape": list(shape), "features": n_features, "seconds": min(timings),
            "voxels_per_s": voxels / min(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-shape", type=_shape, default=(24, 64, 64))
    parser.add_argument("--dense-shape", type=_shape, default=(32, 128, 128))
    parser.add_argument("--patch-size", type=int, default=DEFAULTS["patch_size"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=["dann_cta", "cnn"])
    parser.add_argument("--out")
    args = parser.parse_args()
    import torch

    report = {"device": args.device, "torch": torch.__version__, "numpy": np.__version__,
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "cpu_threads": torch.get_num_threads(), "training": [], "dense": []}
    for method in args.methods:
        numbers, model = training_throughput(args.train_shape, args.device, method, args.patch_size,
                                             args.batch_size, args.epochs)
        report["training"].append(numbers)
        print(json.dumps(numbers), flush=True)
        dense = {"method": method, **dense_throughput(model, args.dense_shape, args.device)}
        report["dense"].append(dense)
        print(json.dumps(dense), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
