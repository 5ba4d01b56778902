"""Seeded synthetic pair of Jiaodong-type gold deposits: a labelled source and a shifted target.

Why: domain adaptation has to be tested, demonstrated and benchmarked without real data, on two
deposits that share one ore-forming process but whose 3D models were built differently. The
geology follows the Zhaoping fault deposits (source "Xiadian-like", target "Dayingezhuang-like"):
ore lies in the footwall of a gently dipping, stepped (listric) main fault, close to the fault
plane, favoured where the dip turns from steep to gentle downwards and near a granitoid contact,
and concentrated in plunging shoots. The evidence is what a 3D geological model offers: distances
and dips from the *modelled* fault and contact (which carry interpretation error), smoothed
density and susceptibility inversions with a regional trend, interpolated alteration and fracture
logs. Labels come from a latent favourability of the *true* geology plus noise, so they are not a
function of the evidence. The target differs as real neighbours do: steeper fault, deeper model,
other inversion calibrations, another alteration logging scale, fewer ore voxels, more noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from .errors import Mpm3dError
from .grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Cube, Grid

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
    # Every profile covers about the same ground (1.6 km x 1.6 km, 0.8-1 km deep) at another resolution.
    "test": {"shape": (16, 40, 40), "voxel_size": (50.0, 40.0, 40.0)},
    "demo": {"shape": (24, 64, 64), "voxel_size": (40.0, 25.0, 25.0)},
    "bench": {"shape": (64, 128, 128), "voxel_size": (15.0, 12.5, 12.5)},
}

CRS = "EPSG:4528"  # CGCS2000 / 3-degree Gauss-Kruger zone 40 (eastings carry the zone number)
TABLE_STEP_M = 10.0  # resolution of the tabulated fault surfaces
SHOOT_SPACING_M = 450.0
SHOOT_PLUNGE_DEG = 40.0


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
    ore_zone_depth_m: float  # how far into the footwall the ore zone is centred
    ore_zone_width_m: float
    alteration_halo_m: float  # width of the footwall alteration halo
    contact_model_error_m: float
    ore_fraction: float
    label_noise: float  # log-normal scatter of favourability at voxel scale
    measurement_noise: float  # scale of the noise on logged and inverted evidence
    density_scale: float  # inversion calibration: reported = 2.67 + scale * (rho - 2.67) + offset
    density_offset: float
    susceptibility_scale: float
    susceptibility_offset: float
    alteration_in_classes: bool  # logging scale: classes 0-5 instead of per cent altered


_DEPOSITS: dict[str, _Deposit] = {
    "source": _Deposit(
        name="Xiadian-like", stream=0, west=40_512_000.0, north=4_134_000.0, top=-100.0,
        strike_deg=30.0, steep_dip_deg=42.0, gentle_dip_deg=24.0, step_wavelength_m=300.0,
        fault_model_error_m=20.0, ore_zone_depth_m=35.0, ore_zone_width_m=35.0, alteration_halo_m=90.0,
        contact_model_error_m=25.0, ore_fraction=0.03, label_noise=0.5,
        measurement_noise=1.0, density_scale=1.0, density_offset=0.0,
        susceptibility_scale=1.0, susceptibility_offset=0.0, alteration_in_classes=False,
    ),
    "target": _Deposit(
        name="Dayingezhuang-like", stream=1, west=40_521_000.0, north=4_139_000.0, top=-300.0,
        strike_deg=38.0, steep_dip_deg=58.0, gentle_dip_deg=40.0, step_wavelength_m=360.0,
        fault_model_error_m=60.0, ore_zone_depth_m=110.0, ore_zone_width_m=50.0, alteration_halo_m=140.0,
        contact_model_error_m=40.0, ore_fraction=0.015, label_noise=0.7,
        measurement_noise=1.6, density_scale=0.7, density_offset=0.08,
        susceptibility_scale=0.5, susceptibility_offset=250.0, alteration_in_classes=True,
    ),
}


def synthetic_deposit(
    kind: str,
    shape: tuple[int, int, int] = PROFILES["demo"]["shape"],
    voxel_size: tuple[float, float, float] = PROFILES["demo"]["voxel_size"],
    seed: int = 0,
) -> Cube:
    """One labelled deposit ("source" or "target") on a (nz, ny, nx) grid of (dz, dy, dx) metre voxels.

    The same seed gives identical arrays; a deposit is the same whether made alone or in a pair.
    """
    if kind not in _DEPOSITS:
        raise Mpm3dError(f"unknown synthetic deposit kind {kind!r}: use one of {sorted(_DEPOSITS)}")
    shape = tuple(int(n) for n in shape)
    voxel_size = tuple(float(s) for s in voxel_size)
    if len(shape) != 3 or min(shape) < 2:
        raise Mpm3dError(f"a synthetic deposit needs at least 2 voxels along z, y and x, not {shape}")
    if len(voxel_size) != 3 or min(voxel_size) <= 0:
        raise Mpm3dError(f"voxel sizes (dz, dy, dx) must be positive, not {voxel_size}")
    deposit = _DEPOSITS[kind]
    rng = np.random.default_rng([int(seed), deposit.stream])
    return _build(deposit, shape, voxel_size, rng, kind, int(seed))


def synthetic_pair(
    shape: tuple[int, int, int] = PROFILES["demo"]["shape"],
    voxel_size: tuple[float, float, float] = PROFILES["demo"]["voxel_size"],
    seed: int = 0,
) -> tuple[Cube, Cube]:
    """(source, target): the labelled deposit a model learns on and its shifted neighbour."""
    return (
        synthetic_deposit("source", shape, voxel_size, seed),
        synthetic_deposit("target", shape, voxel_size, seed),
    )


def _build(deposit: _Deposit, shape, voxel_size, rng: np.random.Generator, kind: str, seed: int) -> Cube:
    nz, ny, nx = shape
    dz, dy, dx = voxel_size
    grid = Grid(
        crs=CRS,
        x=round(deposit.west / dx) * dx + dx * np.arange(nx),
        y=round(deposit.north / dy) * dy - dy * np.arange(ny),
        z=deposit.top - dz * np.arange(nz),
    )
    # Local frame: depth below the model top, v along strike, u horizontal towards the dip direction.
    depth = (grid.z[0] - grid.z)[:, None, None]
    east = (grid.x - grid.x.mean())[None, None, :]
    north = (grid.y - grid.y.mean())[None, :, None]
    strike = np.radians(deposit.strike_deg)
    v = np.broadcast_to(east * np.sin(strike) + north * np.cos(strike), shape)
    u = np.broadcast_to(east * np.cos(strike) - north * np.sin(strike), shape)
    depth = np.broadcast_to(depth, shape)

    true_fault, modelled_fault = _fault_surfaces(deposit, rng, shape, voxel_size)
    fault_distance_true, dip_true, dip_change_true = true_fault.evidence(u, depth, v)
    fault_distance, fault_dip, fault_dip_change = modelled_fault.evidence(u, depth, v)

    contact_true, contact_modelled = _contact(deposit, rng, shape, voxel_size, east, north, depth)
    valid = ~_nodata_mask(rng, shape, voxel_size)

    # Latent ore favourability of the true geology; the labels threshold it after adding noise.
    footwall_band = np.exp(-0.5 * ((fault_distance_true + deposit.ore_zone_depth_m) / deposit.ore_zone_width_m) ** 2)
    gentle_segment = np.clip(
        (deposit.steep_dip_deg - dip_true) / (deposit.steep_dip_deg - deposit.gentle_dip_deg), 0.0, 1.0)
    steep_to_gentle = np.clip(-dip_change_true / (0.5 * np.abs(true_fault.dip_change).max()), 0.0, 1.0)
    near_contact = np.exp(-np.abs(contact_true) / 250.0)
    shoot_phase = rng.uniform(0.0, 2 * np.pi)
    along_shoot = v - depth / np.tan(np.radians(SHOOT_PLUNGE_DEG))
    shoots = 0.5 * (1.0 + np.cos(2 * np.pi * along_shoot / SHOOT_SPACING_M + shoot_phase))
    unresolved = _smooth_noise(rng, shape, (100.0, 100.0, 100.0), voxel_size)
    favourability = (
        footwall_band
        * (0.3 + 0.7 * steep_to_gentle)
        * (0.4 + 0.6 * gentle_segment)
        * (0.4 + 0.6 * near_contact)
        * (0.3 + 0.7 * shoots)
        * np.exp(0.6 * unresolved)
    )
    # Multiplicative, so ore bodies get ragged edges but no ore appears far from the fault.
    noisy = favourability * np.exp(deposit.label_noise * rng.standard_normal(shape))
    threshold = np.quantile(noisy[valid], 1.0 - deposit.ore_fraction)
    label = np.where(noisy > threshold, LABEL_ORE, LABEL_BARREN).astype(np.int8)

    alteration_true = _alteration(deposit, rng, shape, voxel_size, fault_distance_true, favourability / threshold)
    noise = deposit.measurement_noise
    features = {
        "fault_distance": fault_distance,
        "fault_dip": fault_dip,
        "fault_dip_change": fault_dip_change,
        "contact_distance": np.abs(contact_modelled),
        "density": _density(deposit, rng, shape, voxel_size, fault_distance_true, contact_true,
                            alteration_true, depth, east, north),
        "susceptibility": _susceptibility(deposit, rng, shape, voxel_size, fault_distance_true,
                                          contact_true, alteration_true, east, north),
        "alteration": _logged_alteration(deposit, rng, shape, voxel_size, alteration_true),
        "fracture_density": _fracture_density(rng, shape, voxel_size, fault_distance_true,
                                              steep_to_gentle, noise),
    }
    stack = np.stack([features[name] for name in FEATURE_NAMES]).astype(np.float32)
    stack[:, ~valid] = np.nan
    label[~valid] = LABEL_UNKNOWN
    return Cube(
        grid=grid,
        features=stack,
        feature_names=list(FEATURE_NAMES),
        label=label,
        attrs={
            "generator": "mpm3d.core.synthetic",
            "kind": kind,
            "deposit": deposit.name,
            "seed": seed,
            "feature_units": _units(deposit),
        },
    )


def _units(deposit: _Deposit) -> dict[str, str]:
    return {
        "fault_distance": "m, negative in the footwall",
        "fault_dip": "degrees",
        "fault_dip_change": "degrees per 100 m of depth, negative where the dip flattens downwards",
        "contact_distance": "m",
        "density": "g/cm3",
        "susceptibility": "1e-5 SI",
        "alteration": "class 0-5" if deposit.alteration_in_classes else "per cent altered, 0-100",
        "fracture_density": "fractures per m",
    }


def _smooth_noise(rng: np.random.Generator, shape, sigma_m, voxel_size) -> np.ndarray:
    """Zero-mean, unit-variance gaussian random field correlated over sigma_m metres per axis."""
    sigma = [s / size for s, size in zip(sigma_m, voxel_size)]
    field = gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode="reflect", truncate=3.0)
    field -= field.mean()
    spread = field.std()
    return field / spread if spread > 0 else field


class _FaultSurface:
    """A fault as its horizontal offset u(depth, v) towards the dip direction, tabulated on a grid.

    Dip and dip change follow from the offset, so a perturbed (modelled) surface carries
    consistent geometry errors; voxels take them from their nearest point on the surface.
    """

    def __init__(self, offset: np.ndarray, depth0: float, v0: float):
        self.offset = offset
        self.depth0 = depth0
        self.v0 = v0
        cot_dip = np.gradient(offset, TABLE_STEP_M, axis=0)
        self.dip = np.degrees(np.arctan2(1.0, cot_dip))
        self.dip_change = 100.0 * np.gradient(self.dip, TABLE_STEP_M, axis=0)

    def _at(self, table: np.ndarray, depth: np.ndarray, v: np.ndarray) -> np.ndarray:
        rows = (depth - self.depth0) / TABLE_STEP_M
        cols = (v - self.v0) / TABLE_STEP_M
        coordinates = np.stack([rows.ravel(), cols.ravel()])
        return map_coordinates(table, coordinates, order=1, mode="nearest").reshape(depth.shape)

    def evidence(self, u, depth, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Signed distance (m, positive in the hanging wall), dip and dip change at the nearest fault point."""
        dip_here = np.radians(self._at(self.dip, depth, v))
        distance = (u - self._at(self.offset, depth, v)) * np.sin(dip_here)
        nearest_depth = depth + distance * np.cos(dip_here)
        return distance, self._at(self.dip, nearest_depth, v), self._at(self.dip_change, nearest_depth, v)


def _fault_surfaces(deposit: _Deposit, rng, shape, voxel_size) -> tuple[_FaultSurface, _FaultSurface]:
    """The true stepped fault and the modelled one (true surface + smooth interpretation error)."""
    nz, ny, nx = shape
    dz, dy, dx = voxel_size
    extent_depth = (nz - 1) * dz
    half_diagonal = 0.5 * np.hypot((ny - 1) * dy, (nx - 1) * dx)
    margin = 2.0 * half_diagonal + extent_depth
    depth = np.arange(-margin, extent_depth + margin + TABLE_STEP_M, TABLE_STEP_M)
    v = np.arange(-half_diagonal - 2 * TABLE_STEP_M, half_diagonal + 3 * TABLE_STEP_M, TABLE_STEP_M)

    # Dip alternates between steep and gentle segments with depth; the steps wander along strike.
    table_cell = (TABLE_STEP_M, TABLE_STEP_M)
    step_shift = 0.15 * deposit.step_wavelength_m * _smooth_noise(rng, (len(v),), (400.0,), table_cell[:1])
    step_phase = rng.uniform(0.0, deposit.step_wavelength_m)
    angle = 2 * np.pi * (depth[:, None] - step_phase - step_shift[None, :]) / deposit.step_wavelength_m
    square = np.tanh(3.0 * np.sin(angle)) / np.tanh(3.0)
    mean_dip = 0.5 * (deposit.steep_dip_deg + deposit.gentle_dip_deg)
    half_range = 0.5 * (deposit.steep_dip_deg - deposit.gentle_dip_deg)
    cot_dip = 1.0 / np.tan(np.radians(mean_dip + half_range * square))
    offset = np.concatenate([np.zeros((1, len(v))), np.cumsum(0.5 * (cot_dip[1:] + cot_dip[:-1]), axis=0)])
    offset *= TABLE_STEP_M
    # The fault crosses the middle of the model at mid-depth, with a gently curved trace.
    mid_row = int(np.argmin(np.abs(depth - 0.5 * extent_depth)))
    offset -= offset[mid_row].mean()
    offset += 40.0 * _smooth_noise(rng, (len(v),), (500.0,), table_cell[:1])[None, :]

    error = _smooth_noise(rng, offset.shape, (300.0, 200.0), table_cell)
    modelled = offset + deposit.fault_model_error_m * error
    return _FaultSurface(offset, depth[0], v[0]), _FaultSurface(modelled, depth[0], v[0])


def _contact(deposit: _Deposit, rng, shape, voxel_size, east, north, depth) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (m) to the steep granitoid contact that crosses the fault, true and modelled."""
    azimuth = np.radians(deposit.strike_deg + 90.0 + 50.0)
    dip = np.radians(70.0)
    shift = rng.uniform(-200.0, 200.0)
    plane = (
        np.sin(dip) * (np.sin(azimuth) * east + np.cos(azimuth) * north)
        - np.cos(dip) * depth
        + np.cos(dip) * 0.5 * depth.max()
        - shift
    )
    undulation = 40.0 * _smooth_noise(rng, shape, (300.0, 300.0, 300.0), voxel_size)
    true_distance = plane + undulation
    error = deposit.contact_model_error_m * _smooth_noise(rng, shape, (250.0, 250.0, 250.0), voxel_size)
    return true_distance, true_distance + error


def _nodata_mask(rng, shape, voxel_size) -> np.ndarray:
    """Voxels the 3D model does not cover: above an undulating model top, and a deep corner undrilled."""
    nz, ny, nx = shape
    dz = voxel_size[0]
    relief = _smooth_noise(rng, (ny, nx), (300.0, 300.0), voxel_size[1:])
    model_top_below_first_level = dz * (-0.5 - 0.6 * relief)  # > 0: the model top lies below level 0's centre
    above_top = (dz * np.arange(nz))[:, None, None] < model_top_below_first_level[None]
    column = np.arange(nx)[None, :] / (nx - 1)
    row = np.arange(ny)[:, None] / (ny - 1)
    corner = rng.integers(4)
    across = (column if corner % 2 else 1 - column) + (row if corner // 2 else 1 - row)
    undrilled_corner = (across > 1.65)[None] & (np.arange(nz) >= 0.75 * nz)[:, None, None]
    return above_top | undrilled_corner


def _alteration(deposit: _Deposit, rng, shape, voxel_size, fault_distance, favourability) -> np.ndarray:
    """True alteration intensity 0-1: a broad footwall halo of the fault, strongest around ore."""
    halo = np.where(fault_distance < 0, np.exp(fault_distance / deposit.alteration_halo_m), np.exp(-fault_distance / 25.0))
    patchiness = _smooth_noise(rng, shape, (80.0, 80.0, 80.0), voxel_size)
    return np.clip(0.4 * halo + 0.45 * np.minimum(favourability, 1.2) + 0.15 * patchiness, 0.0, 1.0)


def _logged_alteration(deposit: _Deposit, rng, shape, voxel_size, alteration) -> np.ndarray:
    """Alteration as interpolated from drill logs, on the deposit's logging scale."""
    interpolated = gaussian_filter(alteration, [40.0 / s for s in voxel_size], mode="nearest")
    logging_error = deposit.measurement_noise * rng.standard_normal(shape)
    if deposit.alteration_in_classes:
        return np.clip(5.0 * interpolated**0.8 + 0.6 * logging_error, 0.0, 5.0)
    return np.clip(100.0 * interpolated + 10.0 * logging_error, 0.0, 100.0)


def _inversion(rng, shape, voxel_size, rock_property, east, north) -> np.ndarray:
    """What a smoothed geophysical inversion recovers: a blurred property plus a regional trend (unit 1/km)."""
    blurred = gaussian_filter(rock_property, [100.0 / voxel_size[0], 150.0 / voxel_size[1], 150.0 / voxel_size[2]],
                              mode="nearest", truncate=3.0)
    azimuth = rng.uniform(0.0, 2 * np.pi)
    regional = (np.sin(azimuth) * east + np.cos(azimuth) * north) / 1000.0
    return blurred, regional


def _lithology_property(fault_distance, contact, hanging_wall, granodiorite, granite) -> np.ndarray:
    """Hanging wall: Jiaodong Group metamorphic rocks; footwall: granodiorite or granite across the contact."""
    return np.where(fault_distance > 0, hanging_wall, np.where(contact > 0, granodiorite, granite))


def _density(deposit, rng, shape, voxel_size, fault_distance, contact, alteration, depth, east, north):
    """Density inversion (g/cm3): lithology, alteration leaching and compaction, then blurred."""
    rock = _lithology_property(fault_distance, contact, 2.76, 2.70, 2.62) - 0.05 * alteration + 3e-5 * depth
    blurred, regional = _inversion(rng, shape, voxel_size, rock, east, north)
    inverted = blurred + 0.02 * regional + 0.01 * deposit.measurement_noise * _smooth_noise(
        rng, shape, (150.0, 150.0, 150.0), voxel_size)
    return 2.67 + deposit.density_scale * (inverted - 2.67) + deposit.density_offset


def _susceptibility(deposit, rng, shape, voxel_size, fault_distance, contact, alteration, east, north):
    """Susceptibility inversion (1e-5 SI): magnetite-bearing granodiorite, destroyed by alteration."""
    rock = _lithology_property(fault_distance, contact, 600.0, 1800.0, 150.0) * (1.0 - 0.85 * alteration)
    blurred, regional = _inversion(rng, shape, voxel_size, rock, east, north)
    scatter = np.exp(0.1 * deposit.measurement_noise * _smooth_noise(rng, shape, (150.0, 150.0, 150.0), voxel_size))
    inverted = np.maximum(blurred * scatter + 150.0 * regional, 0.0)
    return deposit.susceptibility_scale * inverted + deposit.susceptibility_offset


def _fracture_density(rng, shape, voxel_size, fault_distance, steep_to_gentle, noise) -> np.ndarray:
    """Fractures per metre from core logs: a damage zone around the fault, wider at dip changes."""
    damage = 6.0 * np.exp(-np.abs(fault_distance) / 30.0) + 3.0 * steep_to_gentle * np.exp(-np.abs(fault_distance) / 80.0)
    scatter = np.exp(0.25 * noise * _smooth_noise(rng, shape, (60.0, 60.0, 60.0), voxel_size))
    return np.maximum((1.0 + damage) * scatter + 0.5 * noise * rng.standard_normal(shape), 0.0)
