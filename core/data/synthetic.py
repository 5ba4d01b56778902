"""Seeded synthetic pair of Jiaodong-type gold deposits: a labelled source and a shifted target.

Why: domain adaptation has to be tested, demonstrated and benchmarked without real data, on two
deposits that share one ore-forming process but whose 3D models were built differently. The
geology follows the Zhaoping fault deposits (source "Xiadian-like", target "Dayingezhuang-like"):
ore lies in the footwall of a gently dipping, stepped (listric) main fault, close to the fault
plane, favoured in gentle segments and where the dip turns from steep to gentle downwards, near a
granitoid contact, and concentrated in plunging shoots.

The evidence is what a 3D geological model offers: distance, dip and dip change of the *modelled*
fault and distance to the modelled contact (both carry interpretation error), smoothed density
and susceptibility inversions with a regional trend, alteration and fracture density interpolated
from drill logs. Labels threshold a latent favourability of the *true* geology after random
scatter, so they are not a function of the evidence.

The target differs as real neighbours do: a steeper fault and a deeper model, a sparser-drilled
and so less certain fault model, ore further into a broader footwall alteration zone, other
inversion calibrations, alteration logged in classes 0-5 instead of per cent, fewer ore voxels
and noisier logs. A model trained on the source alone therefore loses accuracy on the target.

That pair mixes two shifts: where ore sits relative to its evidence (a shift of P(ore | evidence) that no
label-free method can undo) and how the evidence was measured. The pair profiles (PAIR_PROFILES) take them
apart, so a benchmark can tell whether an adaptation helps where it can: ``measurement`` draws the target's
geology from the source's deposit parameters and changes only how it is measured, in ways per-deposit
standardisation cannot undo (MEASUREMENT_PARTS, each switchable), but all away from the ore's own controls;
``fault_geometry`` changes only how the fault model's layers, the ore's controls, are exported
(FAULT_GEOMETRY_PARTS); ``concept_only`` measures both alike and moves only the ore zone, the negative control;
``as_designed`` is the pair above.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter, gaussian_filter1d, map_coordinates

from ..errors import Mpm3dError
from .grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Cube, Grid
from .voxelise import cell_indices

FEATURE_NAMES: list[str] = [
    "fault_distance",
    "fault_dip",
    "fault_dip_change",
    "contact_distance",
    "density",
    "susceptibility",
    "alteration",
    "fracture_density",
]

PROFILES: dict[str, dict] = {
    # Each covers about the same ground (1.6 km x 1.6 km, 0.8-1 km deep) at another resolution.
    "test": {"shape": (16, 40, 40), "voxel_size": (50.0, 40.0, 40.0)},
    "demo": {"shape": (24, 64, 64), "voxel_size": (40.0, 25.0, 25.0)},
    "bench": {"shape": (64, 128, 128), "voxel_size": (15.0, 12.5, 12.5)},
    # A real deposit-scale model (bench/size.py): 25 million voxels of 25 m x 25 m x 12 m over 12.5 km x 12.5 km
    # and 1.2 km of depth; the only profile that covers more ground than the others.
    "size": {"shape": (100, 500, 500), "voxel_size": (12.0, 25.0, 25.0)},
}

CRS = "EPSG:4528"  # CGCS2000 / 3-degree Gauss-Kruger zone 40: eastings carry the zone number
TABLE_STEP_M = 10.0  # resolution of the tabulated fault surfaces
SHOOT_SPACING_M = 450.0
SHOOT_PLUNGE_DEG = 40.0
CONTACT_DIP_DEG = 70.0
REFERENCE_DENSITY = 2.67  # g/cm3, the crustal reference of the density inversions
INVERSION_RESOLUTION_M = 150.0  # horizontal smoothing of the geophysical inversions


@dataclass(frozen=True)
class _Deposit:
    """What makes one deposit and its 3D model differ from the other."""

    name: str
    stream: int  # distinct random stream per deposit, derived from the one seed
    west: float  # easting of the first column centre (m)
    north: float  # northing of the first row centre (m)
    top: float  # elevation of the first level (m)
    strike_deg: float
    steep_dip_deg: float
    gentle_dip_deg: float
    step_wavelength_m: float  # depth period of the steep/gentle alternation
    fault_model_error_m: float  # interpretation error of the modelled fault surface
    contact_model_error_m: float
    ore_zone_depth_m: float  # how far into the footwall the ore zone is centred
    ore_zone_width_m: float
    alteration_halo_m: float  # e-folding width of the footwall alteration halo
    ore_fraction: float
    ore_scatter: float  # log-normal scatter of favourability at voxel scale
    log_noise: float  # scale of the noise on logged and inverted evidence
    density_scale: float  # calibration: reported = reference + scale * (inverted - reference) + offset
    density_offset: float
    susceptibility_scale: float
    susceptibility_offset: float
    alteration_in_classes: bool  # logging scale: classes 0-5 instead of per cent altered
    # The measurement profile's parts (MEASUREMENT_PARTS); the defaults measure as the source does.
    alteration_cuts: tuple[float, ...] = ()  # logged as classes 0-5 at these cuts of the alteration intensity
    susceptibility_log: bool = False  # reported as log10(1 + susceptibility)
    density_leak: float = 0.0  # density reported with this many of its sd of standardised susceptibility mixed in
    depth_drift_sd_per_km: float = 0.0  # density and susceptibility calibration drift, in sd per km of depth
    model_coarsening: float = 1.0  # correlation lengths of logs and inversions, times this (a texture shift)
    # The fault-geometry profile's parts (FAULT_GEOMETRY_PARTS): the fault model's layers exported otherwise.
    fault_distance_log_m: float = 0.0  # distance reported as sign(d) log10(1 + |d| / this), when > 0
    dip_change_window_m: float = 0.0  # the modelled dip smoothed over this depth (Gaussian sd) before its change


_DEPOSITS: dict[str, _Deposit] = {
    "source": _Deposit(
        name="Xiadian-like", stream=0, west=40_512_000.0, north=4_134_000.0, top=-100.0,
        strike_deg=30.0, steep_dip_deg=42.0, gentle_dip_deg=24.0, step_wavelength_m=300.0,
        fault_model_error_m=20.0, contact_model_error_m=25.0,
        ore_zone_depth_m=35.0, ore_zone_width_m=35.0, alteration_halo_m=90.0,
        ore_fraction=0.03, ore_scatter=0.5, log_noise=1.0,
        density_scale=1.0, density_offset=0.0, susceptibility_scale=1.0, susceptibility_offset=0.0,
        alteration_in_classes=False,
    ),
    "target": _Deposit(
        name="Dayingezhuang-like", stream=1, west=40_521_000.0, north=4_139_000.0, top=-300.0,
        strike_deg=38.0, steep_dip_deg=58.0, gentle_dip_deg=40.0, step_wavelength_m=360.0,
        fault_model_error_m=60.0, contact_model_error_m=40.0,
        ore_zone_depth_m=110.0, ore_zone_width_m=50.0, alteration_halo_m=140.0,
        ore_fraction=0.015, ore_scatter=0.7, log_noise=1.6,
        density_scale=0.7, density_offset=0.08, susceptibility_scale=0.5, susceptibility_offset=250.0,
        alteration_in_classes=True,
    ),
}


# The measurement profile's parts, each a way the target's model measures the same geology differently that
# per-deposit standardisation (a shift and a scale per feature) cannot undo: value -> what it does.
MEASUREMENT_PARTS: dict[str, str] = {
    "alteration_cuts": "alteration logged in classes 0-5 at other, uneven cut points",
    "log_susceptibility": "susceptibility reported in log units",
    "density_leak": "density that leaks susceptibility (a mix of two features)",
    "depth_drift": "a calibration drift of density and susceptibility that grows with depth",
    "coarser_model": "a coarser target model: logs and inversions correlated over 2.5 times the length",
}
_MEASUREMENT = {
    "alteration_cuts": {"alteration_in_classes": True, "alteration_cuts": (0.12, 0.2, 0.26, 0.34, 0.6)},
    "log_susceptibility": {"susceptibility_log": True},
    "density_leak": {"density_leak": 0.8},
    "depth_drift": {"depth_drift_sd_per_km": 1.5},
    "coarser_model": {"model_coarsening": 2.5},
    "log_fault_distance": {"fault_distance_log_m": 10.0},
    "smoother_dip_change": {"dip_change_window_m": 60.0},
}
# The fault-geometry profile's parts: the ore's own controls (distance to the fault and where its dip changes)
# exported by another modelling package, in ways standardisation cannot undo and an order-keeping (quantile)
# map of each layer can. Fixed before the first run.
FAULT_GEOMETRY_PARTS: dict[str, str] = {
    "log_fault_distance": "distance to the fault as a signed log10(1 + |d| / 10 m)",
    "smoother_dip_change": "dip change of a fault dip smoothed over 60 m of depth",
}
_PROFILE_PARTS = {"measurement": MEASUREMENT_PARTS, "fault_geometry": FAULT_GEOMETRY_PARTS}
# Pair profile -> what it is, as the demo and the benchmark print it. Their parameters were fixed before any run.
PAIR_PROFILES: dict[str, str] = {
    "as_designed": "the target differs in geology (ore deeper in the footwall) and in measurement",
    "measurement": "the same geology measured differently: only the evidence shifts (adaptation can help)",
    "concept_only": "the same measurement, only the ore zone moved (no label-free method can help)",
    "fault_geometry": "the same geology, its fault model exported otherwise: the ore's own controls shift",
}


def _target_deposit(profile: str, parts: tuple[str, ...] | None) -> _Deposit:
    """The target deposit of a pair profile: its geology and measurement."""
    designed, source = _DEPOSITS["target"], _DEPOSITS["source"]
    if profile == "as_designed":
        return designed
    # the source's deposit parameters at the target's place, in a random stream of its own
    geology = replace(source, name=f"{source.name} twin", stream=designed.stream, west=designed.west,
                      north=designed.north)
    if profile == "concept_only":
        return replace(geology, ore_zone_depth_m=designed.ore_zone_depth_m, ore_zone_width_m=designed.ore_zone_width_m)
    measured = {}
    for part in _PROFILE_PARTS[profile] if parts is None else parts:
        measured.update(_MEASUREMENT[part])
    return replace(geology, **measured)


def synthetic_deposit(
    kind: str,
    shape: tuple[int, int, int] = PROFILES["demo"]["shape"],
    voxel_size: tuple[float, float, float] = PROFILES["demo"]["voxel_size"],
    seed: int = 0,
    same_ore_zone: bool = False,
    profile: str = "as_designed",
    measurement_parts: tuple[str, ...] | None = None,
) -> Cube:
    """One labelled deposit, "source" or "target", on (nz, ny, nx) voxels of (dz, dy, dx) metres.

    The same seed gives identical arrays, and a deposit is the same alone or in a pair, so a
    benchmark or a bug report is reproduced from (kind, shape, voxel size, seed, profile) alone.
    ``profile`` (PAIR_PROFILES) decides the target; the source is the same in every profile.
    ``measurement_parts`` (MEASUREMENT_PARTS, FAULT_GEOMETRY_PARTS; None: all of the profile's) switches the
    measurement or fault-geometry profile's parts.
    ``same_ore_zone`` centres the target's ore as far into the footwall as the source's: the
    benchmark's ablation of the one shift in where ore sits relative to its evidence, which no
    alignment of the evidence can undo.
    """
    if kind not in _DEPOSITS:
        raise Mpm3dError(f"unknown synthetic deposit kind {kind!r}: use one of {sorted(_DEPOSITS)}")
    if profile not in PAIR_PROFILES:
        raise Mpm3dError(f"unknown synthetic pair profile {profile!r}: use one of {', '.join(PAIR_PROFILES)}")
    unknown = sorted(set(measurement_parts or ()) - set(_MEASUREMENT))
    if unknown:
        raise Mpm3dError(f"unknown measurement part(s) {', '.join(unknown)}: use some of "
                         f"{', '.join(_MEASUREMENT)}")
    shape = tuple(int(n) for n in shape)
    voxel_size = tuple(float(size) for size in voxel_size)
    if len(shape) != 3 or min(shape) < 2:
        raise Mpm3dError(f"a synthetic deposit needs at least 2 voxels along z, y and x, not {shape}")
    if len(voxel_size) != 3 or min(voxel_size) <= 0:
        raise Mpm3dError(f"voxel sizes (dz, dy, dx) must be positive, not {voxel_size}")
    deposit = _DEPOSITS[kind] if kind == "source" else _target_deposit(profile, measurement_parts)
    if same_ore_zone:
        reference = _DEPOSITS["source"]
        deposit = replace(deposit, ore_zone_depth_m=reference.ore_zone_depth_m,
                          ore_zone_width_m=reference.ore_zone_width_m)
    noise = _Noise(np.random.default_rng([int(seed), deposit.stream]), shape, voxel_size)
    cube = _build(deposit, noise)
    cube.attrs.update(generator="mpm3d.core.data.synthetic", kind=kind, deposit=deposit.name, seed=int(seed),
                      same_ore_zone=bool(same_ore_zone), profile=profile)
    if kind == "target" and profile in _PROFILE_PARTS:
        cube.attrs["measurement_parts"] = list(_PROFILE_PARTS[profile] if measurement_parts is None
                                               else measurement_parts)
    return cube


def synthetic_pair(
    shape: tuple[int, int, int] = PROFILES["demo"]["shape"],
    voxel_size: tuple[float, float, float] = PROFILES["demo"]["voxel_size"],
    seed: int = 0,
    same_ore_zone: bool = False,
    profile: str = "as_designed",
    measurement_parts: tuple[str, ...] | None = None,
) -> tuple[Cube, Cube]:
    """(source, target): the labelled deposit a model learns on and its shifted neighbour (``profile``)."""
    return (
        synthetic_deposit("source", shape, voxel_size, seed),
        synthetic_deposit("target", shape, voxel_size, seed, same_ore_zone, profile, measurement_parts),
    )


HOLE_PLACEMENTS = ("grid", "anomaly")
GRADE_CUTOFF = 1.0  # g/t: the synthetic assays' grade is at or above it exactly where a sample is ore
DRILL_HOLE_COLUMNS = ("hole_id", "x", "y", "z", "ore", "grade")


@dataclass
class DrillHoles:
    """Drill holes as an explorer's sample table: one row per downhole sample, and the holes' collars.

    ``samples`` maps each of DRILL_HOLE_COLUMNS to an array (x, y in the cube's CRS, z elevation in m,
    ore 1/0, grade in g/t); ``collars`` maps hole_id, x, y, z, azimuth_deg, dip_deg and length_m to arrays.
    """

    samples: dict[str, np.ndarray]
    collars: dict[str, np.ndarray]

    @property
    def n_holes(self) -> int:
        return len(self.collars["hole_id"])

    def write_csv(self, path: str) -> str:
        """The samples as CSV (x, y, z, ore, grade, hole_id), the table *Voxelise drill-hole samples* reads, with
        the column types beside it (.csvt), so that GDAL and QGIS read x, y, z and grade as numbers."""
        from ..atomic import atomic_path

        columns = ["x", "y", "z", "ore", "grade", "hole_id"]
        formats = ["%.2f", "%.2f", "%.2f", "%d", "%.3f", "%s"]
        rows = zip(*(self.samples[c] for c in columns), strict=True)
        with atomic_path(path) as staged, open(staged, "w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(columns) + "\n")
            handle.writelines(",".join(f % v for f, v in zip(formats, row, strict=True)) + "\n" for row in rows)
        with atomic_path(os.path.splitext(path)[0] + ".csvt") as staged, open(staged, "w", encoding="utf-8") as handle:
            handle.write('"Real","Real","Real","Integer","Real","String"\n')
        return path


def drill_holes(cube: Cube, k: int, seed: int = 0, placement: str = "grid", dip_deg: float = 90.0,
                azimuth_deg: float | None = None, spacing_m: float | None = None) -> DrillHoles:
    """``k`` drill holes through a labelled (synthetic) cube, logged against its true labels.

    Placed as an explorer would: ``grid``, the nodes of a coarse square grid over the deposit (a seeded
    offset, k of the nodes drawn at random when the grid has more); ``anomaly``, columns where the
    alteration at the top of the model is in its upper fifth, drawn in a seeded order and kept at least a
    grid spacing apart, as surface anomalies are drilled first. Each hole starts at the top of the model in
    its column and runs ``dip_deg`` below horizontal (90: vertical) towards ``azimuth_deg`` (default: against
    the fault's dip, so an inclined hole crosses it steeply) until it leaves the grid. Samples every
    ``spacing_m`` (default half the smallest voxel edge, so a hole is a connected run of voxels); samples in
    voxels without evidence or label are not logged. Grades are at or above GRADE_CUTOFF exactly for ore.
    """
    if cube.label is None:
        raise Mpm3dError("drill holes are logged against the cube's labels; this cube has none")
    if placement not in HOLE_PLACEMENTS:
        raise Mpm3dError(f"unknown hole placement {placement!r}; use one of {', '.join(HOLE_PLACEMENTS)}")
    if k < 1:
        raise Mpm3dError(f"at least one drill hole is needed, got {k}")
    if not 0 < dip_deg <= 90:
        raise Mpm3dError(f"the hole dip must be above 0 and at most 90 degrees below horizontal, got {dip_deg}")
    grid = cube.grid
    dx, dy = grid.pixel_size
    dz = float(np.median(np.abs(np.diff(grid.z)))) if len(grid.z) > 1 else 1.0
    rng = np.random.default_rng([int(seed), 7])
    valid = cube.valid & (cube.label != LABEL_UNKNOWN)
    drilled = valid.any(axis=0)
    if not drilled.any():
        raise Mpm3dError("the cube has no labelled voxel with evidence to drill")
    top_level = np.argmax(valid, axis=0)
    spacing_cells = max(1.0, np.sqrt(drilled.sum() / k))
    if placement == "grid":
        collars = _grid_collars(drilled, k, spacing_cells, rng)
    else:
        if "alteration" not in cube.feature_names:
            raise Mpm3dError("'anomaly' placement reads the alteration feature, which this cube does not have")
        at_top = np.take_along_axis(cube.features[cube.feature_names.index("alteration")], top_level[None], 0)[0]
        at_top = np.where(drilled, at_top, np.nan)
        candidates = np.argwhere(drilled & (at_top >= np.nanpercentile(at_top, 80)))
        collars = _spread_collars(candidates[rng.permutation(len(candidates))], k, spacing_cells)
    kind = cube.attrs.get("kind")
    if azimuth_deg is None:
        azimuth_deg = (_DEPOSITS[kind].strike_deg if kind in _DEPOSITS else 0.0) + 270.0
    azimuth, dip = np.radians(azimuth_deg), np.radians(dip_deg)
    direction = np.array([np.sin(azimuth) * np.cos(dip), np.cos(azimuth) * np.cos(dip), -np.sin(dip)])
    step = spacing_m or 0.5 * min(dx, dy, dz)
    reach = float(np.linalg.norm((np.array(grid.shape) + 1) * np.array([dz, dy, dx])))  # the grid's diagonal
    along = np.arange(0.5 * step, reach, step)
    columns = {c: [] for c in DRILL_HOLE_COLUMNS}
    heads = {"hole_id": [], "x": [], "y": [], "z": [], "azimuth_deg": [], "dip_deg": [], "length_m": []}
    for number, (row, col) in enumerate(collars, start=1):
        name = f"DH{number:02d}"
        start = np.array([grid.x[col], grid.y[row], grid.z[top_level[row, col]] + dz / 2])
        points = start[None] + along[:, None] * direction[None]
        c, r, lev = cell_indices(points[:, 0], points[:, 1], points[:, 2], grid)
        inside = (c >= 0) & (r >= 0) & (lev >= 0)
        last = len(inside) if inside.all() else int(np.argmin(inside))  # the hole ends where it leaves the grid
        keep = np.zeros(len(points), bool)
        keep[:last] = valid[lev[:last], r[:last], c[:last]]
        ore = cube.label[lev[keep], r[keep], c[keep]].astype(np.int64)
        n = int(keep.sum())
        grade = np.where(ore == LABEL_ORE, GRADE_CUTOFF + rng.lognormal(0.3, 0.7, n),
                         0.95 * GRADE_CUTOFF * rng.beta(0.7, 4.0, n))
        for key, values in (("hole_id", [name] * n), ("x", points[keep, 0]), ("y", points[keep, 1]),
                            ("z", points[keep, 2]), ("ore", ore), ("grade", grade)):
            columns[key].append(np.asarray(values))
        for key, value in (("hole_id", name), ("x", start[0]), ("y", start[1]), ("z", start[2]),
                           ("azimuth_deg", azimuth_deg % 360), ("dip_deg", dip_deg), ("length_m", last * step)):
            heads[key].append(value)
    return DrillHoles({key: np.concatenate(parts) for key, parts in columns.items()},
                      {key: np.asarray(values) for key, values in heads.items()})


def _grid_collars(drilled: np.ndarray, k: int, spacing: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Nodes of a square grid ``spacing`` cells apart over the drilled columns (seeded offset), k drawn."""
    rows, cols = np.nonzero(drilled)
    offset = rng.uniform(0, spacing, 2)
    nodes = [(int(round(r)), int(round(c)))
             for r in np.arange(rows.min() + offset[0] / 2, rows.max() + 1, spacing)
             for c in np.arange(cols.min() + offset[1] / 2, cols.max() + 1, spacing)]
    nodes = [node for node in nodes if node[0] < drilled.shape[0] and node[1] < drilled.shape[1] and drilled[node]]
    nodes = [nodes[i] for i in rng.permutation(len(nodes))]
    chosen = nodes[:k]
    if len(chosen) < k:  # a ragged outline leaves too few nodes: the rest at random drilled columns
        chosen += _spread_collars(np.argwhere(drilled)[rng.permutation(int(drilled.sum()))], k - len(chosen),
                                  spacing / 2, chosen)
    return chosen


def _spread_collars(candidates: np.ndarray, k: int, spacing: float,
                    taken: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """The first ``k`` candidate columns (in the given order) at least ``spacing`` cells from those taken,
    the spacing halved until k are found."""
    taken = list(taken or [])
    chosen: list[tuple[int, int]] = []
    while len(chosen) < k and spacing >= 0.5:
        for row, col in candidates:
            if len(chosen) == k:
                break
            if all((row - r) ** 2 + (col - c) ** 2 >= spacing**2 for r, c in taken + chosen):
                chosen.append((int(row), int(col)))
        spacing /= 2
    if len(chosen) < k:
        raise Mpm3dError(f"the cube has too few drilled columns for {k} holes")
    return chosen


class _Noise:
    """One seeded random stream with the grid it fills, so every draw is reproducible in order."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int, int], voxel_size: tuple[float, ...]):
        self.rng = rng
        self.shape = shape
        self.voxel_size = voxel_size

    def white(self) -> np.ndarray:
        """Voxel-scale scatter."""
        return self.rng.standard_normal(self.shape, dtype=np.float32)

    def smooth(self, correlation_m: float) -> np.ndarray:
        """A zero-mean, unit-variance field correlated over about correlation_m metres on the grid."""
        return _smooth_field(self.rng, self.shape, [correlation_m] * len(self.shape), self.voxel_size)

    def logging_error(self, coarsening: float = 1.0) -> np.ndarray:
        """Unit-variance error of logs interpolated between drill holes: mostly correlated, partly rough."""
        return 0.8 * self.smooth(40.0 * coarsening) + 0.6 * self.white()


def _smooth_field(rng: np.random.Generator, shape, sigma_m, cell_size) -> np.ndarray:
    """Gaussian-filtered white noise, normalised to zero mean and unit variance (float32).

    Long correlations are drawn on a coarser lattice and interpolated back, which keeps the
    million-voxel profile fast without visible change in the field.
    """
    sigma = np.asarray(sigma_m, float) / np.asarray(cell_size, float)
    step = np.maximum(1, (sigma // 3).astype(int))
    coarse_shape = tuple(n if s == 1 else (n - 1) // s + 2 for n, s in zip(shape, step, strict=True))
    field = gaussian_filter(rng.standard_normal(coarse_shape, dtype=np.float32), sigma / step, truncate=3.0)
    for axis, (n, s) in enumerate(zip(shape, step, strict=True)):
        if s > 1:
            position = np.arange(n) / s
            lower = position.astype(int)
            along_axis = [-1 if other == axis else 1 for other in range(len(shape))]
            weight = (position - lower).astype(np.float32).reshape(along_axis)
            field = np.take(field, lower, axis) * (1 - weight) + np.take(field, lower + 1, axis) * weight
    field -= field.mean()
    spread = field.std()
    return field / spread if spread > 0 else field


def _build(deposit: _Deposit, noise: _Noise) -> Cube:
    """Geology first (true fault, contact, ore), then the evidence a 3D model and logs would give of it."""
    shape, voxel_size = noise.shape, noise.voxel_size
    nz, ny, nx = shape
    dz, dy, dx = voxel_size
    grid = Grid(
        crs=CRS,
        x=round(deposit.west / dx) * dx + dx * np.arange(nx),
        y=round(deposit.north / dy) * dy - dy * np.arange(ny),
        z=deposit.top - dz * np.arange(nz),
    )
    # Local frame: depth below the model top, v along strike, u horizontally towards the dip direction.
    depth = np.broadcast_to((grid.z[0] - grid.z)[:, None, None], shape)
    east = (grid.x - grid.x.mean())[None, None, :]
    north = (grid.y - grid.y.mean())[None, :, None]
    strike = np.radians(deposit.strike_deg)
    v = np.broadcast_to(east * np.sin(strike) + north * np.cos(strike), shape)
    u = np.broadcast_to(east * np.cos(strike) - north * np.sin(strike), shape)

    true_fault, modelled_fault = _fault_surfaces(deposit, noise)
    fault_distance_true, dip_true, dip_change_true = true_fault.evidence(u, depth, v)
    fault_distance, fault_dip, fault_dip_change = modelled_fault.evidence(u, depth, v)
    contact_true, contact_modelled = _contact(deposit, noise, east, north, depth)
    valid = ~_nodata_mask(noise)

    steep_to_gentle = np.clip(-dip_change_true / (0.5 * np.abs(true_fault.dip_change).max()), 0.0, 1.0)
    favourability = _favourability(deposit, noise, fault_distance_true, dip_true, steep_to_gentle,
                                   contact_true, v, depth)
    # Multiplicative scatter: ore bodies get ragged edges, but no ore appears far from the fault.
    scattered = favourability * np.exp(deposit.ore_scatter * noise.white())
    threshold = np.quantile(scattered[valid], 1.0 - deposit.ore_fraction)
    label = np.where(scattered > threshold, LABEL_ORE, LABEL_BARREN).astype(np.int8)

    alteration = _alteration(deposit, noise, fault_distance_true, favourability / threshold)
    rock = _Rocks(fault_distance_true, contact_true)
    features = {
        "fault_distance": fault_distance,
        "fault_dip": fault_dip,
        "fault_dip_change": fault_dip_change,
        "contact_distance": np.abs(contact_modelled),
        "density": _density(deposit, noise, rock, alteration, depth, east, north),
        "susceptibility": _susceptibility(deposit, noise, rock, alteration, east, north),
        "alteration": _logged_alteration(deposit, noise, alteration),
        "fracture_density": _fracture_density(deposit, noise, fault_distance_true, steep_to_gentle),
    }
    _remeasure(deposit, features, depth, valid)
    stack = np.stack([np.asarray(features[name], np.float32) for name in FEATURE_NAMES])
    stack[:, ~valid] = np.nan
    label[~valid] = LABEL_UNKNOWN
    return Cube(grid=grid, features=stack, feature_names=list(FEATURE_NAMES), label=label,
                attrs={"feature_units": _units(deposit)})


def _remeasure(deposit: _Deposit, features: dict[str, np.ndarray], depth: np.ndarray, valid: np.ndarray) -> None:
    """The measurement profile's changes to the geophysical evidence, in place: a depth drift of the
    calibration, density mixed with susceptibility, susceptibility in log units (in that order); and the
    fault-geometry profile's signed log distance."""
    def standardised(name: str) -> tuple[np.ndarray, float]:
        values = features[name]
        spread = float(values[valid].std()) or 1.0
        return (values - values[valid].mean()) / spread, spread

    if deposit.depth_drift_sd_per_km:
        for name in ("density", "susceptibility"):
            spread = standardised(name)[1]
            features[name] = features[name] + deposit.depth_drift_sd_per_km * spread * depth / 1000.0
        features["susceptibility"] = np.maximum(features["susceptibility"], 0.0)
    if deposit.density_leak:
        leak, spread = standardised("susceptibility")[0], standardised("density")[1]
        features["density"] = features["density"] + deposit.density_leak * spread * leak
    if deposit.susceptibility_log:
        features["susceptibility"] = np.log10(1.0 + features["susceptibility"])
    if deposit.fault_distance_log_m:
        distance = features["fault_distance"]
        features["fault_distance"] = np.sign(distance) * np.log10(1.0 + np.abs(distance) / deposit.fault_distance_log_m)


def _units(deposit: _Deposit) -> dict[str, str]:
    return {
        "fault_distance": (f"log10(1 + |d| / {deposit.fault_distance_log_m:g} m), negative in the footwall"
                           if deposit.fault_distance_log_m else "m, negative in the footwall"),
        "fault_dip": "degrees",
        "fault_dip_change": "degrees per 100 m of depth, negative where the fault flattens downwards",
        "contact_distance": "m",
        "density": "g/cm3",
        "susceptibility": "log10(1 + 1e-5 SI)" if deposit.susceptibility_log else "1e-5 SI",
        "alteration": "class 0-5" if deposit.alteration_in_classes else "per cent altered, 0-100",
        "fracture_density": "fractures per m",
    }


class _FaultSurface:
    """A fault as its horizontal offset u(depth, v) towards the dip direction, tabulated on a grid.

    Dip and dip change follow from the offset, so a perturbed (modelled) surface carries
    consistent geometry errors; voxels take them from their nearest point on the surface.
    """

    def __init__(self, offset: np.ndarray, depth0: float, v0: float, dip_change_window_m: float = 0.0):
        self.offset = offset
        self.depth0 = depth0
        self.v0 = v0
        self.dip = np.degrees(np.arctan2(1.0, np.gradient(offset, TABLE_STEP_M, axis=0)))
        smoothed = (gaussian_filter1d(self.dip, dip_change_window_m / TABLE_STEP_M, axis=0, mode="nearest")
                    if dip_change_window_m else self.dip)
        self.dip_change = 100.0 * np.gradient(smoothed, TABLE_STEP_M, axis=0)

    def _at(self, table: np.ndarray, depth: np.ndarray, v: np.ndarray) -> np.ndarray:
        rows = ((depth - self.depth0) / TABLE_STEP_M).ravel()
        columns = ((v - self.v0) / TABLE_STEP_M).ravel()
        return map_coordinates(table, np.stack([rows, columns]), order=1, mode="nearest").reshape(depth.shape)

    def evidence(self, u, depth, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Signed distance (m, + in the hanging wall), dip and dip change at the closest fault point."""
        dip_here = np.radians(self._at(self.dip, depth, v))
        distance = (u - self._at(self.offset, depth, v)) * np.sin(dip_here)
        nearest_depth = depth + distance * np.cos(dip_here)
        return distance, self._at(self.dip, nearest_depth, v), self._at(self.dip_change, nearest_depth, v)


def _fault_surfaces(deposit: _Deposit, noise: _Noise) -> tuple[_FaultSurface, _FaultSurface]:
    """The true stepped fault and the modelled one (the true surface plus smooth interpretation error)."""
    nz, ny, nx = noise.shape
    dz, dy, dx = noise.voxel_size
    model_depth = (nz - 1) * dz
    half_diagonal = 0.5 * np.hypot((ny - 1) * dy, (nx - 1) * dx)
    # Wide enough that the nearest points of far voxels stay on the table, even for a tiny model.
    margin = 2.0 * half_diagonal + model_depth + 50 * TABLE_STEP_M
    depth = np.arange(-margin, model_depth + margin + TABLE_STEP_M, TABLE_STEP_M)
    v = np.arange(-half_diagonal - 5 * TABLE_STEP_M, half_diagonal + 6 * TABLE_STEP_M, TABLE_STEP_M)
    rng = noise.rng

    # The dip alternates between steep and gentle segments with depth; the steps wander along strike.
    step_shift = 0.15 * deposit.step_wavelength_m * _smooth_field(rng, v.shape, [400.0], [TABLE_STEP_M])
    step_phase = rng.uniform(0.0, deposit.step_wavelength_m)
    angle = 2 * np.pi * (depth[:, None] - step_phase - step_shift[None, :]) / deposit.step_wavelength_m
    square_wave = np.tanh(3.0 * np.sin(angle)) / np.tanh(3.0)
    mean_dip = 0.5 * (deposit.steep_dip_deg + deposit.gentle_dip_deg)
    half_range = 0.5 * (deposit.steep_dip_deg - deposit.gentle_dip_deg)
    cot_dip = 1.0 / np.tan(np.radians(mean_dip + half_range * square_wave))
    steps = 0.5 * (cot_dip[1:] + cot_dip[:-1]) * TABLE_STEP_M
    offset = np.concatenate([np.zeros((1, len(v))), np.cumsum(steps, axis=0)])
    # The fault crosses the middle of the model at mid-depth, along a gently curved trace.
    offset -= offset[np.argmin(np.abs(depth - 0.5 * model_depth))].mean()
    offset += 40.0 * _smooth_field(rng, v.shape, [500.0], [TABLE_STEP_M])[None, :]

    error = _smooth_field(rng, offset.shape, [300.0, 200.0], [TABLE_STEP_M, TABLE_STEP_M])
    modelled = offset + deposit.fault_model_error_m * error
    return (_FaultSurface(offset, depth[0], v[0]),
            _FaultSurface(modelled, depth[0], v[0], deposit.dip_change_window_m))


def _contact(deposit: _Deposit, noise: _Noise, east, north, depth) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (m) to the steep granitoid contact that crosses the fault: true and modelled."""
    azimuth = np.radians(deposit.strike_deg + 140.0)
    dip = np.radians(CONTACT_DIP_DEG)
    across = np.sin(azimuth) * east + np.cos(azimuth) * north
    shift = noise.rng.uniform(-200.0, 200.0)
    plane = np.sin(dip) * across - np.cos(dip) * (depth - 0.5 * depth.max()) - shift
    true_distance = plane + 40.0 * noise.smooth(300.0)
    return true_distance, true_distance + deposit.contact_model_error_m * noise.smooth(250.0)


def _nodata_mask(noise: _Noise) -> np.ndarray:
    """Voxels the 3D model leaves out: above an undulating model top, and an undrilled deep corner."""
    nz, ny, nx = noise.shape
    dz = noise.voxel_size[0]
    relief = _smooth_field(noise.rng, (ny, nx), [300.0, 300.0], noise.voxel_size[1:])
    top_below_first_level = dz * (-0.5 - 0.6 * relief)  # positive where the top cuts level 0's centres
    above_top = (dz * np.arange(nz))[:, None, None] < top_below_first_level[None]
    column = np.arange(nx)[None, :] / (nx - 1)
    row = np.arange(ny)[:, None] / (ny - 1)
    corner = noise.rng.integers(4)
    towards_corner = (column if corner % 2 else 1 - column) + (row if corner // 2 else 1 - row)
    undrilled = (towards_corner > 1.65)[None] & (np.arange(nz) >= 0.75 * nz)[:, None, None]
    return above_top | undrilled


def _favourability(deposit: _Deposit, noise: _Noise, fault_distance, dip, steep_to_gentle, contact, v, depth):
    """Latent ore favourability of the true geology: footwall band x structural traps x shoots."""
    off_ore_zone = (fault_distance + deposit.ore_zone_depth_m) / deposit.ore_zone_width_m
    footwall_band = np.exp(-0.5 * off_ore_zone**2)
    dip_range = deposit.steep_dip_deg - deposit.gentle_dip_deg
    gentle_segment = np.clip((deposit.steep_dip_deg - dip) / dip_range, 0.0, 1.0)
    near_contact = np.exp(-np.abs(contact) / 250.0)
    along_shoot = v - depth / np.tan(np.radians(SHOOT_PLUNGE_DEG))
    shoot_phase = noise.rng.uniform(0.0, 2 * np.pi)
    shoots = 0.5 * (1.0 + np.cos(2 * np.pi * along_shoot / SHOOT_SPACING_M + shoot_phase))
    return (
        footwall_band
        * (0.3 + 0.7 * steep_to_gentle)
        * (0.4 + 0.6 * gentle_segment)
        * (0.4 + 0.6 * near_contact)
        * (0.3 + 0.7 * shoots)
        * np.exp(0.6 * noise.smooth(100.0))  # controls no model resolves
    )


def _alteration(deposit: _Deposit, noise: _Noise, fault_distance, relative_favourability) -> np.ndarray:
    """True alteration intensity 0-1: a broad footwall halo of the fault, strongest around ore."""
    halo = np.where(fault_distance < 0, np.exp(fault_distance / deposit.alteration_halo_m),
                    np.exp(-fault_distance / 25.0))
    intensity = 0.4 * halo + 0.45 * np.minimum(relative_favourability, 1.2) + 0.15 * noise.smooth(80.0)
    return np.clip(intensity, 0.0, 1.0).astype(np.float32)


def _logged_alteration(deposit: _Deposit, noise: _Noise, alteration) -> np.ndarray:
    """Alteration as interpolated from drill logs, on the deposit's logging scale."""
    interpolated = gaussian_filter(alteration, [40.0 * deposit.model_coarsening / size for size in noise.voxel_size],
                                   mode="nearest")
    logging_error = deposit.log_noise * noise.logging_error(deposit.model_coarsening)
    if deposit.alteration_cuts:  # classes at uneven cuts of the logged intensity: a step function of it
        logged = interpolated + 0.12 * logging_error
        return np.digitize(logged, deposit.alteration_cuts).astype(np.float32)
    if deposit.alteration_in_classes:
        return np.clip(5.0 * interpolated**0.8 + 0.6 * logging_error, 0.0, 5.0)
    return np.clip(100.0 * interpolated + 10.0 * logging_error, 0.0, 100.0)


@dataclass
class _Rocks:
    """Where the lithologies are: hanging wall (Jiaodong Group metamorphics) and two footwall granitoids."""

    fault_distance: np.ndarray
    contact: np.ndarray

    def assign(self, metamorphic: float, granodiorite: float, granite: float) -> np.ndarray:
        footwall = np.where(self.contact > 0, np.float32(granodiorite), np.float32(granite))
        return np.where(self.fault_distance > 0, np.float32(metamorphic), footwall)


def _inverted(deposit: _Deposit, noise: _Noise, rock_property, east, north, trend_per_km: float) -> np.ndarray:
    """What a smoothed inversion recovers: a blurred property on a regional trend."""
    dz, dy, dx = noise.voxel_size
    resolution = INVERSION_RESOLUTION_M * deposit.model_coarsening
    sigma = [0.67 * resolution / dz, resolution / dy, resolution / dx]
    blurred = gaussian_filter(rock_property.astype(np.float32), sigma, mode="nearest", truncate=3.0)
    azimuth = noise.rng.uniform(0.0, 2 * np.pi)
    return blurred + trend_per_km * (np.sin(azimuth) * east + np.cos(azimuth) * north) / 1000.0


def _density(deposit: _Deposit, noise: _Noise, rock: _Rocks, alteration, depth, east, north) -> np.ndarray:
    """Density inversion (g/cm3): lithology, leaching by alteration and compaction with depth."""
    rock_density = rock.assign(2.76, 2.70, 2.62) - 0.05 * alteration + 3e-5 * depth
    inverted = _inverted(deposit, noise, rock_density, east, north, trend_per_km=0.02)
    inverted += 0.01 * deposit.log_noise * noise.smooth(150.0 * deposit.model_coarsening)
    return REFERENCE_DENSITY + deposit.density_scale * (inverted - REFERENCE_DENSITY) + deposit.density_offset


def _susceptibility(deposit: _Deposit, noise: _Noise, rock: _Rocks, alteration, east, north) -> np.ndarray:
    """Susceptibility inversion (1e-5 SI): magnetite-rich granodiorite, magnetite destroyed by alteration."""
    rock_susceptibility = rock.assign(600.0, 1800.0, 150.0) * (1.0 - 0.85 * alteration)
    inverted = _inverted(deposit, noise, rock_susceptibility, east, north, trend_per_km=60.0)
    inverted = np.maximum(inverted * np.exp(0.1 * deposit.log_noise * noise.smooth(150.0 * deposit.model_coarsening)),
                          0.0)
    return deposit.susceptibility_scale * inverted + deposit.susceptibility_offset


def _fracture_density(deposit: _Deposit, noise: _Noise, fault_distance, steep_to_gentle) -> np.ndarray:
    """Fractures per metre from core logs: a damage zone around the fault, wider at dip changes."""
    distance = np.abs(fault_distance)
    damage = 6.0 * np.exp(-distance / 30.0) + 3.0 * steep_to_gentle * np.exp(-distance / 80.0)
    scatter = np.exp(0.25 * deposit.log_noise * noise.smooth(60.0 * deposit.model_coarsening))
    logging_error = noise.logging_error(deposit.model_coarsening)
    return np.maximum((1.0 + damage) * scatter + 0.5 * deposit.log_noise * logging_error, 0.0)
