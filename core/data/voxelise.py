"""Labels from 3D samples (drill-hole intervals, assays): points voxelised onto a cube grid, and the drill
holes such a label cube holds (which voxels belong to one hole, which lie near any)."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np

from ..errors import Mpm3dError
from .grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Grid

RULES = ("any", "majority", "mean_grade")


def voxelise_samples(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    grid: Grid,
    ore: np.ndarray | None = None,
    grade: np.ndarray | None = None,
    cutoff: float | None = None,
    rule: str = "any",
) -> tuple[np.ndarray, dict]:
    """Label cube (1 ore, 0 barren, -1 no sample) and counts of how the samples were used.

    Samples are either ore flags (1/0) or grades with a cutoff. Several samples in one voxel are
    combined by ``rule``: "any" (one ore sample makes the voxel ore, the usual reading of a drill
    hole that cut ore), "majority" (more ore than barren samples, ties count as ore) or
    "mean_grade" (mean grade at or above the cutoff; grades only).
    """
    x, y, z = (np.asarray(v, dtype=np.float64).ravel() for v in (x, y, z))
    if not len(x) == len(y) == len(z):
        raise Mpm3dError(f"x, y and z must have one value per sample, got {len(x)}, {len(y)} and {len(z)}.")
    values, is_ore = _sample_values(len(x), ore, grade, cutoff, rule)

    missing_xy = ~(np.isfinite(x) & np.isfinite(y))
    missing_z = ~missing_xy & ~np.isfinite(z)
    missing_value = ~missing_xy & ~missing_z & ~np.isfinite(values)
    col, row, level = cell_indices(x, y, z, grid)
    inside = (col >= 0) & (row >= 0) & (level >= 0)
    usable = ~(missing_xy | missing_z | missing_value)
    outside = usable & ~inside
    used = usable & inside

    label = np.full(grid.shape, LABEL_UNKNOWN, dtype=np.int8)
    voxel = np.ravel_multi_index((level[used], row[used], col[used]), grid.shape)
    voxels, sample_voxel = np.unique(voxel, return_inverse=True)
    n_samples = np.bincount(sample_voxel, minlength=len(voxels))
    if rule == "mean_grade":
        voxel_is_ore = (
            np.bincount(sample_voxel, weights=values[used], minlength=len(voxels)) / n_samples >= cutoff
        )
    else:
        n_ore = np.bincount(sample_voxel, weights=is_ore[used], minlength=len(voxels))
        voxel_is_ore = n_ore > 0 if rule == "any" else 2 * n_ore >= n_samples
    label.flat[voxels] = np.where(voxel_is_ore, LABEL_ORE, LABEL_BARREN)

    stats = {
        "n_samples": len(x),
        "n_used": int(used.sum()),
        "n_outside": int(outside.sum()),
        "n_missing_z": int(missing_z.sum()),
        "n_missing_xy": int(missing_xy.sum()),
        "n_missing_value": int(missing_value.sum()),
        "n_ore_voxels": int(voxel_is_ore.sum()),
        "n_barren_voxels": int((~voxel_is_ore).sum()),
    }
    return label, stats


def repeated_columns(path: str, ignore_case: bool = True) -> list[str]:
    """Column names the header of the delimited text file ``path`` gives more than once (casefolded): QGIS reads
    the second as ``name_1``, so a field chosen by name would silently be the first of them.

    ``ignore_case``: names that differ only in case count as one, as QGIS's delimited-text reader takes them (it
    renames ``au`` beside ``Au`` to ``au_1``, and a field asked for as ``au`` then finds ``Au``); the OGR reader
    keeps them apart, as NetCDF does."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = handle.readline()
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    names = next(csv.reader([header], delimiter=delimiter), [])
    counts = Counter((name.strip().casefold() if ignore_case else name.strip()) for name in names if name.strip())
    return [name for name, count in counts.items() if count > 1]


def _level_edges(levels: np.ndarray) -> np.ndarray:
    """Boundaries of the level slabs, ascending: midpoints between levels, half a gap beyond the ends.

    Levels may be unevenly spaced; a single level is taken as 1 m thick, as ``Grid.voxel_volume`` does.
    """
    ascending = np.sort(np.asarray(levels, dtype=np.float64))
    if len(ascending) == 1:
        return np.array([ascending[0] - 0.5, ascending[0] + 0.5])
    gaps = np.diff(ascending)
    middle = ascending[:-1] + gaps / 2.0
    return np.concatenate([[ascending[0] - gaps[0] / 2.0], middle, [ascending[-1] + gaps[-1] / 2.0]])


def _sample_values(
    n: int, ore: np.ndarray | None, grade: np.ndarray | None, cutoff: float | None, rule: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: the value that may be missing (NaN) and whether the sample alone counts as ore."""
    if rule not in RULES:
        raise Mpm3dError(f"Unknown voxelisation rule {rule!r}; use one of {', '.join(RULES)}.")
    if (ore is None) == (grade is None):
        raise Mpm3dError("Give either ore flags or grades with a cutoff for the samples, not both.")
    if ore is not None:
        if rule == "mean_grade":
            raise Mpm3dError('The "mean_grade" rule needs grades and a cutoff, not ore flags.')
        values = np.asarray(ore, dtype=np.float64).ravel()
        known = values[np.isfinite(values)]
        other = known[(known != 0) & (known != 1)]
        if other.size:
            shown = ", ".join(f"{value:g}" for value in np.unique(other)[:5])
            raise Mpm3dError(f"ORE_FIELD: ore flags must be 1 (ore) or 0 (barren), but {shown} was found ({other.size} "
                             f"of {len(values)} samples); recode them, leave unknown samples empty, or give the "
                             "values as GRADE_FIELD with a CUTOFF.")
    else:
        if cutoff is None or not np.isfinite(cutoff):
            raise Mpm3dError("Grades need a cutoff grade to tell ore from barren samples.")
        values = np.asarray(grade, dtype=np.float64).ravel()
    if len(values) != n:
        raise Mpm3dError(
            f"{len(values)} ore flags or grades were given for {n} samples; give one per sample."
        )
    threshold = 1.0 if ore is not None else cutoff
    return values, np.where(np.isfinite(values), values, -np.inf) >= threshold


def cell_indices(x: np.ndarray, y: np.ndarray, z: np.ndarray, grid: Grid) -> tuple[np.ndarray, ...]:
    """Column, row and level of the voxel holding each point; -1 outside the grid or where missing.

    Cells are half-open: a point on the boundary between two cells goes to the east, south and
    upper one, and a point on the outer east, south or top face is outside.
    """
    left, dx, _, top, _, minus_dy = grid.geotransform()
    col = _bin(x, left + dx * np.arange(len(grid.x) + 1))
    row = _bin(-y, -(top + minus_dy * np.arange(len(grid.y) + 1)))
    ascending_level = _bin(z, _level_edges(grid.z))
    level_of_ascending = np.argsort(grid.z)
    level = np.where(ascending_level >= 0, level_of_ascending[np.maximum(ascending_level, 0)], -1)
    return col, row, level


def _bin(values: np.ndarray, ascending_edges: np.ndarray) -> np.ndarray:
    """Index of the half-open bin [edge_i, edge_i+1) holding each value, -1 outside or NaN."""
    index = np.searchsorted(ascending_edges, values, side="right") - 1
    valid = np.isfinite(values) & (index >= 0) & (index < len(ascending_edges) - 1)
    return np.where(valid, index, -1)


def hole_groups(label: np.ndarray) -> tuple[np.ndarray, int]:
    """Each labelled voxel's hole (1..n; 0 for unlabelled voxels) and the number of holes n.

    A label cube records no hole identity, whoever made it (this voxelisation, label slices, another tool),
    so a hole is a 26-connected group of labelled voxels: a hole sampled at less than a voxel's spacing is
    one connected run of voxels, vertical or inclined. Holes that touch become one group, the safe way to
    err: a group is never split between training and validation.
    """
    from scipy import ndimage

    groups, n = ndimage.label(np.asarray(label) != LABEL_UNKNOWN, structure=np.ones((3, 3, 3), bool))
    return groups, int(n)


def near_labels(label: np.ndarray, buffer: int) -> np.ndarray:
    """Voxels within ``buffer`` voxels (along z, y and x at once) of a labelled voxel, the labelled ones included.

    A patch of p voxels reaches p // 2 voxels out, so a voxel within ``buffer`` = p - 1 of a hole shares
    evidence with a patch the hole's labels trained or chose on.
    """
    from scipy import ndimage

    labelled = np.asarray(label) != LABEL_UNKNOWN
    return ndimage.maximum_filter(labelled, size=2 * int(buffer) + 1, mode="constant", cval=False)


def hole_folds(groups: np.ndarray, n_holes: int, label: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold (0..folds-1) of each hole 1..n (index 0 unused), whole holes only.

    Holes that cut ore are dealt out first, in a seeded order, then the barren ones, so that ore is spread
    over the folds as evenly as the holes allow: a fold without ore cannot be scored.
    """
    ids = np.arange(1, n_holes + 1)
    has_ore = np.zeros(n_holes + 1, bool)
    has_ore[np.unique(groups[np.asarray(label) == LABEL_ORE])] = True
    rng = np.random.default_rng([int(seed), 5])
    order = np.concatenate([rng.permutation(ids[has_ore[1:]]), rng.permutation(ids[~has_ore[1:]])])
    fold = np.zeros(n_holes + 1, np.int64)
    fold[order] = np.arange(len(order)) % folds
    return fold
