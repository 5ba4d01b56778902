"""Exploration targets: distinct high-prospectivity bodies of a prospectivity cube, ranked for drilling."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import product

import numpy as np

from ..data.grid import LABEL_ORE, LABEL_UNKNOWN, Grid
from ..errors import Mpm3dError
from .metrics import top_share_cut

# 26-connectivity: voxels touching by a face, an edge or a corner belong to one body, because an
# ore shoot dipping across the grid only meets its next voxel diagonally.
NEIGHBOURS_26 = [offset for offset in product((-1, 0, 1), repeat=3) if offset != (0, 0, 0)]
# Maps of a prediction that travel with its targets and voxels, where the cube has them.
COMPANIONS = ("uncertainty", "novelty")
# A peak is a target of its own when the probability drops by at least this much on every path to a
# higher peak; measured on the demo's prediction, 0.05 splits its one connected top-5 % cloud (the whole
# model height) into plunging shoots without cutting noise ripples into targets.
DEFAULT_MIN_DROP = 0.05
TOP_EVIDENCE = 3  # the evidence layers each target names, most telling first


def extract_targets(
    prospectivity: np.ndarray,
    grid: Grid,
    threshold: float | None = None,
    top_percent: float | None = None,
    min_voxels: int = 1,
    min_drop: float = DEFAULT_MIN_DROP,
    label: np.ndarray | None = None,
    companions: dict[str, np.ndarray] | None = None,
    max_uncertainty: float | None = None,
    evidence: tuple[np.ndarray, np.ndarray, list[str]] | None = None,
) -> list[dict]:
    """Distinct bodies of voxels at or above a cut, best first, with what a drilling plan needs.

    The cut is the probability ``threshold`` or the prospectivity that keeps the top ``top_percent`` % of
    the voxels with a finite prospectivity (ties at the cut are all kept). The voxels above it are split
    into bodies around their probability peaks (see ``separate_bodies``), so that one connected cloud
    along a mineralised structure becomes the shoots an explorer would drill one by one.

    Ranking: by the probability mass above the cut, the sum of (probability - cut) over the body's voxels.
    It favours high probability (a voxel just above the cut adds almost nothing, so a large lukewarm body
    does not outrank a smaller, clearly brighter one) while still preferring more of it; the plain mean
    would put a single noisy voxel first. Ties go to the higher maximum probability, then to the
    shallower top (cheaper to drill), then to the body met first in the cube's (z, y, x) order.

    Each target has its probability-weighted centroid, top and bottom elevation, depth below the top of
    the model (the highest level with a prediction in each of its columns), volume, voxel count,
    mean/max probability, the footprint (outline in plan of its columns, WKT), and the flags
    ``open_at_depth`` (it reaches the model's floor: the bottom level, or a voxel without a prediction
    below it, so it may continue deeper) and ``at_edge`` (it reaches a side of the grid or of the
    predicted volume, so it may continue outside). ``companions`` are maps on the same grid
    ("uncertainty", "novelty") reported as ``mean_<name>``; with ``max_uncertainty`` a voxel whose
    uncertainty exceeds it joins no body. With ``label``, the share of the body's known voxels that are ore.
    With ``evidence`` (the prediction's dominant evidence and its change, and the layers' names: see
    ``why_here_maps``), ``evidence_1`` to ``evidence_3``: the layers that dominate most of the body, each with its
    ``evidence_<k>_share`` of the body's summed |change| (None where fewer layers dominate any of it).
    Every target also carries the ``cut`` (probability) it was extracted at.
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
            raise Mpm3dError("An uncertainty cut-off (MAX_UNCERTAINTY) needs a cube with an 'uncertainty' variable "
                             "(a single network has none): predict with a model of several members "
                             "(ENSEMBLE_MEMBERS 2 or more) or a random forest, or leave MAX_UNCERTAINTY empty.")
        above = int(np.count_nonzero(selected))
        certain = companions["uncertainty"] <= max_uncertainty
        if above and not np.any(selected & certain):
            lowest = float(np.nanmin(np.where(selected, companions["uncertainty"], np.nan)))
            raise Mpm3dError(f"MAX_UNCERTAINTY {max_uncertainty:g} removed all {above} voxels above the cut "
                             f"(probability >= {cut:.3f}): the lowest uncertainty among them is {lowest:.3g}. Raise "
                             "MAX_UNCERTAINTY above that, or leave it empty for no uncertainty cut.")
        selected &= certain

    bodies, n_bodies = separate_bodies(prospectivity, selected, min_drop, min_voxels)
    if n_bodies == 0:
        return []
    zi, yi, xi = np.nonzero(bodies)
    body = bodies[zi, yi, xi] - 1
    p = prospectivity[zi, yi, xi]
    z, y, x = grid.z[zi], grid.y[yi], grid.x[xi]

    def per_body(weights: np.ndarray) -> np.ndarray:
        return np.bincount(body, weights=weights, minlength=n_bodies)

    def any_per_body(flags: np.ndarray) -> np.ndarray:
        return per_body(flags[zi, yi, xi].astype(float)) > 0

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

    def reduce(ufunc, values: np.ndarray) -> np.ndarray:
        return ufunc.reduceat(values[order], starts)

    surface = _column_tops(prospectivity, grid)
    depth = reduce(np.minimum, surface[yi, xi] - z)
    floor, side = _open_sides(prospectivity)
    if label is not None:
        voxel_label = label[zi, yi, xi]
        n_known = np.bincount(body[voxel_label != LABEL_UNKNOWN], minlength=n_bodies)
        n_known_ore = np.bincount(body[voxel_label == LABEL_ORE], minlength=n_bodies)
    companion_means = {name: per_body(values[zi, yi, xi]) / n_voxels for name, values in companions.items()}
    top_evidence = _top_evidence(evidence, grid, body, n_bodies, (zi, yi, xi)) if evidence is not None else None
    rows_sorted, cols_sorted = yi[order], xi[order]  # once: a copy per body kept n_bodies x the volume alive
    columns = [(rows_sorted[start:end], cols_sorted[start:end])
               for start, end in zip(starts, [*starts[1:], len(order)], strict=True)]
    measures = {
        "x": centroid["x"], "y": centroid["y"], "z": centroid["z"],
        "top_z": reduce(np.maximum, z), "bottom_z": reduce(np.minimum, z), "depth_m": depth,
        "volume_m3": n_voxels * grid.voxel_volume(), "mean_prob": mass / n_voxels, "max_prob": reduce(np.maximum, p),
        "mass_above_cut": per_body(p - cut),
        **{f"mean_{name}": means for name, means in companion_means.items()},
    }
    open_at_depth, at_edge = any_per_body(floor), any_per_body(side)
    dx, dy = grid.pixel_size
    targets = []
    for b in range(n_bodies):
        rows, cols = columns[b]
        footprint = np.zeros((rows.max() - rows.min() + 1, cols.max() - cols.min() + 1), dtype=bool)
        footprint[rows - rows.min(), cols - cols.min()] = True
        target = {
            **{key: float(values[b]) for key, values in measures.items()},
            "n_voxels": int(n_voxels[b]),
            "open_at_depth": bool(open_at_depth[b]),
            "at_edge": bool(at_edge[b]),
            "footprint_m2": float(footprint.sum() * dx * dy),
            "footprint_wkt": footprint_wkt(footprint, grid.x[cols.min()] - dx / 2, grid.y[rows.min()] + dy / 2,
                                           dx, dy),
            "ore_share": None,
            "known_ore_voxels": None,
            "cut": cut,
        }
        if label is not None:
            target["known_ore_voxels"] = int(n_known_ore[b])
            target["ore_share"] = float(n_known_ore[b] / n_known[b]) if n_known[b] else None
        if top_evidence is not None:
            target.update(top_evidence[b])
        targets.append(target)
    # Masses equal but for rounding are a tie. Bodies are numbered in the cube's (z, y, x) order, so the stable
    # sort breaks the last ties by it.
    targets.sort(key=lambda t: (-round(t["mass_above_cut"], 9), -t["max_prob"], -t["top_z"]))
    return [{"rank": rank, **target} for rank, target in enumerate(targets, start=1)]


def why_here_maps(reader) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """A prediction cube's dominant evidence, its change and the layers' names (Predict's WHY_HERE); None where the
    cube has none."""
    from ..data.cubefile import CHANGE_MAP, DOMINANT_MAP

    names = reader.attrs.get("mpm3d_model_features")
    if not (reader.has(DOMINANT_MAP) and reader.has(CHANGE_MAP) and names):
        return None
    return reader.read_variable(DOMINANT_MAP), reader.read_variable(CHANGE_MAP), list(json.loads(names))


def _top_evidence(evidence, grid: Grid, body: np.ndarray, n_bodies: int, voxels) -> list[dict]:
    """Per body, its TOP_EVIDENCE layers by their share of the body's summed |change| where each dominates."""
    dominant, change, names = evidence
    dominant, change = _checked_cube(dominant, grid, "dominant_evidence"), _checked_cube(change, grid,
                                                                                         "dominant_change")
    classes = np.nan_to_num(dominant[voxels], nan=0).astype(np.int64)
    weight = np.nan_to_num(np.abs(change[voxels]))
    n_classes = len(names) + 1
    sums = np.bincount(body * n_classes + classes, weights=weight, minlength=n_bodies * n_classes).reshape(
        n_bodies, n_classes)[:, 1:]  # class 0: no layer changes the voxel
    totals = sums.sum(axis=1)
    rows = []
    for b in range(n_bodies):
        ranked = [k for k in np.argsort(-sums[b], kind="stable") if sums[b, k] > 0][:TOP_EVIDENCE]
        row = {}
        for place in range(TOP_EVIDENCE):
            chosen = ranked[place] if place < len(ranked) else None
            row[f"evidence_{place + 1}"] = names[chosen] if chosen is not None else None
            row[f"evidence_{place + 1}_share"] = float(sums[b, chosen] / totals[b]) if chosen is not None else None
        rows.append(row)
    return rows


def separate_bodies(
    prospectivity: np.ndarray, selected: np.ndarray, min_drop: float, min_voxels: int = 1
) -> tuple[np.ndarray, int]:
    """Bodies of the ``selected`` voxels, one per distinct probability peak, numbered 1..n (0 elsewhere).

    A seeded watershed on the probability whose seeds are the peaks that stand out: voxels are flooded
    from the highest probability down (26-connected); each local peak starts a body, and where bodies
    meet, each is merged into the highest of those already holding ``min_voxels`` voxels (the highest of
    all where none does) unless its own peak stands at least ``min_drop`` above the meeting point (the
    saddle) and it holds ``min_voxels`` voxels itself. A voxel touching several bodies joins the one of its
    highest neighbour. So two highs joined by a thin bridge
    of lower probability are two targets, while noise ripples and small bumps on a flank stay part of
    their body. We chose this over plain connected components (one connected cloud along a structure is
    one target spanning the whole model) and over hysteresis thresholds (a bridge above the low threshold
    still joins the highs). ``min_drop`` of 1 or more gives the connected components; bodies still
    smaller than ``min_voxels`` at the end are dropped.
    """
    padded = np.pad(selected, 1)
    flat_p = np.pad(np.where(selected, prospectivity, -np.inf), 1, constant_values=-np.inf).ravel()
    strides = [padded.shape[1] * padded.shape[2], padded.shape[2], 1]
    offsets = [int(np.dot(offset, strides)) for offset in NEIGHBOURS_26]
    candidates = np.flatnonzero(padded)
    order = candidates[np.argsort(-flat_p[candidates], kind="stable")].tolist()
    values = flat_p[order].tolist()
    owner: dict[int, int] = {}  # voxel -> body id (not always its root)
    parent: list[int] = []
    peak: list[float] = []
    size: list[int] = []

    def root(body: int) -> int:
        while parent[body] != body:
            parent[body] = parent[parent[body]]
            body = parent[body]
        return body

    for voxel, value in zip(order, values, strict=True):
        roots, highest, highest_value = set(), None, -np.inf
        for offset in offsets:
            neighbour = voxel + offset
            if neighbour in owner:
                roots.add(root(owner[neighbour]))
                if flat_p[neighbour] > highest_value:
                    highest, highest_value = neighbour, flat_p[neighbour]
        if not roots:
            owner[voxel] = len(parent)
            parent.append(len(parent))
            peak.append(value)
            size.append(1)
            continue
        # The body that takes in the others: one already large enough if any, the highest of those.
        winner = min(roots, key=lambda body: (size[body] < min_voxels, -peak[body], body))
        for other in roots - {winner}:
            if peak[other] - value < min_drop or size[other] < min_voxels:
                parent[other] = winner
                size[winner] += size[other]
                peak[winner] = max(peak[winner], peak[other])
        joined = root(owner[highest])
        owner[voxel] = joined
        size[joined] += 1

    labels = np.zeros(padded.size, dtype=np.int32)
    if owner:
        voxels = np.fromiter(owner, dtype=np.int64, count=len(owner))
        roots = np.array([root(body) for body in owner.values()])
        kept = np.array([size[r] >= min_voxels for r in roots], dtype=bool)
        voxels, roots = voxels[kept], roots[kept]
        # Numbered by their first voxel in (z, y, x) order, so the numbering does not depend on the flooding.
        first = {}
        for r in roots[np.argsort(voxels, kind="stable")].tolist():
            first.setdefault(r, len(first) + 1)
        labels[voxels] = [first[r] for r in roots.tolist()]
        n_bodies = len(first)
    else:
        n_bodies = 0
    return labels.reshape(padded.shape)[1:-1, 1:-1, 1:-1], n_bodies


def footprint_wkt(columns: np.ndarray, west: float, north: float, dx: float, dy: float) -> str:
    """The outline in plan of the True cells of a (rows, columns) mask as a WKT MultiPolygon.

    Row 0 is the northern row, its top edge at ``north``; column 0's western edge is at ``west``. Cells
    touching only at a corner are separate parts (a valid MultiPolygon), and a ring of cells around an
    empty one has a hole.
    """
    shells, holes = [], []
    for ring in _outline_rings(columns):
        xy = [(west + c * dx, north - r * dy) for c, r in ring]
        (shells if _signed_area(xy) > 0 else holes).append(xy)
    polygons = [[shell] for shell in shells]
    for hole in holes:
        # The middle of a hole's first edge lies inside the polygon it punches, on no other ring.
        (x0, y0), (x1, y1) = hole[0], hole[1]
        inside = [i for i, shell in enumerate(shells) if _contains(shell, ((x0 + x1) / 2, (y0 + y1) / 2))]
        polygons[min(inside, key=lambda i: abs(_signed_area(shells[i])))].append(hole)

    def ring_text(ring):
        return "(" + ", ".join(f"{float(x)!r} {float(y)!r}" for x, y in [*ring, ring[0]]) + ")"

    return "MULTIPOLYGON (" + ", ".join("(" + ", ".join(map(ring_text, polygon)) + ")" for polygon in polygons) + ")"


def _outline_rings(columns: np.ndarray) -> list[list[tuple[int, int]]]:
    """Closed rings of cell-corner indices (column, row) around the True cells, the cells on the left in map
    orientation (north up): shells counter-clockwise, holes clockwise; each ring visits a corner once."""
    padded = np.pad(columns, 1)
    cells = padded[1:-1, 1:-1]
    outgoing = defaultdict(list)
    # (neighbour that must be empty, start corner, end corner) per side, as (row, column) offsets of the cell
    for empty, start, end in ((padded[2:, 1:-1], (1, 0), (1, 1)),  # south side, walked east
                              (padded[1:-1, 2:], (1, 1), (0, 1)),  # east side, walked north
                              (padded[:-2, 1:-1], (0, 1), (0, 0)),  # north side, walked west
                              (padded[1:-1, :-2], (0, 0), (1, 0))):  # west side, walked south
        for r, c in zip(*np.nonzero(cells & ~empty), strict=True):
            outgoing[(int(c) + start[1], int(r) + start[0])].append((int(c) + end[1], int(r) + end[0]))
    rings = []
    for corner in sorted(outgoing):
        # The first corner left in (column, row) order is a convex corner with one way on: a clean start.
        while outgoing[corner]:
            ring, here, heading = [corner], corner, None
            while True:
                ways = outgoing[here]
                # Where two ways leave a corner (cells touching at that corner only), turn left: the
                # cell on the left stays with this ring, so cells joined only at a corner are separate.
                step = ways[0] if len(ways) == 1 else next(w for w in ways if _turn(heading, here, w) > 0)
                ways.remove(step)
                heading, here = (step[0] - here[0], step[1] - here[1]), step
                if here == corner:
                    break
                ring.append(here)
            rings.extend(_simple_loops(ring))
    return [_without_straight_corners(ring) for ring in rings]


def _turn(heading: tuple[int, int], here: tuple[int, int], there: tuple[int, int]) -> int:
    """Positive for a left turn in map orientation (rows count southwards, so the row axis is flipped)."""
    return heading[0] * -(there[1] - here[1]) - -heading[1] * (there[0] - here[0])


def _simple_loops(ring: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """A ring that passes a corner twice (a hole touching the outline there) cut into loops that do not."""
    loops, path, seen = [], [], {}
    for corner in ring:
        if corner in seen:
            start = seen[corner]
            loops.append(path[start:])
            for dropped in path[start + 1:]:
                del seen[dropped]
            path = path[:start + 1]
        else:
            seen[corner] = len(path)
            path.append(corner)
    return [path, *loops]


def _without_straight_corners(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ring's corners only: points in the middle of a straight run of cell edges are dropped."""
    kept = []
    for i, (c, r) in enumerate(ring):
        (pc, pr), (nc, nr) = ring[i - 1], ring[(i + 1) % len(ring)]
        if (c - pc) * (nr - r) != (r - pr) * (nc - c):
            kept.append((c, r))
    return kept


def _signed_area(ring: list[tuple[float, float]]) -> float:
    """Shoelace area, positive for a counter-clockwise ring."""
    x, y = np.array(ring).T
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def _contains(ring: list[tuple[float, float]], point: tuple[float, float]) -> bool:
    """Even-odd rule: a ray from the point to the east crosses the ring an odd number of times."""
    px, py = point
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y0 > py) != (y1 > py) and px < x0 + (py - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _column_tops(prospectivity: np.ndarray, grid: Grid) -> np.ndarray:
    """Elevation of the highest level with a prediction in each column (the top level where there is none)."""
    first = np.argmax(np.isfinite(prospectivity), axis=0)
    return grid.z[first]


def _open_sides(prospectivity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voxels with nothing predicted below them (floor) and beside them (side): the model ends there."""
    has_data = np.pad(np.isfinite(prospectivity), 1)
    centre = (slice(1, -1),) * 3
    floor = ~has_data[2:, 1:-1, 1:-1]
    side = np.zeros(prospectivity.shape, dtype=bool)
    for axis in (1, 2):
        for shift in (slice(None, -2), slice(2, None)):
            index = list(centre)
            index[axis] = shift
            side |= ~has_data[tuple(index)]
    return floor, side


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
        raise Mpm3dError("Give either a minimum probability or a top percentage of the volume, not both.")
    if threshold is not None:
        return float(threshold)
    if not 0 < top_percent <= 100:
        raise Mpm3dError(f"TOP_PERCENT: the top percentage of the volume must be above 0 and at most 100, got "
                         f"{top_percent:g}.")
    finite = prospectivity[np.isfinite(prospectivity)]
    if top_percent < 100 and finite.size and finite.min() == finite.max():
        raise Mpm3dError(f"TOP_PERCENT {top_percent:g}: every voxel with a prediction has the same prospectivity "
                         f"({finite.flat[0]:.4g}), so no top {top_percent:g} % can be told from the rest and the whole "
                         "volume would be one target. The map ranks nothing: predict again with a model that "
                         "learnt something (check its training report), or cut by MIN_PROBABILITY (CUT_BY 1).")
    return top_share_cut(prospectivity, top_percent / 100.0)


TIED_EXCESS = 1.5  # a cut whose ties keep more than this times TOP_PERCENT is worth a word


def tied_cut_warning(prospectivity: np.ndarray, top_percent: float) -> str | None:
    """A word when voxels tied at the TOP_PERCENT cut keep far more of the volume than asked (a map saturated at
    one value): the targets then cover that share, not the top TOP_PERCENT %."""
    finite = prospectivity[np.isfinite(prospectivity)]
    if not finite.size:
        return None
    cut = top_share_cut(prospectivity, top_percent / 100.0)
    kept = 100.0 * np.count_nonzero(finite >= cut) / finite.size
    if kept <= TIED_EXCESS * top_percent:
        return None
    return (f"TOP_PERCENT {top_percent:g}: {kept:.1f} % of the volume has a prospectivity of at least {cut:.4g}, the "
            f"cut for the top {top_percent:g} %, because so many voxels share that value; all of them are kept, so "
            f"the targets cover {kept:.1f} %, not {top_percent:g} %. Cut by MIN_PROBABILITY (CUT_BY 1) above "
            f"{cut:.4g} to keep less.")
