"""Dense prospectivity: the network applied convolutionally to a whole cube, chunk by chunk.

Because the network is fully convolutional with a receptive field of exactly one patch, a tile of
the standardised cube with a halo of p//2 voxels gives, in one forward pass, the same numbers as one
patch per voxel (``predict_patches``, kept as the reference), tens of times faster. Memory is bounded
by the tile, and the cube may be streamed from a file slab by slab.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable

import numpy as np
import torch

from ..data.grid import Cube
from ..errors import Mpm3dError
from .alignment import aligned_cube, aligned_source
from .model import ProspectivityNet, TrainedModel, autocast_for, resolve_device
from .sampling import (
    FeatureStats,
    PatchGatherer,
    SlabSource,
    cube_slab_reader,
    feature_stats,
    padded_standardised,
    standardise,
)

CHUNK_VOXELS = {"cpu": 1_000_000, "cuda": 8_000_000}  # output voxels per forward pass
# The dense pass on a GPU, each choice measured on and off (bench/gpu/profile_h200.md): the cube kept on the device
# where it fits in RESIDENT_SHARE of the free memory (one trip over the bus; statistics and prediction read it
# there), cuDNN's autotuned convolutions, and batch norms folded into their convolutions. Channels-last 3D
# tensors were slower (62 against 74 million voxels/s on an H200: the layout's copies and pooling cost more
# than its convolutions save), so they stay off.
GPU_DENSE = {"resident": True, "channels_last": False, "cudnn_benchmark": True, "fold_batch_norm": True}
RESIDENT_SHARE = 0.25
FOREST_CELLS = 4_000_000  # voxels x trees walked at once by the forest
PATCH_BATCH = 1024


def predict_cube(
    model: TrainedModel,
    cube: Cube | SlabSource,
    device: str = "auto",
    chunk_voxels: int | None = None,
    on_progress: Callable[[dict], None] | None = None,
    normalisation: str = "own",
) -> np.ndarray:
    """Ore probability (Z, Y, X) float32 in [0, 1], NaN where any feature is nodata: the members' mean.

    ``normalisation`` "own" standardises the cube with its own statistics (a first streaming pass),
    as training did for each domain; "source" or "target" reuses the statistics stored at training,
    which gives the training-time standardisation back when predicting a crop of a training cube.
    """
    return predict_ensemble(model, cube, device, chunk_voxels, on_progress, normalisation)[0]


def predict_ensemble(
    model: TrainedModel,
    cube: Cube | SlabSource,
    device: str = "auto",
    chunk_voxels: int | None = None,
    on_progress: Callable[[dict], None] | None = None,
    normalisation: str = "own",
    stats: FeatureStats | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(mean, spread): the members' mean ore probability and their standard deviation, (Z, Y, X) each.

    The spread is the ensemble's uncertainty: how much members trained from other seeds (or, for the
    forest, its trees) disagree about a voxel; None for a single network, which has no spread to measure
    (a map of zeros would claim a confidence nobody computed). ``stats``, where the caller already
    has the cube's own statistics (``own_stats``), saves the pass over the cube that computes them.
    """
    dense = _DensePass(model, cube, device, chunk_voxels, on_progress, normalisation, stats)
    return dense.run(on_progress)


def dominant_evidence(
    model: TrainedModel,
    cube: Cube | SlabSource,
    probability: np.ndarray,
    device: str = "auto",
    chunk_voxels: int | None = None,
    on_progress: Callable[[dict], None] | None = None,
    normalisation: str = "own",
    stats: FeatureStats | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(dominant, change), (Z, Y, X) each: "why here" for every voxel, exactly, by one dense pass per layer.

    Each pass replaces one evidence layer by its source mean as the model reads it (0 once standardised: every
    domain is standardised by its own statistics, so 0 is the mean the model was trained on) and predicts
    densely, chunk by chunk, as ``predict_ensemble`` does. ``probability`` is that plain prediction (the F + 1st
    pass, already made). ``dominant`` is 1 + the index of the layer whose replacement moves the voxel's
    prospectivity most, 0 where no replacement moves it at all and NaN where the evidence is nodata; ``change``
    is ``probability`` minus the prediction without that layer: positive where the layer's value raises the
    prospectivity here.
    """
    dense = _DensePass(model, cube, device, chunk_voxels, None, normalisation, stats)
    n_features, n_levels = len(model.feature_names), dense.source.shape[0]
    largest = np.zeros(dense.source.shape, dtype=np.float32)
    dominant = np.where(np.isfinite(probability), 0.0, np.nan).astype(np.float32)
    change = np.where(np.isfinite(probability), 0.0, np.nan).astype(np.float32)
    for feature in range(n_features):
        def progress(event: dict, feature: int = feature) -> None:
            if on_progress is not None:
                on_progress({"stage": "why", "done": feature * n_levels + event["done"],
                             "total": n_features * n_levels})

        delta = probability - dense.run(progress, neutral=feature)[0]
        moved = np.abs(delta) > largest  # NaN never compares greater: nodata stays NaN
        largest[moved], dominant[moved], change[moved] = np.abs(delta[moved]), feature + 1, delta[moved]
    return dominant, change


class _DensePass:
    """What every dense pass over one cube shares: the model's input, the device, the statistics and the chunk."""

    def __init__(self, model: TrainedModel, cube: Cube | SlabSource, device: str, chunk_voxels: int | None,
                 on_progress, normalisation: str, stats: FeatureStats | None) -> None:
        _check_features(model, list(cube.feature_names))
        self.model, self.source, self.device = model, model_input(model, cube), resolve_device(device)
        if model.forest is None and self.device.type == "cuda" and GPU_DENSE["resident"]:
            self.source = resident_on_device(self.source, self.device)
        self.stats = stats if stats is not None else _stats(model, self.source, normalisation, on_progress,
                                                            self.device)
        self.chunk_voxels = CHUNK_VOXELS[self.device.type] if chunk_voxels is None else chunk_voxels
        if self.chunk_voxels < 1:
            raise Mpm3dError(f"the chunk size (CHUNK_VOXELS) must be at least one voxel, got {self.chunk_voxels}")

    def run(self, on_progress, neutral: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(mean, spread) of one pass; ``neutral``: the feature replaced by its mean (0 once standardised)."""
        if self.model.forest is not None:
            return _forest_dense(self.model, self.source, self.stats, self.chunk_voxels, on_progress, neutral)
        return _network_dense(self.model, self.source, self.stats, self.device, self.chunk_voxels, on_progress,
                              neutral)


def predict_patches(
    model: TrainedModel,
    cube: Cube,
    indices: np.ndarray,
    device: str = "auto",
    normalisation: str = "own",
) -> np.ndarray:
    """Ore probability (N,) at voxel ``indices`` (N, 3) as (z, y, x), one patch per voxel: the reference path.

    NaN where the centre voxel is nodata.
    """
    _check_features(model, cube.feature_names)
    if _needs_alignment(model, cube.attrs.get("input_alignment")):
        cube = aligned_cube(model.alignment, cube)
    stats = _stats(model, SlabSource(cube_slab_reader(cube), cube.grid.shape, list(cube.feature_names)),
                   normalisation, None, torch.device("cpu"))
    indices = np.asarray(indices, dtype=np.int64).reshape(-1, 3)
    flat = np.ravel_multi_index(tuple(indices.T), cube.grid.shape)
    valid = cube.valid.ravel()[flat]
    out = np.full(len(flat), np.nan, dtype=np.float32)
    if model.forest is not None:
        centre = standardise(cube.features.reshape(len(cube.feature_names), -1)[:, flat[valid]], stats)
        out[valid] = model.forest.predict(centre.T)
        return out
    torch_device = resolve_device(device)
    nets = [net.to(torch_device).eval() for net in model.networks]
    patches = PatchGatherer(padded_standardised(cube, stats, model.patch_size // 2), model.patch_size,
                            torch_device)
    centres = patches.centre_index(flat[valid])
    scores = []
    with torch.inference_mode(), autocast_for(torch_device):
        for start in range(0, len(centres), PATCH_BATCH):
            batch = patches.gather(centres[start:start + PATCH_BATCH])
            members = torch.stack([torch.sigmoid(net(batch).float()).flatten() for net in nets])
            scores.append(members.mean(dim=0).cpu())
    if scores:
        out[valid] = torch.cat(scores).numpy()
    return out


def model_input(model: TrainedModel, cube: Cube | SlabSource) -> SlabSource:
    """The cube as the model reads it: slab by slab, through the model's input alignment (once)."""
    source = cube if isinstance(cube, SlabSource) else SlabSource(
        cube_slab_reader(cube), cube.grid.shape, list(cube.feature_names), cube.attrs.get("input_alignment"))
    return aligned_source(model.alignment, source) if _needs_alignment(model, source.alignment) else source


def _needs_alignment(model: TrainedModel, applied: str | None) -> bool:
    """Whether evidence that went through the alignment ``applied`` (None: none) still needs the model's."""
    return model.alignment is not None and applied != model.alignment["method"]


def _check_features(model: TrainedModel, names: list[str]) -> None:
    if list(names) != list(model.feature_names):
        raise Mpm3dError(
            "the CUBE's features differ from the MODEL's (names and order must match); "
            f"model: {list(model.feature_names)}, cube: {list(names)}; predict a cube stacked from slices with the "
            "model's bands in the same order"
        )


def own_stats(source: SlabSource, device: torch.device, on_progress=None) -> FeatureStats:
    """The cube's own standardisation statistics, in one streaming pass (its moments on the GPU where there is one)."""
    if device.type == "cuda":
        return _feature_stats_on_device(source, device, on_progress)
    return feature_stats(source.read_slab, source.shape, source.feature_names, on_progress=on_progress)


def _stats(model: TrainedModel, source: SlabSource, normalisation: str, on_progress, device) -> FeatureStats:
    if normalisation == "own":
        return own_stats(source, device, on_progress)
    if normalisation in model.normalisation:
        return FeatureStats.from_dict(model.normalisation[normalisation])
    raise Mpm3dError(f"unknown normalisation '{normalisation}'; choose own, {', '.join(model.normalisation)}")


def _feature_stats_on_device(source: SlabSource, device, on_progress) -> FeatureStats:
    """feature_stats with each level's moments computed on the GPU, where the host pass would dominate."""
    def level_moments(level: np.ndarray | torch.Tensor):
        values = _on_device(level, device).double()
        values = values.reshape(values.shape[0], -1)
        values = values[:, torch.isfinite(values).all(dim=0)]
        if values.shape[1] == 0:
            return 0, np.zeros(0), np.zeros(0)
        level_mean = values.mean(dim=1)
        level_m2 = ((values - level_mean[:, None]) ** 2).sum(dim=1)
        return values.shape[1], level_mean.cpu().numpy(), level_m2.cpu().numpy()

    return feature_stats(source.read_slab, source.shape, source.feature_names, on_progress=on_progress,
                         level_moments=level_moments)


def _forest_dense(model, source: SlabSource, stats, chunk_voxels, on_progress,
                  neutral: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    n_levels, n_rows, n_cols = source.shape
    mean = np.full(source.shape, np.nan, dtype=np.float32)
    spread = np.full(source.shape, np.nan, dtype=np.float32)
    depth = max(1, chunk_voxels // (n_rows * n_cols))
    batch = max(1, FOREST_CELLS // model.forest.n_trees)
    for z0 in range(0, n_levels, depth):
        z1 = min(z0 + depth, n_levels)
        slab = np.asarray(source.read_slab(z0, z1), dtype=np.float32)
        values = slab.reshape(len(source.feature_names), -1)
        valid = np.flatnonzero(np.all(np.isfinite(values), axis=0))
        slab_mean = np.full(values.shape[1], np.nan, dtype=np.float32)
        slab_spread = np.full(values.shape[1], np.nan, dtype=np.float32)
        for start in range(0, len(valid), batch):
            chosen = valid[start:start + batch]
            standardised = standardise(values[:, chosen], stats)
            if neutral is not None:
                standardised[neutral] = 0.0
            trees = model.forest.predict_trees(standardised.T)
            slab_mean[chosen], slab_spread[chosen] = trees.mean(axis=1), trees.std(axis=1)
        mean[z0:z1] = slab_mean.reshape(z1 - z0, n_rows, n_cols)
        spread[z0:z1] = slab_spread.reshape(z1 - z0, n_rows, n_cols)
        if on_progress is not None:
            on_progress({"stage": "predict", "done": z1, "total": n_levels})
    return mean, spread


def resident_on_device(source: SlabSource, device: torch.device) -> SlabSource:
    """The cube copied to the GPU slab by slab, read from there (slabs are device tensors), where it fits in
    RESIDENT_SHARE of the free memory; else ``source`` as it is, streamed slab by slab."""
    n_features, (n_levels, n_rows, n_cols) = len(source.feature_names), source.shape
    if 4 * n_features * n_levels * n_rows * n_cols > RESIDENT_SHARE * torch.cuda.mem_get_info(device)[0]:
        return source
    cube = torch.empty((n_features, n_levels, n_rows, n_cols), dtype=torch.float32, device=device)
    depth = max(1, CHUNK_VOXELS["cuda"] // (n_rows * n_cols))
    for z0 in range(0, n_levels, depth):
        z1 = min(z0 + depth, n_levels)
        slab = source.read_slab(z0, z1)
        for feature in range(n_features):  # each feature's levels are contiguous: no copy on the host
            cube[feature, z0:z1].copy_(torch.from_numpy(np.ascontiguousarray(slab[feature], dtype=np.float32)))
    return SlabSource(lambda z0, z1: cube[:, z0:z1], source.shape, source.feature_names)


def _on_device(slab: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """A slab as a float32 tensor on ``device``; a slab already there is not copied."""
    if isinstance(slab, torch.Tensor):
        return slab.to(device=device, dtype=torch.float32)
    return torch.from_numpy(np.ascontiguousarray(slab, dtype=np.float32)).to(device)


def inference_network(net: ProspectivityNet) -> torch.nn.Module:
    """A copy of ``net`` for prediction with every batch norm folded into the convolution before it.

    In eval mode a batch norm is an affine map per channel, so the convolution can apply it: the same function
    (to float rounding) with one pass less over the largest activations.
    """
    folded = copy.deepcopy(net).eval()
    layers = list(folded.convs)
    for index, layer in enumerate(layers[:-1]):
        norm = layers[index + 1]
        if isinstance(layer, torch.nn.Conv3d) and isinstance(norm, torch.nn.BatchNorm3d):
            with torch.no_grad():
                scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
                layer.weight.mul_(scale.view(-1, 1, 1, 1, 1))
                layer.bias.copy_((layer.bias - norm.running_mean) * scale + norm.bias)
            layers[index + 1] = torch.nn.Identity()
    folded.convs = torch.nn.Sequential(*layers)
    return folded


@contextlib.contextmanager
def _dense_kernels(device: torch.device):
    """cuDNN autotuning for the length of a dense pass on the GPU (the tiles repeat one shape); restored after."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = previous or (device.type == "cuda" and GPU_DENSE["cudnn_benchmark"])
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _network_dense(model, source: SlabSource, stats, device, chunk_voxels, on_progress,
                   neutral: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Slabs of ``depth`` levels (plus halo), each cut into row tiles so one forward stays in budget.

    Every member sees the same standardised tile; their mean and standard deviation are kept, on the device
    until the slab is done (one copy back per slab). One network has no spread: None.
    """
    n_levels, n_rows, n_cols = source.shape
    half = model.patch_size // 2
    if chunk_voxels >= n_rows * n_cols:
        depth, tile_rows = min(n_levels, chunk_voxels // (n_rows * n_cols)), n_rows
    else:
        depth, tile_rows = 1, max(1, chunk_voxels // n_cols)
    on_gpu = device.type == "cuda"
    layout = torch.channels_last_3d if on_gpu and GPU_DENSE["channels_last"] else torch.contiguous_format
    fold = not on_gpu or GPU_DENSE["fold_batch_norm"]
    nets = [(inference_network(net) if fold else net).to(device, memory_format=layout).eval()
            for net in model.networks]
    mean = np.full(source.shape, np.nan, dtype=np.float32)
    spread = np.full(source.shape, np.nan, dtype=np.float32) if len(nets) > 1 else None
    # standardising, padding and masking happen on the device: on a GPU the host would otherwise dominate
    centre = torch.as_tensor(stats.mean, dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    scale = torch.as_tensor(stats.std, dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    with _dense_kernels(device), torch.inference_mode():
        for z0 in range(0, n_levels, depth):
            z1 = min(z0 + depth, n_levels)
            read0, read1 = max(0, z0 - half), min(n_levels, z1 + half)
            slab = _on_device(source.read_slab(read0, read1), device)
            valid = torch.isfinite(slab[:, z0 - read0:z1 - read0]).all(dim=0)
            standardised = torch.nan_to_num((slab - centre) / scale, nan=0.0, posinf=0.0, neginf=0.0)
            del slab
            if neutral is not None:
                standardised[neutral] = 0.0
            padded = torch.nn.functional.pad(
                standardised, (half, half, half, half, half - (z0 - read0), half - (read1 - z1)))
            slab_mean = torch.empty((z1 - z0, n_rows, n_cols), dtype=torch.float32, device=device)
            slab_spread = torch.empty_like(slab_mean)
            for y0 in range(0, n_rows, tile_rows):
                y1 = min(y0 + tile_rows, n_rows)
                tile = padded[None, :, :, y0:y1 + 2 * half].contiguous(memory_format=layout)
                with autocast_for(device):
                    members = torch.stack([torch.sigmoid(net(tile).float())[0, 0] for net in nets])
                slab_mean[:, y0:y1] = members.mean(dim=0)
                slab_spread[:, y0:y1] = members.std(dim=0, correction=0)
            mean[z0:z1] = torch.where(valid, slab_mean, torch.nan).cpu().numpy()
            if spread is not None:
                spread[z0:z1] = torch.where(valid, slab_spread, torch.nan).cpu().numpy()
            if on_progress is not None:
                on_progress({"stage": "predict", "done": z1, "total": n_levels})
    return mean, spread
