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

from .atomic import atomic_path
from .errors import Mpm3dError
from .grid import LABEL_UNKNOWN, Cube, Grid

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _gdal():
    from osgeo import gdal, osr

    gdal.UseExceptions()
    return gdal, osr


def elevation_from_name(path: str) -> float:
    """The last signed number in the file name: ``evidence_z-0450.tif`` -> -450."""
    stem = os.path.splitext(os.path.basename(path))[0]
    numbers = NUMBER.findall(stem)
    if not numbers:
        raise Mpm3dError(
            f"No elevation in the file name of {os.path.basename(path)}: name slices like "
            "'evidence_z-0450.tif' or give the elevations explicitly (ELEVATIONS parameter)."
        )
    return float(numbers[-1])


def elevation_tag(elevation: float) -> str:
    """File-name tag that elevation_from_name reads back: -450 -> 'z-0450', 12.5 -> 'z+0012.5'."""
    sign = "-" if elevation < 0 else "+"
    magnitude = abs(elevation)
    text = f"{int(magnitude):04d}" if float(magnitude).is_integer() else f"{magnitude:06.1f}".rstrip("0")
    return f"z{sign}{text}"


class _Slice:
    """Grid facts of one raster file, read once for the checks."""

    def __init__(self, path: str):
        gdal, _ = _gdal()
        self.path = path
        try:
            ds = gdal.Open(path)
        except RuntimeError as exc:
            raise Mpm3dError(f"Cannot read the raster {path}: {exc}") from exc
        self.name = os.path.basename(path)
        self.crs = ds.GetProjection()
        self.geotransform = ds.GetGeoTransform()
        self.size = (ds.RasterXSize, ds.RasterYSize)
        self.bands = [ds.GetRasterBand(i + 1).GetDescription() or f"band_{i + 1}" for i in range(ds.RasterCount)]
        self.nodata = [ds.GetRasterBand(i + 1).GetNoDataValue() for i in range(ds.RasterCount)]

    def differences(self, ref: _Slice) -> list[str]:
        _, osr = _gdal()
        found = []
        if not self.crs or not ref.crs:
            if bool(self.crs) != bool(ref.crs):
                found.append("CRS (one slice has none)")
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

    def read(self) -> np.ndarray:
        """Bands as float32 (B, Y, X) with nodata as NaN."""
        gdal, _ = _gdal()
        ds = gdal.Open(self.path)
        out = np.empty((len(self.bands), self.size[1], self.size[0]), np.float32)
        for i in range(len(self.bands)):
            band = ds.GetRasterBand(i + 1)
            data = band.ReadAsArray().astype(np.float32)
            if self.nodata[i] is not None:
                data[data == np.float32(self.nodata[i])] = np.nan
            out[i] = data
        return out


def _check_elevations(paths: Sequence[str], elevations: Sequence[float] | None) -> list[float]:
    if elevations is None or len(elevations) == 0:
        elevations = [elevation_from_name(p) for p in paths]
    elif len(elevations) != len(paths):
        raise Mpm3dError(f"{len(elevations)} elevations given for {len(paths)} slices: give one per slice.")
    elevations = [float(e) for e in elevations]
    seen: dict[float, str] = {}
    for path, elevation in zip(paths, elevations, strict=False):
        if elevation in seen:
            raise Mpm3dError(f"Duplicate elevation {elevation:g} m: {os.path.basename(seen[elevation])} and "
                             f"{os.path.basename(path)}; each level needs its own elevation.")
        seen[elevation] = path
    return elevations


def _read_labels(label_paths: Sequence[str], order: list[int], ref: _Slice) -> np.ndarray:
    """Label slices (1 ore, 0 barren, nodata unknown) into an int8 (Z, Y, X) array."""
    levels = []
    for index in order:
        info = _Slice(label_paths[index])
        problems = info.differences(ref)
        if problems:
            raise Mpm3dError(f"Label slice {info.name} is not on the evidence grid ({ref.name}): "
                             + "; ".join(problems))
        if len(info.bands) != 1:
            raise Mpm3dError(f"Label slice {info.name} has {len(info.bands)} bands; a label slice has one.")
        values = info.read()[0]
        known = values[np.isfinite(values)]
        bad = np.setdiff1d(np.unique(known), [0, 1])
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in bad[:5])
            raise Mpm3dError(f"Label slice {info.name} holds values other than 0/1/nodata ({shown}); "
                             "recode to 1 ore, 0 barren, and set the unknown value as the band's nodata.")
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
) -> Cube:
    """Stack depth slices (and optional label slices in the same order) into a Cube, top level first."""
    if not paths:
        raise Mpm3dError("No evidence slices given.")
    if label_paths and len(label_paths) != len(paths):
        raise Mpm3dError(f"{len(label_paths)} label slices for {len(paths)} evidence slices: give one per level.")
    elevations = _check_elevations(paths, elevations)
    infos = [_Slice(p) for p in paths]
    ref = infos[0]
    for info in infos[1:]:
        problems = info.differences(ref)
        if info.bands != ref.bands:
            if len(info.bands) != len(ref.bands):
                problems.append(f"band count ({len(info.bands)} vs {len(ref.bands)})")
            else:
                problems.append(f"band names ({info.bands} vs {ref.bands})")
        if problems:
            raise Mpm3dError(f"Slice {info.name} is not on the grid of {ref.name}: " + "; ".join(problems))
    if len(set(ref.bands)) != len(ref.bands):
        raise Mpm3dError(f"Band names of {ref.name} repeat ({ref.bands}): each evidence layer needs its own name.")
    order = sorted(range(len(paths)), key=lambda i: -elevations[i])
    features = np.empty((len(ref.bands), len(paths), ref.size[1], ref.size[0]), np.float32)
    for level, index in enumerate(order):
        features[:, level] = infos[index].read()
        if on_progress:
            on_progress((level + 1) / len(order))
    features[~np.isfinite(features)] = np.nan
    grid = Grid.from_geotransform(ref.crs, ref.geotransform, ref.size[0], ref.size[1],
                                  [elevations[i] for i in order])
    label = _read_labels(label_paths, order, ref) if label_paths else None
    return Cube(grid, features, list(ref.bands), label)


def level_spacing_note(z: np.ndarray) -> str | None:
    """A warning text when levels are not evenly spaced (allowed, but worth knowing)."""
    if len(z) < 3:
        return None
    gaps = np.abs(np.diff(z))
    if np.allclose(gaps, gaps[0], rtol=1e-6):
        return None
    return f"Levels are not evenly spaced (gaps from {gaps.min():g} to {gaps.max():g} m)."


def write_raster(path: str, grid: Grid, bands: np.ndarray, names: Sequence[str], nodata: float) -> str:
    """One GeoTIFF (bands, Y, X) on the grid, written atomically, NaN written as ``nodata``."""
    gdal, osr = _gdal()
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
    """One raster per level of ``data`` (B, Z, Y, X), named ``<prefix>_z-0450.tif``; paths top level first."""
    paths = []
    for level, elevation in enumerate(grid.z):
        path = os.path.join(folder, f"{prefix}_{elevation_tag(float(elevation))}.tif")
        paths.append(write_raster(path, grid, data[:, level], names, nodata))
        if on_progress:
            on_progress((level + 1) / len(grid.z))
    return paths


def write_cube_slices(folder: str, cube: Cube, prefix: str, label_prefix: str | None = None) -> dict:
    """Evidence (and label) slices of a whole cube: the way back from a cube file."""
    out = {"evidence": write_slices(folder, cube.grid, cube.features, cube.feature_names, prefix)}
    if cube.label is not None and label_prefix:
        out["labels"] = write_slices(folder, cube.grid, cube.label[None].astype(np.int16), ["label"],
                                     label_prefix, nodata=LABEL_UNKNOWN)
    return out
