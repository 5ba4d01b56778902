"""Block models (what 3D geological modelling software exports) <-> the cube, the parts every format shares.

A block model is a set of blocks on a regular lattice, each with attributes. The cube is a regular grid of
voxels, z top down, y north first: a block becomes a voxel, a missing block (air, outside the modelled volume)
nodata, exactly as in a stacked cube, so that training, prediction and evaluation work on it unchanged.
Sub-blocks are regularised onto the parent grid (volume-weighted mean, or majority by volume for class
attributes); a rotated model is read when it is turned by a multiple of 90 degrees and refused otherwise,
never silently dropped. Elevations are metres, positive up; a depth below a datum is turned into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import Mpm3dError
from .cubefile import MIN_LEVELS, RESERVED_NAMES
from .grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Cube, Grid
from .slices import SENTINEL

LOCAL_GRID_CRS = 'LOCAL_CS["local grid",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
LATTICE_TOLERANCE = 1e-3  # of a block: centres written with a few decimals still sit on their lattice point
SHOWN_ROWS = 3  # offending rows named in a message
MAX_CLASSES = 256  # distinct values of one class attribute


@dataclass
class BlockOptions:
    """How to read a block model into a cube: the parameters of 'Import block model' that every format shares."""

    crs: str = ""
    local_grid: bool = False  # no CRS on purpose: the model's own local coordinates
    evidence: list[str] | None = None  # None: every numeric attribute but the excluded ones
    exclude: list[str] = field(default_factory=list)
    label: str = ""  # attribute written as the cube's labels: a 0/1 ore flag, or a grade with ``cutoff``
    cutoff: float | None = None
    classes: list[str] = field(default_factory=list)  # class attributes: majority, not mean, over sub-blocks
    nodata: list[float] = field(default_factory=list)  # sentinels such as -99, -999
    z_is_depth: bool = False  # z is depth below ``datum`` (positive down), not elevation
    datum: float = 0.0
    block_size: tuple[float, float, float] | None = None  # (dx, dy, dz) in the model's own axes; None: inferred
    azimuth: float = 0.0  # degrees, the model's rotation about the vertical axis
    dip: float = 0.0
    plunge: float = 0.0


def grid_crs(options: BlockOptions, source: str) -> str:
    """The cube's CRS: the CRS parameter, or a local grid when the user chose one; a block model carries none."""
    if options.crs.strip():
        return options.crs.strip()
    if options.local_grid:
        return LOCAL_GRID_CRS
    raise Mpm3dError(f"CRS: {source} carries no coordinate reference system; give the CRS its coordinates are in "
                     "(e.g. EPSG:32650), or choose LOCAL_GRID to keep the model's own local coordinates")


def quarter_turns(azimuth: float, dip: float = 0.0, plunge: float = 0.0, source: str = "") -> int:
    """The model's rotation as quarter turns about the vertical (0-3); any other rotation is refused by name."""
    for name, angle in (("dip", dip), ("plunge", plunge)):
        if not np.isclose(float(angle) % 360.0, 0.0, atol=1e-6) and not np.isclose(float(angle) % 360.0, 360.0):
            raise Mpm3dError(f"{source}: the block model is rotated ({name} {angle:g} degrees); the cube is a "
                             "horizontal grid, so a tilted model cannot be read without resampling. Regularise it "
                             "onto an unrotated grid in the modelling software and export that.")
    turns = float(azimuth) / 90.0
    if abs(turns - round(turns)) > 1e-6:
        raise Mpm3dError(f"{source}: the block model is rotated by an azimuth of {azimuth:g} degrees; the cube is "
                         "a north-up grid, so only rotations by a multiple of 90 degrees are read. Regularise the "
                         "model onto an unrotated (azimuth 0) grid in the modelling software and export that, or "
                         "export its block centres in world coordinates with AZIMUTH 0.")
    return int(round(turns)) % 4


def nodata_mask(values: np.ndarray, sentinels: Sequence[float]) -> np.ndarray:
    """Where values are missing: NaN, a sentinel the user named, or beyond 1e30 (-3.4e38 and the like)."""
    missing = ~np.isfinite(values) | (np.abs(values) >= SENTINEL)
    for sentinel in sentinels:
        missing |= values == sentinel
    return missing


def labels_of(values: np.ndarray, cutoff: float | None, column: str, where) -> np.ndarray:
    """Labels (1 ore, 0 barren, -1 unknown) from a flag or, with ``cutoff``, a grade; ``where(index)`` names
    the row of an offending value."""
    known = np.isfinite(values)
    if cutoff is not None:
        return np.where(known, np.where(values >= cutoff, LABEL_ORE, LABEL_BARREN), LABEL_UNKNOWN).astype(np.int8)
    bad = np.flatnonzero(known & (values != 0) & (values != 1))
    if bad.size:
        shown = ", ".join(f"{where(i)} ({values[i]:g})" for i in bad[:SHOWN_ROWS])
        raise Mpm3dError(f"LABEL column '{column}' holds values other than 0 and 1 ({shown}): give a 0/1 ore flag, "
                         "or a CUTOFF that turns the grade into one (ore where the value >= CUTOFF)")
    return np.where(known, values, LABEL_UNKNOWN).astype(np.int8)


def check_options(options: BlockOptions) -> None:
    """Before reading: parameters that contradict each other, each of which would otherwise be dropped silently."""
    if options.crs.strip() and options.local_grid:
        raise Mpm3dError(f"CRS {options.crs.strip()} and LOCAL_GRID were both given: give the CRS the coordinates are "
                         "in, or choose LOCAL_GRID to keep the model's local coordinates, not both.")
    if options.cutoff is not None and not options.label:
        raise Mpm3dError(f"CUTOFF {options.cutoff:g} was given without LABEL: a cut-off turns the LABEL column's "
                         "grade into ore and barren. Name the grade column in LABEL, or leave CUTOFF empty.")
    if options.label and options.label in (options.evidence or []):
        raise Mpm3dError(f"EVIDENCE: '{options.label}' is also the LABEL column; a model given the labels as "
                         "evidence reads the answer from them and learns nothing it could use elsewhere. Leave it "
                         "out of EVIDENCE.")


def evidence_names(available: Sequence[str], options: BlockOptions, used: Sequence[str], source: str) -> list[str]:
    """The attributes that become the cube's features: EVIDENCE as given, else every numeric one but those
    used otherwise (coordinates, sizes, label) and EXCLUDE."""
    check_options(options)
    known = set(available)
    for parameter, names in (("EVIDENCE", options.evidence or []), ("EXCLUDE", options.exclude),
                             ("CLASS_FIELDS", options.classes), ("LABEL", [options.label] if options.label else [])):
        missing = [n for n in names if n not in known]
        if missing:
            raise Mpm3dError(f"{parameter}: {source} has no numeric column {', '.join(repr(n) for n in missing)} "
                             f"(numeric columns: {', '.join(available) or 'none'})")
    if options.evidence:
        names = list(dict.fromkeys(options.evidence))
    else:
        aside = set(used) | set(options.exclude) | ({options.label} if options.label else set())
        names = [n for n in available if n not in aside]
    if not names:
        raise Mpm3dError(f"EVIDENCE: {source} has no evidence column left (numeric columns: "
                         f"{', '.join(available) or 'none'}; used as coordinates, sizes, label or excluded: "
                         f"{', '.join(sorted(set(used) | set(options.exclude))) or 'none'}); give the evidence "
                         "columns in EVIDENCE")
    clash = [n for n in names if n in RESERVED_NAMES]
    if clash:
        label_hint = " give LABEL label to read it as the labels, or" if "label" in clash else ""
        raise Mpm3dError(f"EVIDENCE: the column name(s) {', '.join(clash)} are names the cube keeps for its own "
                         "variables (as an exported cube's label and maps are written):"
                         f"{label_hint} leave them out with EXCLUDE, or rename them.")
    return names


def elevations(z: np.ndarray, options: BlockOptions) -> np.ndarray:
    """z as elevation, positive up: depth below the datum turned over."""
    return options.datum - z if options.z_is_depth else z


@dataclass
class Lattice:
    """One axis of the block grid: cell ``k`` is centred at ``centres[k]``, ascending, ``step`` apart."""

    centres: np.ndarray
    step: float

    @classmethod
    def of(cls, values: np.ndarray, step: float | None, axis: str, source: str) -> Lattice:
        """The lattice through sorted unique centres; the step given, else the smallest gap between centres.

        Where a lattice point holds a centre, that centre (as written) is the coordinate, so that the centres
        come back exactly when the cube is written out again.
        """
        if step is None:
            gaps = np.diff(values)
            if gaps.size == 0:
                raise Mpm3dError(f"BLOCK_SIZE: every block of {source} has the same {axis} centre, so the block size "
                                 f"along {axis} cannot be inferred; give BLOCK_SIZE")
            step = float(gaps.min())
        if not step > 0:
            raise Mpm3dError(f"BLOCK_SIZE: the block size along {axis} must be positive, got {step:g}")
        index = np.rint((values - values[0]) / step).astype(np.int64)
        centres = values[0] + step * np.arange(int(index[-1]) + 1, dtype=np.float64)
        centres[index] = values
        return cls(centres, step)

    def off_lattice(self, values: np.ndarray) -> np.ndarray:
        """Where centres lie between lattice points (their fraction of a step)."""
        fraction = (values - self.centres[0]) / self.step
        return np.abs(fraction - np.rint(fraction)) > LATTICE_TOLERANCE

    def index(self, values: np.ndarray) -> np.ndarray:
        return np.rint((values - self.centres[0]) / self.step).astype(np.int64)


def lattice_problem(fractions: np.ndarray, rows: str, axis: str, step: float, sized: bool) -> Mpm3dError:
    """The error for centres off the lattice: blocks of several sizes (no size columns), or no lattice at all."""
    parts = np.abs(fractions - np.floor(fractions))
    halves = np.all(np.isclose((parts * 16) % 1.0, 0.0, atol=16 * LATTICE_TOLERANCE)
                    | np.isclose((parts * 16) % 1.0, 1.0, atol=16 * LATTICE_TOLERANCE))
    if halves and not sized:
        return Mpm3dError(f"Block centres at {rows} lie between the points of a {step:g} m lattice along {axis}: the "
                          "model holds blocks of several sizes (sub-blocks) but no size columns were given; give its "
                          "size columns in SIZE_FIELDS (e.g. DX,DY,DZ), so that the sub-blocks are regularised")
    return Mpm3dError(f"Block centres are not on one lattice: {rows} lie between the points of a {step:g} m "
                      f"lattice along {axis}. Check BLOCK_SIZE and that every centre belongs to one regular model "
                      "(a rotated model needs AZIMUTH)")


def cube_from_grid(x: np.ndarray, y: np.ndarray, z: np.ndarray, arrays: dict[str, np.ndarray],
                   options: BlockOptions, source: str) -> tuple[Cube, dict]:
    """A cube from a block model that is already a regular grid (VTK, OMF, geoh5): ``x``, ``y``, ``z`` cell
    centres ascending (z as the file gives it), ``arrays`` each (Z, Y, X) in that order; NaN where missing."""
    z = elevations(np.asarray(z, float), options)
    order_z = np.argsort(-z, kind="stable")  # top level first
    names = evidence_names(list(arrays), options, [], source)

    def cube_order(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, np.float64)[order_z][:, ::-1]
        return np.where(nodata_mask(values, options.nodata), np.nan, values)

    features = np.stack([cube_order(arrays[n]).astype(np.float32) for n in names])
    label = None
    if options.label:
        values = cube_order(arrays[options.label])
        flat_shape = values.shape
        label = labels_of(values.reshape(-1), options.cutoff, options.label,
                          lambda i: f"block {np.unravel_index(i, flat_shape)}").reshape(flat_shape)
    grid = Grid(crs=grid_crs(options, source), x=np.asarray(x, float), y=np.asarray(y, float)[::-1], z=z[order_z])
    return checked_cube(Cube(grid, features, names, label), source), {"BLOCKS": int(np.prod(grid.shape))}


def checked_cube(cube: Cube, source: str) -> Cube:
    """What every imported cube must be: enough levels, data in every feature."""
    if len(cube.grid.z) < MIN_LEVELS:
        raise Mpm3dError(f"{source} has {len(cube.grid.z)} level(s) of blocks; a cube needs at least {MIN_LEVELS} "
                         "(the smallest patch is 3 voxels deep)")
    for name, values in zip(cube.feature_names, cube.features, strict=True):
        if not np.isfinite(values).any():
            raise Mpm3dError(f"EVIDENCE: column '{name}' of {source} has no value in any block (all empty or "
                             "nodata); check NODATA, or leave the column out")
    return cube


def turn_grid(u: np.ndarray, v: np.ndarray, arrays: dict[str, np.ndarray], origin: tuple[float, float],
              turns: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A grid in the model's own (u, v) axes, turned ``turns`` quarter turns anticlockwise about ``origin``, as
    world x and y centres (ascending) and arrays (Z, Y, X): exact, because the cells only change places."""
    x0, y0 = origin
    if turns == 0:
        return x0 + u, y0 + v, arrays
    if turns == 1:  # u points north, v west
        return x0 - v[::-1], y0 + u, {n: np.swapaxes(a, 1, 2)[:, :, ::-1] for n, a in arrays.items()}
    if turns == 2:
        return x0 - u[::-1], y0 - v[::-1], {n: a[:, ::-1, ::-1] for n, a in arrays.items()}
    return x0 + v, y0 - u[::-1], {n: np.swapaxes(a, 1, 2)[:, ::-1, :] for n, a in arrays.items()}


def level_thickness(z: np.ndarray) -> np.ndarray:
    """Each level's thickness, from midway to the level above to midway to the one below (cube order)."""
    z = np.asarray(z, float)
    if len(z) < 2:
        return np.ones_like(z)
    edges = np.concatenate([[z[0] + (z[0] - z[1]) / 2], (z[:-1] + z[1:]) / 2, [z[-1] - (z[-2] - z[-1]) / 2]])
    return edges[:-1] - edges[1:]
