"""The feature gate made visible: how much weight the triple attention gives each evidence layer, and where.

The gate (core.learning.model.FeatureGate) is a per-voxel squeeze-excitation over the evidence layers: a weight in
(0, 1) per layer and voxel that scales the layer before the first convolution. It reads the voxel alone, so its
weights over a cube come from one pass over the voxels, slab by slab, with no halo. An ensemble's weights are its
members' mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..data.grid import LABEL_BARREN, LABEL_ORE, Cube
from ..errors import Mpm3dError
from .model import TrainedModel, resolve_device
from .sampling import FeatureStats, SlabSource, cube_slab_reader, standardise

GATE_VOXELS = 1_000_000  # voxels gated at once


def has_feature_gate(model: TrainedModel) -> bool:
    """Whether the model weighs its evidence layers (dann_cta and cta; not dann, cnn or the forest)."""
    return bool(model.networks) and all(net.feature_gate is not None for net in model.networks)


def gate_weights(
    model: TrainedModel,
    source: SlabSource,
    stats: FeatureStats,
    device: str = "cpu",
    on_progress: Callable[[dict], None] | None = None,
) -> np.ndarray:
    """The gate's weight (F, Z, Y, X) float32 of each layer at each voxel, NaN where the evidence is nodata.

    ``source`` is the evidence as the model reads it (through its input alignment), ``stats`` its standardisation.
    """
    if not has_feature_gate(model):
        raise Mpm3dError(f"a {model.method} model has no feature gate (feature attention): only DANN-CTA and CTA "
                         "models weigh their evidence layers; predict without the gate weights (GATE_WEIGHTS)")
    torch_device = resolve_device(device)
    gates = [net.feature_gate.to(torch_device).eval() for net in model.networks]
    n_levels, n_rows, n_cols = source.shape
    out = np.full((len(source.feature_names), *source.shape), np.nan, dtype=np.float32)
    depth = max(1, GATE_VOXELS // (n_rows * n_cols))
    with torch.inference_mode():
        for z0 in range(0, n_levels, depth):
            z1 = min(z0 + depth, n_levels)
            slab = np.asarray(source.read_slab(z0, z1), dtype=np.float32)
            x = torch.from_numpy(standardise(slab, stats))[None].to(torch_device)
            weights = torch.stack([gate.weights(x)[0] for gate in gates])
            valid = np.all(np.isfinite(slab), axis=0)
            out[:, z0:z1] = np.where(valid, weights.mean(dim=0).cpu().numpy(), np.nan)
            if on_progress is not None:
                on_progress({"stage": "gate", "done": z1, "total": n_levels})
    return out


def gate_summary(model: TrainedModel, source: Cube, target: Cube, device: str = "cpu") -> dict | None:
    """The gate's mean weight per layer over the source's ore, its barren ground and the target, as plain JSON.

    ``target`` is the target as training saw it (through the input alignment); its labels are never read. None
    for a model without a feature gate. Each figure is the members' mean of the voxels' mean; "sd" is the
    members' spread of it.
    """
    if not has_feature_gate(model):
        return None
    regions = {}
    for name, cube, role in (("source", source, "source"), ("target", target, "target")):
        stats = FeatureStats.from_dict(model.normalisation[role])
        weights = [gate_weights(_single(model, k), SlabSource(cube_slab_reader(cube), cube.grid.shape,
                                                              list(cube.feature_names)), stats, device)
                   for k in range(len(model.networks))]
        if name == "source":
            label = source.label if source.label is not None else np.full(source.grid.shape, -1)
            regions["source_ore"] = [w[:, label == LABEL_ORE] for w in weights]
            regions["source_barren"] = [w[:, label == LABEL_BARREN] for w in weights]
        else:
            regions["target"] = [w[:, cube.valid] for w in weights]
    summary: dict = {"layers": list(model.feature_names), "members": len(model.networks)}
    for region, per_member in regions.items():
        means = np.array([np.nanmean(w, axis=1) if w.shape[1] else np.full(len(w), np.nan) for w in per_member])
        summary[region] = {"mean": means.mean(axis=0).tolist(), "sd": means.std(axis=0).tolist(),
                           "voxels": int(per_member[0].shape[1])}
    return summary


def _single(model: TrainedModel, member: int) -> TrainedModel:
    """One member of an ensemble as a model of its own, for its own weights."""
    return TrainedModel(method=model.method, feature_names=model.feature_names, patch_size=model.patch_size,
                        normalisation=model.normalisation, networks=[model.networks[member]])
