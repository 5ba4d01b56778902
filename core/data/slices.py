"""Depth slices: one multi-band raster per elevation level <-> a cube.

Every slice must sit on one grid (CRS, geotransform, size) with the same bands in the same
order; a mismatch is an error naming the offending file and what differs, because a silently
resampled or reordered slice gives a plausible but wrong model. Slices stored south-up or
east-to-west are brought to the cube's north-up, west-to-east order as they are read, so the
network sees every deposit the same way round; rotated slices are refused.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Sequence

import numpy as np

from ..atomic import atomic_group, atomic_path
from ..errors import Mpm3dError
from ..paths import MAX_TAG_DIGITS, check_level_names, check_prefix
from .cubefile import check_variable_names, gdal_modules
from .grid import LABEL_UNKNOWN, Cube, Grid

# A signed decimal, with the exponent elevation_tag writes for elevations too long to spell out
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]\d+)?")
OUTPUT_TAG = "MPM3D_OUTPUT"  # GeoTIFF metadata item: the band names of a level raster mpm3d wrote
CLASSES_TAG = "MPM3D_CLASSES"  # band metadata item of a class raster: its classes' names (JSON list, value 0 first)
MIN_LEVELS = 3  # the smallest patch is 3 x 3 x 3 voxels
GRID_TOLERANCE = 1e-6  # of a pixel: closer geotransforms, rotation terms and CRS round trips count as equal
SENTINEL = 1e30  # no evidence is this large: a value beyond it is a nodata placeholder (-3.4e38, 1.7e308)
SUSPECT_SHARE = 1e-3  # a repeated extreme value filling this share of a band's data ...
SUSPECT_SPREADS = 10.0  # ... this many robust standard deviations from the rest's median looks like nodata
SUSPECT_SAMPLE = 200_000  # voxels drawn per band to look for such values
SHOWN_SLICES = 3  # slice names listed in a warning before "and N more"


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
    """File-name tag that elevation_from_name reads back exactly: -450 -> 'z-0450', 12.5 -> 'z+0012.5',
    -0.04 -> 'z-0000.04' (the shortest digits that round-trip, so that close levels never share a name)."""
    sign = "-" if elevation < 0 else "+"
    text = np.format_float_positional(abs(elevation), unique=True, trim="-")
    if len(text) > MAX_TAG_DIGITS:
        return f"z{sign}{np.format_float_scientific(abs(elevation), unique=True, trim='-')}"
    integer, point, fraction = text.partition(".")
    return f"z{sign}{integer.zfill(4)}{point}{fraction}"


def _number(value: float) -> str:
    """The shortest text that reads back as the same value in its own precision (-3.4028235e+38, -9999)."""
    if value != 0 and not 1e-4 <= abs(value) < 1e16:
        return np.format_float_scientific(value, unique=True, trim="-")
    return np.format_float_positional(value, unique=True, trim="-")


def _versus(mine: Sequence[float], theirs: Sequence[float], fixed: bool) -> str:
    """'a, b vs c, d' with digits added until every pair of different numbers prints differently."""
    for digits in range(3 if fixed else 6, 18):
        spec = f".{digits}{'f' if fixed else 'g'}"
        a, b = [format(v, spec) for v in mine], [format(v, spec) for v in theirs]
        if all(x != y for x, y, u, v in zip(a, b, mine, theirs, strict=True) if u != v):
            break
    return f"{', '.join(a)} vs {', '.join(b)}"


def _some(names: Sequence[str]) -> str:
    """The first few names, and how many more."""
    more = len(names) - SHOWN_SLICES
    return ", ".join(names[:SHOWN_SLICES]) + (f" and {more} more" if more > 0 else "")


def check_slices_exist(parameter: str, paths: Sequence[str]) -> None:
    """Name the first slice file that is not there (not the whole list: the others are fine)."""
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        others = f" (and {len(missing) - 1} more of the {len(paths)})" if len(missing) > 1 else ""
        raise Mpm3dError(f"{parameter}: the slice {missing[0]} does not exist{others}: check the path (was the file "
                         f"moved or renamed?), or leave it out of {parameter}.")


def check_slices_given_once(parameter: str, paths: Sequence[str]) -> None:
    """The same file twice in one list (by any spelling or link) is one mistake, named as such: otherwise it showed
    as a duplicate elevation, or, with ELEVATIONS typed, was stacked as two levels of one slice."""
    seen: dict[object, int] = {}
    for position, path in enumerate(paths, start=1):
        status = os.stat(path)
        key = (status.st_dev, status.st_ino) if status.st_ino else os.path.normcase(os.path.realpath(path))
        if key in seen:
            raise Mpm3dError(f"{parameter}: the slice {os.path.basename(path)} is given twice (at positions "
                             f"{seen[key]} and {position} of the {len(paths)}): give each level's slice once.")
        seen[key] = position


def _srs(text: str):
    _, osr = gdal_modules()
    srs = osr.SpatialReference()
    srs.SetFromUserInput(text)
    return srs


def _crs_name(srs) -> str:
    code = srs.GetAuthorityCode(None)
    return (srs.GetName() or "unnamed CRS") + (f" ({srs.GetAuthorityName(None)}:{code})" if code else "")


def _same_crs(a, b, corners: np.ndarray, tolerance: float) -> bool:
    """Same CRS by meaning: IsSame, or else every corner of the grid maps onto itself. The second test
    accepts what IsSame misses, such as an ESRI WKT (east, north axes) against EPSG's north, east axes of a
    Gauss-Kruger CRS; a guessed ('ballpark') datum shift is not allowed to prove anything."""
    _, osr = gdal_modules()
    if a.IsSame(b, ["IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS"]):
        return True
    a, b = a.Clone(), b.Clone()
    for srs in (a, b):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # raster coordinates are always x east, y north
    options = osr.CoordinateTransformationOptions()
    options.SetBallparkAllowed(False)
    try:  # no operation without a ballpark: None, or (GDAL 3.10 with exceptions on) a RuntimeError
        transform = osr.CreateCoordinateTransformation(a, b, options)
        if transform is None:
            return False
        moved = np.array(transform.TransformPoints(corners.tolist()))[:, :2]
    except RuntimeError:
        return False
    return bool(np.all(np.abs(moved - corners) <= tolerance))


class _Reference:
    """The grid facts a slice is checked against: another slice, or a cube's grid (north-up geotransform)."""

    def __init__(self, name: str, crs: str, geotransform, size: tuple[int, int]):
        self.name, self.crs, self.geotransform, self.size = name, crs, tuple(geotransform), size

    @classmethod
    def of_grid(cls, name: str, grid: Grid) -> _Reference:
        return cls(name, grid.crs, grid.geotransform(), (len(grid.x), len(grid.y)))

    def corners(self) -> np.ndarray:
        x0, dx, _, y0, _, dy = self.geotransform
        return np.array([(x0 + dx * i, y0 + dy * j) for i in (0, self.size[0]) for j in (0, self.size[1])], float)

    def differences(self, ref: _Reference) -> list[str]:
        found = []
        tol = GRID_TOLERANCE * max(abs(ref.geotransform[1]), abs(ref.geotransform[5]))
        if not self.crs or not ref.crs:
            if bool(self.crs) != bool(ref.crs):
                found.append("CRS (only one of the two has a CRS)")
        else:
            a, b = _srs(self.crs), _srs(ref.crs)
            if not _same_crs(a, b, ref.corners(), tol):
                names = [_crs_name(a), _crs_name(b)]
                if a.GetName() == b.GetName():  # then say what differs
                    names = [f"{names[0]}: {a.ExportToProj4()}", f"{names[1]}: {b.ExportToProj4()}"]
                found.append(f"CRS ({names[0]} vs {names[1]} in {ref.name}; if both mean the same CRS, assign that "
                             "one CRS to every slice: gdal_edit.py -a_srs <CRS> <file>, or QGIS Raster > Projections > "
                             "Assign Projection)")
        if self.size != ref.size:
            found.append(f"raster size ({self.size[0]} x {self.size[1]} vs {ref.size[0]} x {ref.size[1]})")
        if not np.allclose(self.geotransform, ref.geotransform, rtol=0, atol=tol):
            pixel, ref_pixel = self.geotransform[1::4], ref.geotransform[1::4]
            if not np.allclose(pixel, ref_pixel, rtol=0, atol=tol):
                found.append(f"pixel size ({_versus(pixel, ref_pixel, fixed=False)})")
            else:
                found.append(f"extent/origin ({_versus(self.geotransform[::3], ref.geotransform[::3], fixed=True)})")
        return found


class _Slice(_Reference):
    """Grid facts of one raster file, read once for the checks; its geotransform made north-up, west-to-east."""

    def __init__(self, path: str, parameter: str):
        gdal, _ = gdal_modules()
        self.path, self.parameter = path, parameter
        try:
            ds = gdal.Open(path)
        except RuntimeError as exc:
            raise Mpm3dError(f"{parameter}: cannot read the raster {path}: {exc}") from exc
        width, height = ds.RasterXSize, ds.RasterYSize
        transform = ds.GetGeoTransform(can_return_null=True)
        if transform is None and not ds.GetProjection():
            raise Mpm3dError(f"{parameter} slice {os.path.basename(path)} has no georeferencing (no geotransform and "
                             "no CRS): it would be placed at made-up coordinates. Georeference it (QGIS Georeferencer, "
                             "or gdal_translate -a_ullr ... -a_srs EPSG:...) and stack again.")
        # a CRS without a geotransform: row 0 on top, the way QGIS shows such a raster
        x0, dx, row_x, y0, column_y, dy = transform or (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
        if abs(row_x) * height > GRID_TOLERANCE * abs(dx) or abs(column_y) * width > GRID_TOLERANCE * abs(dy):
            raise Mpm3dError(
                f"{parameter} slice {os.path.basename(path)} is rotated (geotransform rotation terms "
                f"{row_x:.6g} and {column_y:.6g}); mpm3d stacks north-up grids only, and dropping the rotation "
                "would misplace every voxel. Warp each slice to a north-up grid in its own CRS (gdalwarp "
                "<slice> <north-up slice>, without -t_srs; or QGIS Raster > Projections > Warp (Reproject) with "
                "the same target CRS) and stack the warped slices.")
        self.flip_x, self.flip_y = dx < 0, dy > 0
        geotransform = (x0 + dx * width if self.flip_x else x0, abs(dx), 0.0,
                        y0 + dy * height if self.flip_y else y0, 0.0, -abs(dy))
        super().__init__(os.path.basename(path), ds.GetProjection(), geotransform, (width, height))
        self.bands = [ds.GetRasterBand(i + 1).GetDescription() or f"band_{i + 1}" for i in range(ds.RasterCount)]
        self.nodata = [ds.GetRasterBand(i + 1).GetNoDataValue() for i in range(ds.RasterCount)]
        self.units = [(ds.GetRasterBand(i + 1).GetUnitType() or "").strip() for i in range(ds.RasterCount)]
        for i in range(ds.RasterCount):
            band = ds.GetRasterBand(i + 1)
            if gdal.DataTypeIsComplex(band.DataType):
                raise Mpm3dError(f"{parameter} slice {self.name}, band {i + 1}: complex numbers are not evidence "
                                 "(their imaginary part would be dropped); write the magnitude or the real part as its "
                                 "own band and stack again.")
            if band.GetColorInterpretation() == gdal.GCI_AlphaBand:
                raise Mpm3dError(f"{parameter} slice {self.name}, band {i + 1} is an alpha (transparency) band, not "
                                 "evidence: leave it out (gdal_translate -b 1 -b 2 ... ) and declare the transparent "
                                 "pixels as nodata instead (gdal_translate -a_nodata).")

    def check_grid(self, ref: _Reference) -> None:
        problems = self.differences(ref)
        if problems:
            raise Mpm3dError(f"{self.parameter} slice {self.name} is not on the grid of {ref.name}: "
                             + "; ".join(problems) + ". Warp it onto that grid (same CRS, extent and pixel size), "
                             "or leave it out.")

    def read(self) -> tuple[np.ndarray, dict[str, int], dict[tuple[str, float], int]]:
        """Bands as float32 (B, Y, X), rows north to south and columns west to east, nodata as NaN; per band
        the count of NaN or infinite values that were not its declared nodata, and per (band, value) the
        count of undeclared sentinels (|value| >= SENTINEL). Both become nodata too, but deserve a word."""
        gdal, _ = gdal_modules()
        ds = gdal.Open(self.path)
        out = np.empty((len(self.bands), self.size[1], self.size[0]), np.float32)
        stray, sentinels = {}, {}
        for i, name in enumerate(self.bands):
            try:
                raw = ds.GetRasterBand(i + 1).ReadAsArray()
            except RuntimeError as exc:
                raise Mpm3dError(f"{self.parameter} slice {self.name}, band {i + 1} cannot be read (the file is "
                                 f"damaged or cut short, or a file it refers to is missing: {exc}); write it again, or "
                                 "leave it out.") from exc
            nodata, is_float = self.nodata[i], raw.dtype.kind == "f"
            with np.errstate(over="ignore"):  # a float64 sentinel or nodata beyond float32's range becomes inf
                if nodata is None:
                    declared = np.zeros(raw.shape, bool)
                elif np.isnan(nodata):
                    declared = np.isnan(raw)
                else:
                    declared = raw == (raw.dtype.type(nodata) if is_float else nodata)
                data = raw.astype(np.float32)
            drop = declared
            if is_float:
                finite = np.isfinite(raw)
                stray_values = ~finite & ~declared
                if stray_values.any():
                    stray[name] = int(stray_values.sum())
                sentinel = finite & (np.abs(raw) >= SENTINEL) & ~declared
                if sentinel.any():
                    for value, count in zip(*np.unique(raw[sentinel], return_counts=True), strict=True):
                        sentinels[(name, value)] = int(count)
                drop = declared | stray_values | sentinel
            data[drop] = np.nan
            out[i] = data[::-1 if self.flip_y else 1, ::-1 if self.flip_x else 1]
        return out, stray, sentinels


def _names_elevations(paths: Sequence[str]) -> list[float] | None:
    """The elevations the file names give, or None where a name gives none."""
    try:
        return [elevation_from_name(p) for p in paths]
    except Mpm3dError:
        return None


def _check_same_order(named: list[float] | None, given: Sequence[float], paths: Sequence[str],
                      what: str, fix: str) -> None:
    """Refuse a list that holds the same levels as the file names in another order: a mix-up, not a choice.

    Numbers in names that are not the same set of levels (``slice_03``) say nothing and are let be.
    """
    if named is None or sorted(named) != sorted(given) or list(named) == list(given):
        return
    index = next(i for i, (a, b) in enumerate(zip(named, given, strict=True)) if a != b)
    raise Mpm3dError(f"{what} {os.path.basename(paths[index])} is named for {named[index]:g} m but would be stored at "
                     f"{given[index]:g} m: the order does not match the elevations in the file names. {fix}")


def _check_not_depths(named: list[float] | None, given: Sequence[float], paths: Sequence[str]) -> None:
    """Refuse ELEVATIONS that are the file names' levels with the sign turned: depths given for elevations,
    which would stack the cube upside down."""
    if named is None or sorted(named) == sorted(given) or sorted(-level for level in named) != sorted(given):
        return
    index = next(i for i, level in enumerate(named) if level)
    raise Mpm3dError(f"ELEVATIONS are the elevations in the EVIDENCE slice names with the sign turned (slice "
                     f"{os.path.basename(paths[index])} is named for {named[index]:g} m, ELEVATIONS gives "
                     f"{given[index]:g} m): elevations are metres positive up, so a level 450 m below the datum is "
                     "-450. Give elevations, not depths, or leave ELEVATIONS empty to read the file names.")


def _check_elevations(paths: Sequence[str], elevations: Sequence[float] | None) -> list[float]:
    if elevations is None or len(elevations) == 0:
        elevations = [elevation_from_name(p) for p in paths]
    elif len(elevations) != len(paths):
        raise Mpm3dError(f"ELEVATIONS gives {len(elevations)} elevations for {len(paths)} EVIDENCE slices: "
                         "give one per slice, in the same order.")
    else:
        named, given = _names_elevations(paths), [float(e) for e in elevations]
        _check_not_depths(named, given, paths)
        _check_same_order(named, given, paths, "EVIDENCE slice",
                          "Give ELEVATIONS in the order of the EVIDENCE slices (or leave it empty to read the names).")
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
        bands, _, sentinels = info.read()
        values = bands[0]
        known = values[np.isfinite(values)]
        bad = sorted({*np.setdiff1d(np.unique(known), [0, 1]).tolist(), *(value for _, value in sentinels)})
        if bad:
            shown = ", ".join(_number(v) for v in bad[:5])
            raise Mpm3dError(f"{info.parameter} slice {info.name} holds values other than 0/1/nodata ({shown}); "
                             "recode to 1 ore, 0 barren, and set the unknown value as the band's nodata "
                             f"(e.g. nodata = {_number(bad[-1])}).")
        level = np.full(values.shape, LABEL_UNKNOWN, np.int8)
        level[values == 1] = 1
        level[values == 0] = 0
        levels.append(level)
    return np.stack(levels)


def parse_units(text: str) -> dict[str, str]:
    """UNITS as typed, ``band=unit`` pairs separated by commas or semicolons, as a dict (empty text: none)."""
    units: dict[str, str] = {}
    for item in (part.strip() for part in text.replace(";", ",").split(",")):
        if not item:
            continue
        band, _, unit = item.partition("=")
        if not (band.strip() and unit.strip()):
            raise Mpm3dError(f"UNITS must be band=unit pairs separated by commas (e.g. fault_distance=m, "
                             f"density=g/cm3, fault_dip=degree), got '{item}'")
        if band.strip() in units:
            raise Mpm3dError(f"UNITS gives the band '{band.strip()}' twice; give each band's units once")
        units[band.strip()] = unit.strip()
    return units


def _feature_units(infos: Sequence[_Slice], given: dict[str, str], warn: Callable[[str], None]) -> dict[str, str]:
    """Each band's units: UNITS where given, else the slices' band metadata (GDAL's unit type), where any says.

    Slices that disagree on a band's units are refused: the levels of one feature would not be comparable.
    """
    bands = infos[0].bands
    unknown = [band for band in given if band not in bands]
    if unknown:
        raise Mpm3dError(f"UNITS names {', '.join(repr(b) for b in unknown)}, not a band of the EVIDENCE slices "
                         f"(bands: {', '.join(bands)}); name the bands by their descriptions")
    units = {}
    for index, band in enumerate(bands):
        found = {info.units[index]: info.name for info in infos if info.units[index]}
        if len(found) > 1:
            shown = ", ".join(f"'{unit}' in {name}" for unit, name in found.items())
            raise Mpm3dError(f"EVIDENCE band '{band}' has different units in different slices ({shown}): convert "
                             "the slices to one unit, or correct the band metadata, and stack again.")
        stored = next(iter(found), "")
        if band in given and stored and given[band] != stored:
            warn(f"UNITS gives '{given[band]}' for band '{band}', whose slices say '{stored}'; the cube stores "
                 f"'{given[band]}'.")
        if given.get(band, stored):
            units[band] = given.get(band, stored)
    return units


def read_slices(
    paths: Sequence[str],
    elevations: Sequence[float] | None = None,
    label_paths: Sequence[str] | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    units: dict[str, str] | None = None,
) -> Cube:
    """Stack depth slices (and optional label slices in the same order) into a Cube, top level first.

    Messages name the slices by the parameters of the stacking algorithm (EVIDENCE, LABELS, ELEVATIONS,
    UNITS). ``units`` (band name -> unit) overrides the units the bands' metadata gives.
    """
    warn = on_warning or (lambda _: None)
    if not paths:
        raise Mpm3dError("No EVIDENCE slices given: give one raster per depth level.")
    if len(paths) < MIN_LEVELS:
        raise Mpm3dError(f"EVIDENCE holds {len(paths)} slice(s); a cube needs at least {MIN_LEVELS} levels (the "
                         "smallest patch is 3 voxels deep): give one raster per depth level.")
    check_slices_exist("EVIDENCE", paths)
    check_slices_exist("LABELS", label_paths or [])
    check_slices_given_once("EVIDENCE", paths)
    check_slices_given_once("LABELS", label_paths or [])
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
    check_variable_names(ref.bands, f"EVIDENCE slice {ref.name}")
    feature_units = _feature_units(infos, dict(units or {}), warn)
    order = sorted(range(len(paths)), key=lambda i: -elevations[i])
    names = [infos[i].name for i in order]
    features = np.empty((len(ref.bands), len(paths), ref.size[1], ref.size[0]), np.float32)
    sentinels: dict[tuple[str, float], dict[str, int]] = {}  # (band, value) -> {slice: count}
    for level, index in enumerate(order):
        features[:, level], stray, found = infos[index].read()
        for band, count in stray.items():
            warn(f"EVIDENCE slice {names[level]}, band '{band}': {count} NaN or infinite values that are not the "
                 "band's nodata value; they are treated as nodata. Set the nodata value, or fix the evidence where "
                 "it was computed.")
        for key, count in found.items():
            sentinels.setdefault(key, {})[names[level]] = count
        if on_progress:
            on_progress((level + 1) / len(order))
    for (band, value), counts in sentinels.items():
        warn(f"EVIDENCE band '{band}': {sum(counts.values())} voxels in {len(counts)} slice(s) ({_some(list(counts))}) "
             f"hold {_number(value)}, a nodata placeholder the band does not declare; they are treated as nodata. "
             f"Declare it in the files (gdal_edit.py -a_nodata {_number(value)} <file>, or QGIS Raster > Conversion > "
             "Translate with 'Assign a specified nodata value to output bands') so that every tool skips it.")
    grid = Grid.from_geotransform(ref.crs, ref.geotransform, ref.size[0], ref.size[1],
                                  [elevations[i] for i in order])
    label = None
    if label_paths:
        _check_same_order(_names_elevations(label_paths), elevations, label_paths, "LABELS slice",
                          "Give the LABELS slices in the order of the EVIDENCE slices, one per level.")
        label = _read_labels([_Slice(label_paths[i], "LABELS") for i in order], ref)
    cube = Cube(grid, features, list(ref.bands), label, units=feature_units)
    for message in _suspect_values(cube, names) + _content_problems(cube, names):
        warn(message)
    return cube


def _suspect_values(cube: Cube, names: list[str]) -> list[str]:
    """Warnings for one value repeated at the extreme of a band, far outside the spread of the rest (-9999,
    -32768, 65535 ...): most likely an undeclared nodata value. The data stay as they are (it may be real);
    a random sample of each band finds such a value, the full band then counts it."""
    warnings = []
    rng = np.random.default_rng(0)  # the same warnings for the same slices
    for name, band in zip(cube.feature_names, cube.features, strict=True):
        flat = band.reshape(-1)
        sample = flat[rng.integers(0, flat.size, SUSPECT_SAMPLE)] if flat.size > SUSPECT_SAMPLE else flat
        sample = sample[np.isfinite(sample)]
        if sample.size == 0:
            continue
        for value in {sample.min(), sample.max()}:
            hit = sample == value
            rest = sample[~hit]
            if hit.mean() < SUSPECT_SHARE or hit.sum() < 2 or rest.size < 2:
                continue
            median = np.median(rest)
            spread = 1.4826 * np.median(np.abs(rest - median))  # a robust standard deviation
            if not spread > 0 or abs(value - median) < SUSPECT_SPREADS * spread:
                continue
            count = int(np.count_nonzero(band == value))
            levels = [names[k] for k in range(len(names)) if np.any(band[k] == value)]
            warnings.append(
                f"EVIDENCE band '{name}': the value {_number(value)} fills {count} voxels "
                f"({count / np.isfinite(flat).sum():.1%} of the band's data) in {len(levels)} slice(s) "
                f"({_some(levels)}), {abs(value - median) / spread:.0f} robust standard deviations from the median "
                f"of the rest ({median:.6g}): it looks like a nodata value the band does not declare. It is kept as "
                f"data; if it means 'no data', declare it (gdal_edit.py -a_nodata {_number(value)} <file>, or QGIS "
                "Raster > Conversion > Translate with 'Assign a specified nodata value to output bands') and stack "
                "again.")
    return warnings


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
    check_slices_exist(parameter, paths)
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


def write_raster(path: str, grid: Grid, bands: np.ndarray, names: Sequence[str], nodata: float,
                 units: dict[str, str] | None = None, categories: Sequence[str] | None = None) -> str:
    """One GeoTIFF (bands, Y, X) on the grid, written atomically, NaN written as ``nodata``; each band's
    ``units`` (name -> unit) as its unit type where known, which stacking reads back; ``categories`` the names of
    a class raster's values 0, 1, ..., as a JSON list in the band's CLASSES_TAG, so the file says what its classes
    are."""
    gdal, osr = gdal_modules()
    bands = np.asarray(bands)
    dtype = gdal.GDT_Float32 if bands.dtype.kind == "f" else gdal.GDT_Int16
    with atomic_path(path) as tmp:
        ds = gdal.GetDriverByName("GTiff").Create(tmp, len(grid.x), len(grid.y), len(bands), dtype,
                                                  ["COMPRESS=DEFLATE", "TILED=YES"])
        ds.SetMetadataItem(OUTPUT_TAG, ",".join(names))
        ds.SetGeoTransform(grid.geotransform())
        srs = osr.SpatialReference()
        srs.SetFromUserInput(grid.crs)
        ds.SetProjection(srs.ExportToWkt())
        for i, name in enumerate(names):
            band = ds.GetRasterBand(i + 1)
            band.SetDescription(name)
            band.SetNoDataValue(nodata)
            if (units or {}).get(name):
                band.SetUnitType(units[name])
            if categories:  # band metadata: GeoTIFF keeps it inside the file (category names would go to a .aux.xml)
                band.SetMetadataItem(CLASSES_TAG, json.dumps(list(categories)))
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
    units: dict[str, str] | None = None,
    categories: Sequence[str] | None = None,
) -> list[str]:
    """One raster per level of ``data`` (B, Z, Y, X), named ``<prefix>_z-0450.tif``; paths top level first.
    ``units`` (band name -> unit) go into the bands' metadata, where stacking finds them again; ``categories``
    name a class raster's values (write_raster).

    The levels appear together once all are written (one atomic group), never a part of them.
    """
    check_prefix(prefix)
    paths = [os.path.join(folder, level_name(prefix, elevation)) for elevation in grid.z]
    for path in paths:
        _check_replaceable(path, names)
    seen: dict[str, float] = {}
    for elevation, path in zip(grid.z.tolist(), paths, strict=True):
        if path in seen:
            raise Mpm3dError(f"Levels {seen[path]!r} and {elevation!r} m would both be written as "
                             f"{os.path.basename(path)}: give every level of the cube its own elevation "
                             "(stack it again with distinct ELEVATIONS).")
        seen[path] = elevation
    with atomic_group():
        for level, path in enumerate(paths):
            write_raster(path, grid, data[:, level], names, nodata, units, categories)
            if on_progress:
                on_progress((level + 1) / len(grid.z))
    return paths


def level_name(prefix: str, elevation: float) -> str:
    """The file name of one level raster: ``prefix_z-0450.tif``."""
    return f"{prefix}_{elevation_tag(float(elevation))}.tif"


def check_level_names_fit(prefixes: Sequence[str], elevations: Sequence[float], prefix: str) -> None:
    """Before any work: every level raster these map prefixes would name fits the file system (see paths)."""
    check_level_names([level_name(p, z) for p in prefixes for z in elevations], prefix)


def level_files(folder: str, prefix: str) -> str:
    """Glob of the level rasters ``write_slices`` names with ``prefix`` in ``folder``."""
    check_prefix(prefix)
    return os.path.join(folder, f"{glob.escape(prefix)}_z*.tif")


def _check_replaceable(path: str, names: Sequence[str]) -> None:
    """A level raster only replaces an earlier one of the same map: the user named the folder and a prefix, not
    each file, so a file that happens to carry a level name (their evidence slices, say) is not ours to replace.

    mpm3d tags each level raster with its band names; untagged ones of earlier versions are recognised by
    their single band's name.
    """
    if not os.path.lexists(path):
        return
    gdal, _ = gdal_modules()
    try:
        ds = gdal.Open(path)
        tag = ds.GetMetadataItem(OUTPUT_TAG)
        ours = tag == ",".join(names) if tag is not None else (
            ds.RasterCount == 1 and list(names) == [ds.GetRasterBand(1).GetDescription()])
    except RuntimeError:
        ours = False
    if not ours:
        raise Mpm3dError(f"OUTPUT_FOLDER: {path} exists and was not written by mpm3d, and this run would replace it "
                         "with a level raster of the same name; choose another folder or PREFIX (or move the file "
                         "away). Nothing was written.")


def write_cube_slices(folder: str, cube: Cube, prefix: str, label_prefix: str | None = None) -> dict:
    """Evidence (and label) slices of a whole cube: the way back from a cube file."""
    with atomic_group():
        out = {"evidence": write_slices(folder, cube.grid, cube.features, cube.feature_names, prefix,
                                        units=cube.units)}
        if cube.label is not None and label_prefix:
            out["labels"] = write_slices(folder, cube.grid, cube.label[None].astype(np.int16), ["label"],
                                         label_prefix, nodata=LABEL_UNKNOWN)
    return out
