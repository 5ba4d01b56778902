"""Exploration targets: connected high-prospectivity bodies of a prospectivity cube, ranked."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import Mpm3dError
from .grid import LABEL_ORE, LABEL_UNKNOWN, Grid

# 26-connectivity: voxels touching by a face, an edge or a corner belong to one body, because an
# ore shoot dipping across the grid only meets its next voxel diagonally.
CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)
# Maps of a prediction that travel with its targets and voxels, where the cube has them.
COMPANIONS = ("uncertainty", "novelty")


def extract_targets(
    prospectivity: np.ndarray,
    grid: Grid,
    threshold: float | None = None,
    top_percent: float | None = None,
    min_voxels: int = 1,
    label: np.ndarray | None = None,
    companions: dict[str, np.ndarray] | None = None,
    max_uncertainty: float | None = None,
) -> list[dict]:
    """Bodies of connected voxels at or above a cut, best first.

    The cut is ``threshold`` or the prospectivity that keeps the top ``top_percent`` % of the voxels
    with a finite prospectivity (ties at the cut are all kept). Bodies are ranked by their
    probability mass (sum of probability over the body, the expected number of ore voxels if the
    probabilities are calibrated): the mean alone would put a single noisy voxel first, the volume
    alone would ignore how confident the prediction is.

    ``companions`` are maps on the same grid ("uncertainty", "novelty") whose body means are reported
    as ``mean_<name>``; with ``max_uncertainty`` a voxel whose uncertainty exceeds it joins no body, so
    the targets are where the prediction is both high and agreed on.
    """
    prospectivity = _checked_probability(prospectivity, grid)
    cut = _cut(prospectivity, threshold, top_percent)
    companions = {name: _checked_cube(values, grid, name) for name, values in (companions or {}).items()}
    if label is not None:
        label = np.asarray(label)
        if label.shape != grid.shape:
            raise Mpm3dError(f"The label cube {label.shape} does not match the grid {grid.shape}.")
    selected = prospectivity >= cut
    if max_uncertainty is not None:
        if "uncertainty" not in companions:
            raise Mpm3dError("An uncertainty cut-off needs a cube with an 'uncertainty' variable: predict with a "
                             "model of several members (ENSEMBLE_MEMBERS) or a random forest.")
        selected &= companions["uncertainty"] <= max_uncertainty

    bodies, n_bodies = ndimage.label(selected, structure=CONNECTIVITY_26)
    if n_bodies == 0:
        return []
    zi, yi, xi = np.nonzero(bodies)
    body = bodies[zi, yi, xi] - 1
    p = prospectivity[zi, yi, xi]
    z, y, x = grid.z[zi], grid.y[yi], grid.x[xi]

    def per_body(weights: np.ndarray) -> np.ndarray:
        return np.bincount(body, weights=weights, minlength=n_bodies)

    n_voxels = np.bincount(body, minlength=n_bodies)
    mass = per_body(p)
    # A body of zero probability (a cut at 0) has no weighted centre: use its plain centre.
    weights = np.where(mass[body] > 0, p, 1.0)
    weight_sum = per_body(weights)
    centroid = {
        axis: per_body(weights * coords) / weight_sum for axis, coords in (("x", x), ("y", y), ("z", z))
    }
    order = np.argsort(body, kind="stable")
    starts = np.searchsorted(body[order], np.arange(n_bodies))
    max_prob = np.maximum.reduceat(p[order], starts)
    top_z = np.maximum.reduceat(z[order], starts)
    bottom_z = np.minimum.reduceat(z[order], starts)
    if label is not None:
        voxel_label = label[zi, yi, xi]
        n_known = np.bincount(body[voxel_label != LABEL_UNKNOWN], minlength=n_bodies)
        n_known_ore = np.bincount(body[voxel_label == LABEL_ORE], minlength=n_bodies)

    companion_means = {name: per_body(values[zi, yi, xi]) / n_voxels for name, values in companions.items()}
    voxel_volume = grid.voxel_volume()
    targets = []
    for b in range(n_bodies):
        if n_voxels[b] < min_voxels:
            continue
        target = {
            "x": float(centroid["x"][b]),
            "y": float(centroid["y"][b]),
            "z": float(centroid["z"][b]),
            "volume_m3": float(n_voxels[b] * voxel_volume),
            "n_voxels": int(n_voxels[b]),
            "mean_prob": float(mass[b] / n_voxels[b]),
            "max_prob": float(max_prob[b]),
            "mass": float(mass[b]),
            "top_z": float(top_z[b]),
            "bottom_z": float(bottom_z[b]),
            "ore_share": None,
            "known_ore_voxels": None,
            **{f"mean_{name}": float(means[b]) for name, means in companion_means.items()},
        }
        if label is not None:
            target["known_ore_voxels"] = int(n_known_ore[b])
            target["ore_share"] = float(n_known_ore[b] / n_known[b]) if n_known[b] else None
        targets.append(target)
    targets.sort(key=lambda t: (-t["mass"], -t["max_prob"]))
    return [{"rank": rank, **target} for rank, target in enumerate(targets, start=1)]


def voxel_points(
    prospectivity: np.ndarray, grid: Grid, threshold: float, companions: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Coordinates and prospectivity of the voxel centres at or above ``threshold``, for a 3D point layer,
    with the values of the ``companions`` maps (uncertainty, novelty) at the same voxels."""
    prospectivity = _checked_probability(prospectivity, grid)
    zi, yi, xi = np.nonzero(prospectivity >= threshold)
    values = {name: _checked_cube(cube, grid, name)[zi, yi, xi] for name, cube in (companions or {}).items()}
    return grid.x[xi], grid.y[yi], grid.z[zi], prospectivity[zi, yi, xi], values


def _checked_cube(values: np.ndarray, grid: Grid, name: str) -> np.ndarray:
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    if values.shape != grid.shape:
        raise Mpm3dError(f"The {name} cube {values.shape} does not match the grid {grid.shape}.")
    return values


def _checked_probability(values: np.ndarray, grid: Grid) -> np.ndarray:
    """A prospectivity map: probabilities in [0, 1] or NaN; anything else is some other quantity."""
    values = _checked_cube(values, grid, "prospectivity")
    outside = ~np.isnan(values) & ((values < 0) | (values > 1))
    if outside.any():
        raise Mpm3dError(f"The PROSPECTIVITY cube's 'prospectivity' holds {int(outside.sum())} values outside 0-1 "
                         f"(e.g. {values[outside].flat[0]:g}): it is not a probability map; give a cube written by "
                         "'Predict prospectivity'.")
    return values


def _cut(prospectivity: np.ndarray, threshold: float | None, top_percent: float | None) -> float:
    """The prospectivity at which a voxel joins a target, from exactly one of the two rules."""
    if (threshold is None) == (top_percent is None):
        raise Mpm3dError("Give either a probability threshold or a top percentage of the volume, not both.")
    if threshold is not None:
        return float(threshold)
    if not 0 < top_percent <= 100:
        raise Mpm3dError(f"THRESHOLD: the top percentage of the volume must be above 0 and at most 100, got "
                         f"{top_percent:g}.")
    finite = np.sort(prospectivity[np.isfinite(prospectivity)])
    if finite.size == 0:
        raise Mpm3dError("The prospectivity cube has no finite values; nothing can be ranked.")
    n_top = int(np.ceil(finite.size * top_percent / 100.0))
    return float(finite[finite.size - n_top])
