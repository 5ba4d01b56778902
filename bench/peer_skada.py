"""Peer row of the benchmark: skada's DANN (an independent implementation) on the same patches.

Runs in its own virtual environment (bench/requirements-peer.txt: skada needs a newer scikit-learn
and pandas than Debian's, which QGIS's Python uses). `bench/run.py` writes the job file and reads
the answer; target labels never reach this process.

Input (.npz): both cubes' evidence and valid masks, the labelled source voxels of one training
epoch (our spatial-block split and class balance), as many uniformly drawn target voxels, the
source validation voxels, the voxels whose embeddings the benchmark compares, and the settings.
Output (.npz): target ore probability per voxel (NaN off the valid mask), validation scores, the
embeddings, and the training time.

What is ours and what is skada's: ours are the standardisation (each deposit by its own
statistics, as for every method, unless the job says otherwise), the patches and the feature
extractor (the `cnn` network, so only the adaptation differs). skada's are the gradient reversal
(fixed weight 1), the domain classifier (its default, with one fix, below), the domain loss, the
domain-balanced batches and the training loop. The optimiser, learning rate, batch size and epochs
are the plugin's, because skorch's default (SGD at 0.01) does not train in this few steps.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import load_plugin  # noqa: E402
from skada.deep import DANN
from skada.deep.modules import DomainClassifier
from torch import nn

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from mpm3d.core.data.grid import Cube, Grid  # noqa: E402
from mpm3d.core.learning.model import ProspectivityNet, config_for_method  # noqa: E402
from mpm3d.core.learning.sampling import PatchGatherer, cube_stats, padded_standardised  # noqa: E402

SOURCE_DOMAIN, TARGET_DOMAIN = 1, -2  # skada's convention: sources positive, targets negative
PREDICT_BATCH = 2048


class _Embedding(nn.Module):
    """The plugin's cnn feature extractor as a module, so skada can hook its output by name."""

    def __init__(self, net: ProspectivityNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x).flatten(1)


class PatchClassifier(nn.Module):
    """Feature extractor + a two-class head, the shape skada's classifier criterion expects."""

    def __init__(self, n_features: int, patch_size: int) -> None:
        super().__init__()
        net = ProspectivityNet(config_for_method("cnn", n_features, patch_size))
        net.label_head = None  # replaced by the two-class head below
        self.embedding = _Embedding(net)
        n = net.config.n_embedding
        self.classifier = nn.Sequential(nn.Linear(n, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x: torch.Tensor, sample_weight=None) -> torch.Tensor:
        return self.classifier(self.embedding(x))


def learnable_domain_classifier(n_features: int) -> nn.Module:
    """skada's default domain classifier, whose last layer is a Softmax over its one output.

    A softmax over one logit is 1 whatever the input, so the domain loss is constant, no gradient
    reaches the feature extractor and the default DANN does no adaptation. A Sigmoid gives the
    probability its BCE domain loss expects; everything else is skada's.
    """
    classifier = DomainClassifier(num_features=n_features)
    if not isinstance(classifier.classifier[-1], nn.Softmax):
        raise RuntimeError("skada's DomainClassifier changed; check whether the Softmax fix is still needed")
    classifier.classifier[-1] = nn.Sigmoid()
    return classifier


def _cube(features: np.ndarray) -> Cube:
    """Only evidence is needed here; the grid coordinates are placeholders."""
    _, nz, ny, nx = features.shape
    grid = Grid(crs="", x=np.arange(nx, dtype=float), y=-np.arange(ny, dtype=float), z=-np.arange(nz, dtype=float))
    return Cube(grid=grid, features=features, feature_names=[f"f{i}" for i in range(len(features))], label=None)


def _patches(gatherer: PatchGatherer, voxels: np.ndarray) -> np.ndarray:
    return gatherer.gather(gatherer.centre_index(voxels)).cpu().numpy()


def run(job: dict, device: str) -> dict:
    torch.manual_seed(int(job["seed"]))
    patch_size = int(job["patch_size"])
    half = patch_size // 2
    source, target = _cube(job["source_features"]), _cube(job["target_features"])
    stats = {"source": cube_stats(source)}
    stats["target"] = stats["source"] if str(job["target_normalisation"]) == "source" else cube_stats(target)
    gatherers = {name: PatchGatherer(padded_standardised(cube, stats[name], half), patch_size, torch.device("cpu"))
                 for name, cube in (("source", source), ("target", target))}
    x_source = _patches(gatherers["source"], job["train_voxels"])
    x_target = _patches(gatherers["target"], job["target_voxels"])
    x = np.concatenate([x_source, x_target]).astype(np.float32)
    y = np.concatenate([job["train_labels"].astype(np.int64), np.full(len(x_target), -1)])  # -1: no label
    domain = np.concatenate([np.full(len(x_source), SOURCE_DOMAIN), np.full(len(x_target), TARGET_DOMAIN)])

    backbone = PatchClassifier(len(job["source_features"]), patch_size)
    n_embedding = backbone.classifier[0].in_features
    model = DANN(
        backbone,
        layer_name="embedding",
        reg=1.0,
        domain_classifier=learnable_domain_classifier(n_embedding),
        batch_size=int(job["batch_size"]),
        max_epochs=int(job["epochs"]),
        optimizer=torch.optim.AdamW,
        lr=float(job["learning_rate"]),
        train_split=None,
        device=device,
        verbose=0,
    )
    started = time.perf_counter()
    model.fit(x, y, sample_domain=domain)
    train_s = time.perf_counter() - started

    def ore_probability(name: str, voxels: np.ndarray) -> np.ndarray:
        scores = []
        for start in range(0, len(voxels), PREDICT_BATCH):
            patches = _patches(gatherers[name], voxels[start:start + PREDICT_BATCH])
            scores.append(model.predict_proba(patches, sample_domain=np.full(len(patches), TARGET_DOMAIN))[:, 1])
        return np.concatenate(scores) if scores else np.zeros(0)

    target_valid = job["target_valid"]
    probability = np.full(target_valid.shape, np.nan, np.float32)
    probability.ravel()[np.flatnonzero(target_valid)] = ore_probability("target", np.flatnonzero(target_valid))

    def embeddings(name: str, voxels: np.ndarray) -> np.ndarray:
        patches = _patches(gatherers[name], voxels)
        return model.predict_features(torch.from_numpy(patches)).reshape(len(voxels), -1)

    return {
        "probability": probability,
        "val_scores": ore_probability("source", job["val_voxels"]),
        "embedding_source": embeddings("source", job["embedding_source_voxels"]),
        "embedding_target": embeddings("target", job["embedding_target_voxels"]),
        "train_s": np.float64(train_s),
        "patches_per_s": np.float64(2 * len(x_source) * int(job["epochs"]) / train_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help=".npz written by bench/run.py")
    parser.add_argument("answer", help=".npz to write")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with np.load(args.job) as data:
        job = {key: data[key] for key in data.files}
    np.savez(args.answer, **run(job, args.device))


if __name__ == "__main__":
    main()
