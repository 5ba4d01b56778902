"""Depth slices: one multi-band raster per elevation level <-> a cube.

Every slice must sit on one grid (CRS, geotransform, size) with the same bands in the same
order; a mismatch is an error naming the offending file and what differs, because a silently
resampled or reordered slice gives a plausible but wrong model.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

import numpy as np

from .atomic import atomic_group, atomic_path
from .cubefile import gdal_modules
from .errors import Mpm3dError
from .grid import LABEL_UNKNOWN, Cube, Grid

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
MIN_LEVELS = 3  # the smallest patch is 3 x 3 x 3 voxels


def elevation_from_name(path: str) -> float:
    """The last signed number in the file name: ``evidence_z-0450.tif`` -> -450."""
    stem = os.path.splitext(os.path.basename(path))[0]
    numbers = NUMBER.findall(stem)
    if not numbers:
        raise Mpm3dError(
            f"No elevation in the file name of {os.path.basename(path)}: name each slice by its elevation, like "
            "'evidence_z-0450.tif', or (when stacking) give the elevations in order in ELEVATIONS."
        )
    return float(numbers[-1])


def elevation_tag(elevation: float) -> str:
    """File-name tag that elevation_from_name reads back: -450 -> 'z-0450', 12.5 -> 'z+0012.5'."""
    sign = "-" if elevation < 0 else "+"
    magnitude = abs(elevation)
    text = f"{int(magnitude):04d}" if float(magnitude).is_integer() else f"{magnitude:06.1f}".rstrip("0")
    return f"z{sign}{text}"


class _Reference:
    """The grid facts a slice is checked against: another slice, or a cube's grid."""

    def __init__(self, name: str, crs: str, geotransform, size: tuple[int, int]):
        self.name, self.crs, self.geotransform, self.size = name, crs, tuple(geotransform), size

    @classmethod
    def of_grid(cls, name: str, grid: Grid) -> _Reference:
        return cls(name, grid.crs, grid.geotransform(), (len(grid.x), len(grid.y)))

    def differences(self, ref: _Reference) -> list[str]:
        _, osr = gdal_modules()
        found = []
        if not self.crs or not ref.crs:
            if bool(self.crs) != bool(ref.crs):
                found.append("CRS (only one of the two has a CRS)")
        else:
            a, b = osr.SpatialReference(self.crs), osr.SpatialReference(ref.crs)
            if not a.IsSame(b):
                found.append(f"CRS ({a.GetName()} vs {b.GetName()} in {ref.name})")
        if self.size != ref.size:
            found.append(f"raster size ({self.size[0]} x {self.size[1]} vs {ref.size[0]} x {ref.size[1]})")
        tol = 1e-6 * max(abs(ref.geotransform[1]), abs(ref.geotransform[5]))
        if not np.allclose(self.geotransform, ref.geotransform, rtol=0, atol=tol):
            if not np.allclose(self.geotransform[1::4], ref.geotransform[1::4], rtol=0, atol=tol):
                found.append(f"pixel size ({self.geotransform[1]:g}, {self.geotransform[5]:g} vs "
                             f"{ref.geotransform[1]:g}, {ref.geotransform[5]:g})")
            else:
                found.append(f"extent/origin ({self.geotransform[0]:.3f}, {self.geotransform[3]:.3f} vs "
                             f"{ref.geotransform[0]:.3f}, {ref.geotransform[3]:.3f})")
        return found


class _Slice(_Reference):
    """Grid facts of one raster file, read once for the checks."""

    def __init__(self, path: str, parameter: str):
        gdal, _ = gdal_modules()
        self.path = path
        try:
            ds = gdal.Open(path)
        except RuntimeError as exc:
            raise Mpm3dError(f"{parameter}: cannot read the raster {path}: {exc}") from exc
        super().__init__(os.path.basename(path), ds.GetProjection(), ds.GetGeoTransform(),
                         (ds.RasterXSize, ds.RasterYSize))
        self.parameter = parameter
        self.bands = [ds.GetRasterBand(i + 1).GetDescription() or f"band_{i + 1}" for i in range(ds.RasterCount)]
        self.nodata = [ds.GetRasterBand(i + 1).GetNoDataValue() for i in range(ds.RasterCount)]

    def check_grid(self, ref: _Reference) -> None:
        problems = self.differences(ref)
        if problems:
            raise Mpm3dError(f"{self.parameter} slice {self.name} is not on the grid of {ref.name}: "
                             + "; ".join(problems) + ". Warp it onto that grid (same CRS, extent and pixel size), "
                             "or leave it out.")

    def read(self) -> tuple[np.ndarray, dict[str, int]]:
        """Bands as float32 (B, Y, X) with nodata as NaN, and per band the count of NaN or infinite values
        that were not its declared nodata (they become nodata too, but deserve a word)."""
        gdal, _ = gdal_modules()
        ds = gdal.Open(self.path)
        out = np.empty((len(self.bands), self.size[1], self.size[0]), np.float32)
        stray = {}
        for i in range(len(self.bands)):
            band = ds.GetRasterBand(i + 1)
            data = band.ReadAsArray().astype(np.float32)
            nodata = self.nodata[i]
            if nodata is None:
                declared = np.zeros(data.shape, bool)
            else:
                declared = np.isnan(data) if np.isnan(nodata) else data == np.float32(nodata)
            stray_values = ~np.isfinite(data) & ~declared
            if stray_values.any():
                stray[self.bands[i]] = int(stray_values.sum())
            data[declared | stray_values] = np.nan
            out[i] = data
        return out, stray


def _check_elevations(paths: Sequence[str], elevations: Sequence[float] | None) -> list[float]:
    if elevations is None or len(elevations) == 0:
        elevations = [elevation_from_name(p) for p in paths]
    elif len(elevations) != len(paths):
        raise Mpm3dError(f"ELEVATIONS gives {len(elevations)} elevations for {len(paths)} EVIDENCE slices: "
                         "give one per slice, in the same order.")
    elevations = [float(e) for e in elevations]
    seen: dict[float, str] = {}
    for path, elevation in zip(paths, elevations, strict=True):
        if not np.isfinite(elevation):
            raise Mpm3dError(f"The elevation of EVIDENCE slice {os.path.basename(path)} is {elevation}: give a "
                             "finite number of metres (ELEVATIONS or the file name).")
        if elevation in seen:
            raise Mpm3dError(f"Duplicate elevation {elevation:g} m: EVIDENCE slices "
                             f"{os.path.basename(seen[elevation])} and {os.path.basename(path)}; give each level its "
                             "own elevation (in the file name or in ELEVATIONS), or leave the repeated slice out.")
        seen[elevation] = path
    return elevations


def _read_labels(infos: Sequence[_Slice], ref: _Reference) -> np.ndarray:
    """Label slices (1 ore, 0 barren, nodata unknown) into an int8 (Z, Y, X) array, in the order given."""
    levels = []
    for info in infos:
        info.check_grid(ref)
        if len(info.bands) != 1:
            raise Mpm3dError(f"{info.parameter} slice {info.name} has {len(info.bands)} bands; a label slice has "
                             "one (1 ore, 0 barren, nodata unknown).")
        values = info.read()[0][0]
        known = values[np.isfinite(values)]
        bad = np.setdiff1d(np.unique(known), [0, 1])
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in bad[:5])
            raise Mpm3dError(f"{info.parameter} slice {info.name} holds values other than 0/1/nodata ({shown}); "
                             "recode to 1 ore, 0 barren, and set the unknown value as the band's nodata "
                             f"(e.g. nodata = {bad[-1]:g}).")
        level = np.full(values.shape, LABEL_UNKNOWN, np.int8)
        level[values == 1] = 1
        level[values == 0] = 0
        levels.append(level)
    return np.stack(levels)


def read_slices(
    paths: Sequence[str],
    elevations: Sequence[float] | None = None,
    label_paths: Sequence[str] | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Cube:
    """Stack depth slices (and optional label slices in the same order) into a Cube, top level first.

    Messages name the slices by the parameters of the stacking algorithm (EVIDENCE, LABELS, ELEVATIONS).
    """
    if not paths:
        raise Mpm3dError("No EVIDENCE slices given: give one raster per depth level.")
    if len(paths) < MIN_LEVELS:
        raise Mpm3dError(f"EVIDENCE holds {len(paths)} slice(s); a cube needs at least {MIN_LEVELS} levels (the "
                         "smallest patch is 3 voxels deep): give one raster per depth level.")
    if label_paths and len(label_paths) != len(paths):
        raise Mpm3dError(f"{len(label_paths)} LABELS slices for {len(paths)} EVIDENCE slices: give one label slice "
                         "per level, in the order of the evidence slices.")
    elevations = _check_elevations(paths, elevations)
    infos = [_Slice(p, "EVIDENCE") for p in paths]
    ref = infos[0]
    for info in infos[1:]:
        problems = info.differences(ref)
        if info.bands != ref.bands:
            if len(info.bands) != len(ref.bands):
                problems.append(f"band count ({len(info.bands)} vs {len(ref.bands)})")
            else:
                problems.append(f"band names ({info.bands} vs {ref.bands})")
        if problems:
            raise Mpm3dError(f"EVIDENCE slice {info.name} does not match {ref.name}: " + "; ".join(problems)
                             + ". Every slice needs the same CRS, extent, pixel size, raster size and bands; warp "
                             "or rewrite it to match, or leave it out.")
    if len(set(ref.bands)) != len(ref.bands):
        raise Mpm3dError(f"Band names of EVIDENCE slice {ref.name} repeat ({ref.bands}): give each evidence band "
                         "its own description.")
    order = sorted(range(len(paths)), key=lambda i: -elevations[i])
    features = np.empty((len(ref.bands), len(paths), ref.size[1], ref.size[0]), np.float32)
    for level, index in enumerate(order):
        features[:, level], stray = infos[index].read()
        for band, count in stray.items():
            if on_warning:
                on_warning(f"EVIDENCE slice {infos[index].name}, band '{band}': {count} NaN or infinite values that "
                           "are not the band's nodata value; they are treated as nodata. Set the nodata value, or "
                           "fix the evidence where it was computed.")
        if on_progress:
            on_progress((level + 1) / len(order))
    grid = Grid.from_geotransform(ref.crs, ref.geotransform, ref.size[0], ref.size[1],
                                  [elevations[i] for i in order])
    label = None
    if label_paths:
        label = _read_labels([_Slice(label_paths[i], "LABELS") for i in order], ref)
    cube = Cube(grid, features, list(ref.bands), label)
    for message in _content_problems(cube, [infos[i].name for i in order]):
        if on_warning:
            on_warning(message)
    return cube


def _content_problems(cube: Cube, names: list[str]) -> list[str]:
    """Warnings on what was stacked; raises where nothing useful could come of the cube."""
    for name, feature in zip(cube.feature_names, cube.features, strict=True):
        if not np.isfinite(feature).any():
            raise Mpm3dError(f"EVIDENCE band '{name}' has no data in any slice: fix its nodata value, or remove the "
                             "band from every slice.")
    valid = cube.valid
    if not valid.any():
        raise Mpm3dError("No voxel of the EVIDENCE slices has data in every band (the bands' data never overlap): "
                         "check the nodata value of each band.")
    warnings = [f"EVIDENCE slice {name} (level {z:g} m) has no voxel with data in every band; it stays in the "
                "cube as nodata. Check its nodata values, or leave it out."
                for name, z, level in zip(names, cube.grid.z, valid, strict=True) if not level.any()]
    if cube.label is not None:
        for value, kind in ((1, "ore (1)"), (0, "barren (0)")):
            if not np.any((cube.label == value) & valid):
                warnings.append(f"The LABELS slices mark no {kind} voxel where the evidence has data, so this cube "
                                "cannot train a model or score one. Check the label values and their nodata value.")
    return warnings


def read_label_slices(paths: Sequence[str], grid: Grid, parameter: str, grid_name: str) -> np.ndarray:
    """Label slices matched to the levels of ``grid`` by the elevation in their file names: int8 (Z, Y, X)."""
    by_elevation = {}
    for path in paths:
        by_elevation.setdefault(elevation_from_name(path), path)
    missing = [float(z) for z in grid.z if float(z) not in by_elevation]
    extra = sorted(set(by_elevation) - {float(z) for z in grid.z})
    if missing or extra or len(paths) != len(grid.z):
        raise Mpm3dError(f"The {parameter} slices (levels {sorted(by_elevation, reverse=True)}) do not match the "
                         f"levels of {grid_name} ({grid.z.tolist()}): give one label slice per level, named by "
                         "its elevation.")
    infos = [_Slice(by_elevation[float(z)], parameter) for z in grid.z]
    return _read_labels(infos, _Reference.of_grid(grid_name, grid))


def grid_differences(grid: Grid, ref: Grid, ref_name: str) -> list[str]:
    """What differs between two cube grids: CRS, pixel size, extent, raster size, levels."""
    problems = _Reference.of_grid("", grid).differences(_Reference.of_grid(ref_name, ref))
    if len(grid.z) != len(ref.z) or not np.allclose(grid.z, ref.z):
        problems.append(f"levels ({grid.z.tolist()} vs {ref.z.tolist()})")
    return problems


def level_spacing(z: np.ndarray) -> tuple[dict, str | None]:
    """Cube attributes on the level spacing, and a warning text when the levels are not evenly spaced
    (allowed: they are stored as given, but patches then mix different vertical distances)."""
    gaps = np.abs(np.diff(np.asarray(z, float)))
    even = len(gaps) < 2 or bool(np.allclose(gaps, gaps[0], rtol=1e-6))
    attrs = {"level_spacing": "even" if even else "uneven", "level_gaps_m": [float(g) for g in gaps]}
    if even:
        return attrs, None
    return attrs, (f"Levels are not evenly spaced (gaps from {gaps.min():g} to {gaps.max():g} m). They are "
                   "stored as given (cube attribute mpm3d_level_spacing = uneven); models use the level order, so "
                   "patches mix vertical distances: add the missing slices if that is not intended.")


def write_raster(path: str, grid: Grid, bands: np.ndarray, names: Sequence[str], nodata: float) -> str:
    """One GeoTIFF (bands, Y, X) on the grid, written atomically, NaN written as ``nodata``."""
    gdal, osr = gdal_modules()
    bands = np.asarray(bands)
    dtype = gdal.GDT_Float32 if bands.dtype.kind == "f" else gdal.GDT_Int16
    with atomic_path(path) as tmp:
        ds = gdal.GetDriverByName("GTiff").Create(tmp, len(grid.x), len(grid.y), len(bands), dtype,
                                                  ["COMPRESS=DEFLATE", "TILED=YES"])
        ds.SetGeoTransform(grid.geotransform())
        srs = osr.SpatialReference()
        srs.SetFromUserInput(grid.crs)
        ds.SetProjection(srs.ExportToWkt())
        for i, name in enumerate(names):
            band = ds.GetRasterBand(i + 1)
            band.SetDescription(name)
            band.SetNoDataValue(nodata)
            data = bands[i]
            if data.dtype.kind == "f":
                data = np.where(np.isfinite(data), data, nodata).astype(np.float32)
            band.WriteArray(data)
        ds = None
    return path


def write_slices(
    folder: str,
    grid: Grid,
    data: np.ndarray,
    names: Sequence[str],
    prefix: str,
    nodata: float = -9999.0,
    on_progress: Callable[[float], None] | None = None,
) -> list[str]:
    """One raster per level of ``data`` (B, Z, Y, X), named ``<prefix>_z-0450.tif``; paths top level first.

    The levels appear together once all are written (one atomic group), never a part of them.
    """
    paths = [os.path.join(folder, f"{prefix}_{elevation_tag(float(elevation))}.tif") for elevation in grid.z]
    with atomic_group():
        for level, path in enumerate(paths):
            write_raster(path, grid, data[:, level], names, nodata)
            if on_progress:
                on_progress((level + 1) / len(grid.z))
    return paths


def level_files(folder: str, prefix: str) -> str:
    """Glob of the level rasters ``write_slices`` names with ``prefix`` in ``folder``."""
    return os.path.join(folder, f"{prefix}_z*.tif")


def write_cube_slices(folder: str, cube: Cube, prefix: str, label_prefix: str | None = None) -> dict:
    """Evidence (and label) slices of a whole cube: the way back from a cube file."""
    with atomic_group():
        out = {"evidence": write_slices(folder, cube.grid, cube.features, cube.feature_names, prefix)}
        if cube.label is not None and label_prefix:
            out["labels"] = write_slices(folder, cube.grid, cube.label[None].astype(np.int16), ["label"],
                                         label_prefix, nodata=LABEL_UNKNOWN)
    return out
