"""Dense prospectivity: the network applied convolutionally to a whole cube, chunk by chunk.

Because the network is fully convolutional with a receptive field of exactly one patch, a tile of
the standardised cube with a halo of p//2 voxels gives, in one forward pass, the same numbers as one
patch per voxel (``predict_patches``, kept as the reference), tens of times faster. Memory is bounded
by the tile, and the cube may be streamed from a file slab by slab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .errors import Mpm3dError
from .grid import Cube
from .model import TrainedModel, autocast_for, resolve_device
from .sampling import (
    FeatureStats,
    PatchGatherer,
    ReadSlab,
    cube_slab_reader,
    feature_stats,
    padded_standardised,
    standardise,
)

CHUNK_VOXELS = {"cpu": 1_000_000, "cuda": 8_000_000}  # output voxels per forward pass
FOREST_CELLS = 4_000_000  # voxels x trees walked at once by the forest
PATCH_BATCH = 1024


@dataclass
class SlabSource:
    """A cube read slab by slab: ``read_slab(z0, z1)`` returns evidence (F, z1 - z0, Y, X), NaN nodata."""

    read_slab: ReadSlab
    shape: tuple[int, int, int]
    feature_names: list[str]


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
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, spread): the members' mean ore probability and their standard deviation, (Z, Y, X) each.

    The spread is the ensemble's uncertainty: how much members trained from other seeds (or, for the
    forest, its trees) disagree about a voxel; 0 for a single network. ``stats``, where the caller already
    has the cube's own statistics (``own_stats``), saves the pass over the cube that computes them.
    """
    source = cube if isinstance(cube, SlabSource) else SlabSource(
        cube_slab_reader(cube), cube.grid.shape, list(cube.feature_names))
    _check_features(model, source.feature_names)
    torch_device = resolve_device(device)
    if stats is None:
        stats = _stats(model, source, normalisation, on_progress, torch_device)
    if chunk_voxels is None:
        chunk_voxels = CHUNK_VOXELS[torch_device.type]
    if chunk_voxels < 1:
        raise Mpm3dError(f"the chunk size must be at least one voxel, got {chunk_voxels}")
    if model.forest is not None:
        return _forest_dense(model, source, stats, chunk_voxels, on_progress)
    return _network_dense(model, source, stats, torch_device, chunk_voxels, on_progress)


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
    def level_moments(level: np.ndarray):
        values = torch.from_numpy(np.ascontiguousarray(level, dtype=np.float32)).to(device).double()
        values = values.reshape(values.shape[0], -1)
        values = values[:, torch.isfinite(values).all(dim=0)]
        if values.shape[1] == 0:
            return 0, np.zeros(0), np.zeros(0)
        level_mean = values.mean(dim=1)
        level_m2 = ((values - level_mean[:, None]) ** 2).sum(dim=1)
        return values.shape[1], level_mean.cpu().numpy(), level_m2.cpu().numpy()

    return feature_stats(source.read_slab, source.shape, source.feature_names, on_progress=on_progress,
                         level_moments=level_moments)


def _forest_dense(model, source: SlabSource, stats, chunk_voxels, on_progress) -> tuple[np.ndarray, np.ndarray]:
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
            trees = model.forest.predict_trees(standardise(values[:, chosen], stats).T)
            slab_mean[chosen], slab_spread[chosen] = trees.mean(axis=1), trees.std(axis=1)
        mean[z0:z1] = slab_mean.reshape(z1 - z0, n_rows, n_cols)
        spread[z0:z1] = slab_spread.reshape(z1 - z0, n_rows, n_cols)
        if on_progress is not None:
            on_progress({"stage": "predict", "done": z1, "total": n_levels})
    return mean, spread


def _network_dense(model, source: SlabSource, stats, device, chunk_voxels,
                   on_progress) -> tuple[np.ndarray, np.ndarray]:
    """Slabs of ``depth`` levels (plus halo), each cut into row tiles so one forward stays in budget.

    Every member sees the same standardised tile; their mean and standard deviation are kept.
    """
    n_levels, n_rows, n_cols = source.shape
    half = model.patch_size // 2
    if chunk_voxels >= n_rows * n_cols:
        depth, tile_rows = min(n_levels, chunk_voxels // (n_rows * n_cols)), n_rows
    else:
        depth, tile_rows = 1, max(1, chunk_voxels // n_cols)
    nets = [net.to(device).eval() for net in model.networks]
    mean = np.full(source.shape, np.nan, dtype=np.float32)
    spread = np.full(source.shape, np.nan, dtype=np.float32)
    # standardising, padding and masking happen on the device: on a GPU the host would otherwise dominate
    centre = torch.as_tensor(stats.mean, dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    scale = torch.as_tensor(stats.std, dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    for z0 in range(0, n_levels, depth):
        z1 = min(z0 + depth, n_levels)
        read0, read1 = max(0, z0 - half), min(n_levels, z1 + half)
        slab = torch.from_numpy(np.ascontiguousarray(source.read_slab(read0, read1), dtype=np.float32)).to(device)
        valid = torch.isfinite(slab[:, z0 - read0:z1 - read0]).all(dim=0)
        standardised = torch.nan_to_num((slab - centre) / scale, nan=0.0, posinf=0.0, neginf=0.0)
        padded = torch.nn.functional.pad(
            standardised, (half, half, half, half, half - (z0 - read0), half - (read1 - z1)))
        for y0 in range(0, n_rows, tile_rows):
            y1 = min(y0 + tile_rows, n_rows)
            tile = padded[None, :, :, y0:y1 + 2 * half]
            with torch.inference_mode(), autocast_for(device):
                members = torch.stack([torch.sigmoid(net(tile).float())[0, 0] for net in nets])
            inside = valid[:, y0:y1]
            tile_mean = torch.where(inside, members.mean(dim=0), torch.nan)
            tile_spread = torch.where(inside, members.std(dim=0, correction=0), torch.nan)
            mean[z0:z1, y0:y1] = tile_mean.cpu().numpy()
            spread[z0:z1, y0:y1] = tile_spread.cpu().numpy()
        if on_progress is not None:
            on_progress({"stage": "predict", "done": z1, "total": n_levels})
    return mean, spread
