"""Per-domain standardisation, the spatial-block validation split and patch gathering on the device.

Each cube is standardised with its own per-feature mean and std over its valid voxels, so two
deposits with different absolute levels of evidence meet the network on the same scale. Patches
are cut on the device with one gather from a padded, device-resident cube: the flat index of each
centre plus a table of the p^3 offsets, so there is no per-patch Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from ..data.grid import LABEL_BARREN, LABEL_ORE, Cube
from ..errors import Mpm3dError
from ..settings import TrainConfig

ReadSlab = Callable[[int, int], np.ndarray]
N_TRANSFORMS = 8  # the rotations by 90 degrees about z, each with and without a flip


@dataclass
class FeatureStats:
    """Per-feature mean and std of one domain over its valid voxels."""

    mean: np.ndarray
    std: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureStats:
        return cls(mean=np.asarray(data["mean"], np.float64), std=np.asarray(data["std"], np.float64))


@dataclass
class SlabSource:
    """A cube read slab by slab: ``read_slab(z0, z1)`` returns evidence (F, z1 - z0, Y, X), NaN nodata."""

    read_slab: ReadSlab
    shape: tuple[int, int, int]
    feature_names: list[str]
    alignment: str | None = None  # the input alignment (core.learning.alignment) its slabs already went through


def cube_slab_reader(cube: Cube) -> ReadSlab:
    return lambda z0, z1: cube.features[:, z0:z1]


def feature_stats(
    read_slab: ReadSlab,
    shape: tuple[int, int, int],
    feature_names: list[str],
    slab_depth: int = 8,
    on_progress: Callable[[dict], None] | None = None,
    level_moments: Callable[[np.ndarray], tuple[int, np.ndarray, np.ndarray]] | None = None,
) -> FeatureStats:
    """Streaming per-feature mean and std over voxels where every feature is finite.

    Level-by-level Chan merging makes the result independent of ``slab_depth``, so an in-memory cube
    and the same cube streamed from a file get bit-identical statistics. ``level_moments`` computes
    (count, mean, sum of squared deviations) of one (F, Y, X) level elsewhere, e.g. on the GPU.
    """
    level_moments = level_moments or _level_moments
    n_levels = shape[0]
    count, mean, m2 = 0, np.zeros(len(feature_names)), np.zeros(len(feature_names))
    for z0 in range(0, n_levels, slab_depth):
        slab = read_slab(z0, min(z0 + slab_depth, n_levels))
        for level in range(slab.shape[1]):
            n, level_mean, level_m2 = level_moments(slab[:, level])
            if n == 0:
                continue
            delta = level_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + level_m2 + delta**2 * (count * n / total)
            count = total
        if on_progress is not None:
            on_progress({"stage": "stats", "done": min(z0 + slab_depth, n_levels), "total": n_levels})
    return checked_stats(mean, np.sqrt(m2 / max(count, 1)), count, feature_names)


def _level_moments(level: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    values = np.asarray(level, dtype=np.float64).reshape(level.shape[0], -1)
    values = values[:, np.all(np.isfinite(values), axis=0)]
    if values.shape[1] == 0:
        return 0, np.zeros(0), np.zeros(0)
    level_mean = values.mean(axis=1)
    return values.shape[1], level_mean, ((values - level_mean[:, None]) ** 2).sum(axis=1)


def checked_stats(mean: np.ndarray, std: np.ndarray, count: int, feature_names: list[str]) -> FeatureStats:
    """Statistics a cube can be standardised with, or the reason it cannot."""
    if count == 0:
        raise Mpm3dError("the cube has no voxel where every feature is valid; check the nodata values of its slices")
    for name, m, s in zip(feature_names, mean, std, strict=True):
        if not s > 1e-9 * max(1.0, abs(m)):
            raise Mpm3dError(f"feature '{name}' has zero spread (constant {m:g}) and cannot be standardised; "
                             "remove that band from the slices and stack the cube again")
    return FeatureStats(mean=mean, std=std)


def cube_stats(cube: Cube) -> FeatureStats:
    return feature_stats(cube_slab_reader(cube), cube.grid.shape, cube.feature_names)


def standardise(block: np.ndarray, stats: FeatureStats) -> np.ndarray:
    """(F, ...) evidence -> float32 z-scores with nodata set to 0, the domain mean."""
    mean = stats.mean.astype(np.float32).reshape((-1,) + (1,) * (block.ndim - 1))
    std = stats.std.astype(np.float32).reshape(mean.shape)
    out = (np.asarray(block, dtype=np.float32) - mean) / std
    out[~np.isfinite(out)] = 0.0
    return out


def padded_standardised(cube: Cube, stats: FeatureStats, half: int, slab_depth: int = 8) -> np.ndarray:
    """The whole cube standardised and padded by ``half`` voxels of 0 on every side.

    Filled slab by slab, so the only whole-cube array made is the padded one (no unpadded standardised copy).
    """
    n_features, *shape = cube.features.shape
    out = np.zeros((n_features, *(n + 2 * half for n in shape)), dtype=np.float32)
    for z0 in range(0, shape[0], slab_depth):
        z1 = min(z0 + slab_depth, shape[0])
        out[:, half + z0:half + z1, half:half + shape[1], half:half + shape[2]] = standardise(
            cube.features[:, z0:z1], stats)
    return out


@dataclass
class SourceSplit:
    """Flat voxel indices (into Z*Y*X) of labelled source voxels used for training and validation."""

    train_ore: np.ndarray
    train_barren: np.ndarray
    val_ore: np.ndarray
    val_barren: np.ndarray
    val_columns: np.ndarray  # (Y, X) bool: the x-y blocks held out


SPLIT_TILES = 4  # the x-y plane is cut into SPLIT_TILES x SPLIT_TILES blocks for every spatial-block split


def column_blocks(n_rows: int, n_cols: int, tiles: int = SPLIT_TILES) -> np.ndarray:
    """(Y, X) block id (row block * tiles + column block) of each column of a tiles x tiles cut of the x-y plane
    (fewer blocks along an axis with fewer voxels): the one cut the validation split, the novelty map's calibration
    and the importance's held-out blocks share."""
    return ((np.arange(n_rows) * min(tiles, n_rows) // n_rows)[:, None] * tiles
            + (np.arange(n_cols) * min(tiles, n_cols) // n_cols)[None, :])


def spatial_block_split(
    label: np.ndarray, valid: np.ndarray, half: int, val_fraction: float, seed: int, tiles: int = SPLIT_TILES
) -> SourceSplit:
    """Hold out whole x-y blocks of columns for validation, because neighbouring patches overlap.

    The x-y plane is cut into ``tiles`` x ``tiles`` blocks and about ``val_fraction`` of them are held
    out. Among seeded random choices the one whose share of ore is closest to ``val_fraction`` wins,
    so validation has both classes when the ore allows it. Training voxels within ``half`` columns
    of a held-out block are dropped, so no training patch contains a validation voxel.
    """
    ore = (label == LABEL_ORE) & valid
    barren = (label == LABEL_BARREN) & valid
    if val_fraction <= 0:
        none = np.zeros(0, np.int64)
        return SourceSplit(_flat(ore), _flat(barren), none, none, np.zeros(label.shape[1:], bool))
    block_of_column = column_blocks(*label.shape[1:], tiles)
    blocks = np.unique(block_of_column)
    n_val = min(len(blocks) - 1, max(1, round(val_fraction * len(blocks))))
    ore_per_column, barren_per_column = ore.sum(axis=0), barren.sum(axis=0)
    total_ore = ore_per_column.sum()
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(64):
        val_columns = np.isin(block_of_column, rng.permutation(blocks)[:n_val])
        near = ndimage.maximum_filter(val_columns, size=2 * half + 1, mode="constant", cval=False)
        train_columns = ~near
        counts = [ore_per_column[val_columns].sum(), barren_per_column[val_columns].sum(),
                  ore_per_column[train_columns].sum(), barren_per_column[train_columns].sum()]
        if min(counts) == 0:
            continue
        score = abs(counts[0] / total_ore - val_fraction)
        if score < best_score:
            best, best_score = (val_columns, train_columns), score
    if best is None:
        raise Mpm3dError(
            "the source labels are too concentrated for spatial-block validation (no choice of held-out "
            "blocks leaves ore and barren voxels on both sides); set the validation fraction (VALIDATION_FRACTION) "
            "to 0 to train without validation and keep the last epoch"
        )
    val_columns, train_columns = best
    return SourceSplit(
        train_ore=_flat(ore & train_columns), train_barren=_flat(barren & train_columns),
        val_ore=_flat(ore & val_columns), val_barren=_flat(barren & val_columns), val_columns=val_columns,
    )


def _flat(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask).astype(np.int64)


def _offset_tables(patch_size: int, padded_shape: tuple[int, int, int]) -> np.ndarray:
    """(8, p^3) flat offsets: the patch window under each rotation about z, with and without a flip."""
    _, n_rows, n_cols = padded_shape
    r = np.arange(patch_size) - patch_size // 2
    base = r[:, None, None] * (n_rows * n_cols) + r[None, :, None] * n_cols + r[None, None, :]
    tables = []
    for flipped in (base, base[:, :, ::-1]):
        for quarter_turns in range(4):
            tables.append(np.rot90(flipped, quarter_turns, axes=(1, 2)).ravel())
    return np.stack(tables)


class PatchGatherer:
    """A padded standardised cube resident on the device, cut into patches by one gather."""

    def __init__(self, padded: np.ndarray, patch_size: int, device: torch.device) -> None:
        self.patch_size = patch_size
        self.half = patch_size // 2
        self.n_features = padded.shape[0]
        self.padded_shape = padded.shape[1:]
        self.shape = tuple(n - 2 * self.half for n in self.padded_shape)
        self.device = device
        self.flat = torch.from_numpy(np.ascontiguousarray(padded)).to(device).view(self.n_features, -1)
        self.offsets = torch.from_numpy(_offset_tables(patch_size, self.padded_shape)).to(device)

    @property
    def padded(self) -> torch.Tensor:
        """The padded cube as (F, Z, Y, X), a view: blocks and tiles are cut from it."""
        return self.flat.view(self.n_features, *self.padded_shape)

    def centre_index(self, voxels: np.ndarray) -> torch.Tensor:
        """Flat padded index of the voxels, given as flat indices into the unpadded (Z, Y, X) cube."""
        z, y, x = np.unravel_index(voxels, self.shape)
        h = self.half
        padded = np.ravel_multi_index((z + h, y + h, x + h), self.padded_shape)
        return torch.from_numpy(padded.astype(np.int64)).to(self.device)

    def gather(self, centres: torch.Tensor, transforms: torch.Tensor | None = None) -> torch.Tensor:
        """(N, F, p, p, p) patches around padded flat ``centres``; ``transforms`` picks a table each."""
        table = self.offsets[0].expand(len(centres), -1) if transforms is None else self.offsets[transforms]
        p = self.patch_size
        values = self.flat[:, centres[:, None] + table]
        return values.permute(1, 0, 2).reshape(len(centres), self.n_features, p, p, p)


def epoch_ore_count(n_ore: int, negative_ratio: float, samples_per_epoch: int) -> int:
    """Ore voxels in one epoch: all of them, or as many as ``samples_per_epoch`` holds with their barren share.

    ``samples_per_epoch`` 0 means no budget. The budget bites only where every ore voxel and its barren
    partners would be more samples than it: a small deposit trains as without a budget.
    """
    if samples_per_epoch <= 0:
        return n_ore
    return min(n_ore, max(1, int(samples_per_epoch // (1 + negative_ratio))))


def barren_count(n_ore: int, negative_ratio: float) -> int:
    """Barren voxels drawn beside ``n_ore`` ore voxels; an epoch holds ``n_ore`` plus these."""
    return int(round(n_ore * negative_ratio))


class OreCycle:
    """The ore voxels of each epoch under a samples-per-epoch budget.

    Where an epoch holds every ore voxel, each epoch gets them all (as without a budget). Otherwise epochs take
    consecutive slices of one seeded permutation, wrapping round, so every ore voxel is seen once before any is
    seen twice, and all of them within ceil(ore / per epoch) epochs.
    """

    def __init__(self, ore: np.ndarray, per_epoch: int, rng: np.random.Generator) -> None:
        self.ore, self.per_epoch, self.position = ore, per_epoch, 0
        self.order = rng.permutation(ore) if per_epoch < len(ore) else None

    def next_epoch(self) -> np.ndarray:
        if self.order is None:
            return self.ore
        taken = self.order[(self.position + np.arange(self.per_epoch)) % len(self.order)]
        self.position = (self.position + self.per_epoch) % len(self.order)
        return taken


def draw_source_epoch(
    split: SourceSplit, negative_ratio: float, rng: np.random.Generator, ore: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The epoch's ore voxels (every training ore voxel, or ``ore``: an OreCycle's share) plus freshly drawn
    barren voxels, shuffled: (voxels, labels)."""
    ore = split.train_ore if ore is None else ore
    n_negative = barren_count(len(ore), negative_ratio)
    replace = n_negative > len(split.train_barren)
    negatives = rng.choice(split.train_barren, size=n_negative, replace=replace)
    voxels = np.concatenate([ore, negatives])
    labels = np.concatenate([np.ones(len(ore)), np.zeros(n_negative)]).astype(np.float32)
    order = rng.permutation(len(voxels))
    return voxels[order], labels[order]


MAX_VALIDATION_VOXELS = 20_000


def ore_cycle(split: SourceSplit, config: TrainConfig) -> OreCycle:
    """The ore voxels each epoch trains on: all, or under the samples-per-epoch budget a cycling share."""
    per_epoch = epoch_ore_count(len(split.train_ore), config.negative_ratio, config.samples_per_epoch)
    return OreCycle(split.train_ore, per_epoch, np.random.default_rng([config.seed, 5]))


def check_batch(split: SourceSplit, config: TrainConfig, batches: bool = True) -> None:
    """The epoch's samples exist, and (``batches``: for a network; the forest is fitted on all at once) fill a
    batch."""
    n_ore = epoch_ore_count(len(split.train_ore), config.negative_ratio, config.samples_per_epoch)
    n_barren = barren_count(n_ore, config.negative_ratio)
    if n_barren > len(split.train_barren):
        most = len(split.train_barren) / max(len(split.train_ore), 1)
        raise Mpm3dError(
            f"NEGATIVE_RATIO {config.negative_ratio:g} asks for {n_barren} barren samples per epoch, but the source "
            f"has only {len(split.train_barren)} barren voxels for training ({len(split.train_ore)} ore): give a "
            f"ratio of at most {most:.3g}")
    n_samples = n_ore + n_barren
    if batches and config.batch_size > n_samples:
        budget = (f", SAMPLES_PER_EPOCH {config.samples_per_epoch} allowing {n_ore}"
                  if n_ore < len(split.train_ore) else "")
        raise Mpm3dError(
            f"the batch size {config.batch_size} is larger than the {n_samples} training samples per epoch "
            f"({len(split.train_ore)} ore voxels outside the validation blocks{budget}, {config.negative_ratio:g} "
            f"barren per ore); lower the batch size (BATCH_SIZE) to at most {n_samples}"
        )


def source_samples(
    source: Cube, config: TrainConfig
) -> tuple[SourceSplit, tuple[np.ndarray, np.ndarray], np.random.Generator]:
    """The spatial-block split, the fixed validation set, and the generator that then draws the epochs.

    One place for the order of these draws, so the benchmark's peer method gets the samples train() gets.
    """
    split = spatial_block_split(source.label, source.valid, config.patch_size // 2, config.val_fraction, config.seed)
    rng = np.random.default_rng([config.seed, 1])
    return split, validation_set(split, rng), rng


def validation_set(split: SourceSplit, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Held-out voxels (all ore, barren thinned to a cap) and their labels, fixed for all epochs."""
    ore = split.val_ore
    if len(ore) > MAX_VALIDATION_VOXELS // 2:
        ore = np.sort(rng.choice(ore, MAX_VALIDATION_VOXELS // 2, replace=False))
    barren = split.val_barren
    if len(barren) > MAX_VALIDATION_VOXELS - len(ore):
        barren = np.sort(rng.choice(barren, MAX_VALIDATION_VOXELS - len(ore), replace=False))
    return np.concatenate([ore, barren]), np.concatenate([np.ones(len(ore)), np.zeros(len(barren))])
