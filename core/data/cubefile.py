"""The cube file: one self-describing NetCDF-4/CF file, written and read with GDAL's multidim API.

Layout (CF-1.8): coordinate variables z (standard_name altitude, positive up; cubes of earlier
versions say height and read the same), y, x (voxel centres); one float32 variable per feature over
(z, y, x) with NaN as nodata, its units where known and the CRS as a CF grid mapping; an optional
int8 ``label`` (-1 unknown); a uint8 ``valid`` mask; any extra float32 variables such as
``prospectivity``. Feature order is kept in the global attribute ``mpm3d_features`` (JSON).
Reading goes by level slabs, so a cube larger than memory can be streamed.

The reader also takes a CF cube from another tool (x, y, z coordinate variables, float variables
over (z, y, x)), in whatever axis order it was stored. A file is checked before GDAL sees it (size,
signature, the length its header declares) and, being HDF5, opened once in a child process first,
because HDF5 can crash or hang on some damaged files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np

from .. import __version__
from ..atomic import atomic_path
from ..errors import Mpm3dError
from ..package import child_environment
from ..paths import PLUGIN_DIR
from .grid import LABEL_UNKNOWN, Cube, Grid

MIN_LEVELS = 3  # the smallest patch is 3 x 3 x 3 voxels; stacking refuses fewer levels too
RESERVED_NAMES = {"x", "y", "z", "label", "valid", "prospectivity", "uncertainty", "novelty"}
GRID_DIMENSIONS = ("z", "y", "x")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CLASSIC_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
# deflate shrinks data at most about 1032:1, so n bytes of file hold at most ~258 n float32 voxels
MAX_VOXELS_PER_BYTE = 258
MAKE_AGAIN = "copy the complete file again, or make it again with 'Stack depth slices into cube'"
PROBE_TIMEOUT_S = 60.0
# Run by the probe: exit 0 whatever the reader decides, 3 when this interpreter cannot run the reader at all
# The probe also ends itself after the timeout: if its parent is killed meanwhile, a looping HDF5 must not
# keep a core busy for ever (seen: orphaned probes still running an hour later).
_PROBE_CODE = f"""import os, runpy, signal, sys
if hasattr(signal, "alarm"):
    signal.alarm({int(PROBE_TIMEOUT_S) + 5})
try:  # the plugin loaded as the package mpm3d, as everywhere (core/package.py)
    runpy.run_path(os.path.join(sys.argv[1], "core", "package.py"))["load_plugin_package"](sys.argv[1])
    from mpm3d.core.data import cubefile
except Exception:
    sys.exit(3)
cubefile._safe_files.add(cubefile._file_key(sys.argv[2]))
try:
    cubefile.CubeReader(sys.argv[2])
except Exception:
    pass
"""
_safe_files: set[tuple] = set()
# glibc fills freed and new memory with this byte in the probe: HDF5 1.14 (Debian 13) reads freed memory on some
# damaged files, which a fresh process survives by luck while a long-running one (QGIS, the worker) crashes.
PROBE_MALLOC = {"MALLOC_PERTURB_": "165"}


def gdal_modules():
    """GDAL is imported only where files are read or written (the GPU box has none)."""
    from osgeo import gdal, osr

    gdal.UseExceptions()
    return gdal, osr


def variable_name(feature_name: str) -> str:
    """A NetCDF-safe variable name for a feature (the original name stays in long_name)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", feature_name.strip()) or "feature"
    if not name[0].isalpha():
        name = "f_" + name
    return name + "_" if name in RESERVED_NAMES else name


def check_variable_names(feature_names: list[str], where: str) -> None:
    """Refuse feature names that become one NetCDF variable name (``Au g/t`` and ``Au-g/t``: ``Au_g_t``), which
    would overwrite one layer with the other; ``where`` says whose names they are (EVIDENCE slice ...)."""
    groups: dict[str, list[str]] = {}
    for name in feature_names:
        groups.setdefault(variable_name(name), []).append(name)
    clashes = [(variable, names) for variable, names in groups.items() if len(names) > 1]
    if clashes:
        shown = "; ".join(f"{' and '.join(repr(n) for n in names)} both become '{variable}'"
                          for variable, names in clashes)
        raise Mpm3dError(f"{where}: band names must stay distinct as NetCDF variable names, which keep only letters, "
                         f"digits and '_' ({shown}); give the bands descriptions that differ in a letter or digit.")


def _string_attribute(obj, name: str, value: str) -> None:
    gdal, _ = gdal_modules()
    obj.CreateAttribute(name, [], gdal.ExtendedDataType.CreateString()).Write(value)


def _numeric_attribute(obj, name: str, values: list[float], data_type: int) -> None:
    """A numeric list attribute in the variable's own type, as CF asks of valid_range and flag_values."""
    gdal, _ = gdal_modules()
    obj.CreateAttribute(name, [len(values)], gdal.ExtendedDataType.Create(data_type)).Write(values)


CONVENTIONS = "CF-1.8"
# The maps a prediction writes: dimensionless, in [0, 1], described for a reader that knows nothing of mpm3d
MAP_LONG_NAMES = {
    "prospectivity": "prospectivity: probability of ore at the voxel",
    "uncertainty": "uncertainty: spread of the ensemble members' prospectivity",
    "novelty": "novelty: how unlike anything in the source deposit the evidence at the voxel is",
}
# "Why here" (core.learning.predict.dominant_evidence): the dominant layer's class (its flags name the layers) and
# the change of prospectivity without it, in [-1, 1]
DOMINANT_MAP = "dominant_evidence"
CHANGE_MAP = "dominant_change"
WHY_LONG_NAMES = {
    DOMINANT_MAP: "dominant evidence: 1 + index of the layer whose replacement by its source mean changes the "
                  "prospectivity most, 0 where none changes it",
    CHANGE_MAP: "change of prospectivity when the dominant evidence layer is replaced by its source mean",
}
LABEL_FLAGS = ([0, 1], "barren ore")
VALID_FLAGS = ([0, 1], "incomplete_evidence complete_evidence")


def _write_netcdf(path: str, grid: Grid, srs, features, feature_names: list[str], var_names: list[str], label,
                  extra: dict[str, np.ndarray], attrs: dict | None, units: dict[str, str]) -> None:
    """The NetCDF-4 file itself; every GDAL object dies with this call, so the file is closed when it returns.

    CF-1.8 attributes say what a generic reader (xarray, ParaView, a CF checker) needs: z as altitude,
    positive up; the CRS as a grid mapping on every data variable; units where known; the label's and
    mask's flags; the maps' valid range.
    """
    gdal, _ = gdal_modules()
    nz, ny, nx = grid.shape
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(path, [], ["FORMAT=NC4"])
    root = ds.GetRootGroup()
    dims = {
        "z": root.CreateDimension("z", "VERTICAL", "UP", nz),
        "y": root.CreateDimension("y", gdal.DIM_TYPE_HORIZONTAL_Y, None, ny),
        "x": root.CreateDimension("x", gdal.DIM_TYPE_HORIZONTAL_X, None, nx),
    }
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    for axis, values in (("z", grid.z), ("y", grid.y), ("x", grid.x)):
        coord = root.CreateMDArray(axis, [dims[axis]], f64)
        coord.Write(np.ascontiguousarray(values, dtype=np.float64))
    # x and y get their standard names (projection_x/y_coordinate) and units from GDAL, but no axis attribute:
    # VTK's CF reader (ParaView's) takes axis X and Y for longitude and latitude, and with its default
    # "spherical coordinates" wraps a projected grid onto a globe. z's axis Z it reads as vertical.
    z_coord = root.OpenMDArray("z")
    for key, value in (("standard_name", "altitude"), ("positive", "up"), ("axis", "Z"),
                       ("long_name", "elevation of the level (depth slice), above the vertical datum")):
        _string_attribute(z_coord, key, value)
    z_coord.SetUnit("m")
    cube_dims = [dims["z"], dims["y"], dims["x"]]
    creation = ["COMPRESS=DEFLATE", "ZLEVEL=4", f"BLOCKSIZE=1,{ny},{nx}"]

    def add_variable(name, data, dtype, fill, long_name, unit=None, valid_range=None, flags=None):
        var = root.CreateMDArray(name, cube_dims, gdal.ExtendedDataType.Create(dtype), creation)
        var.SetNoDataValueDouble(fill)
        try:
            var.SetSpatialRef(srs)
        except RuntimeError:
            # GDAL's netCDF driver keeps a local (engineering) CRS's WKT, then fails to make a CF grid mapping of
            # it (there is no ellipsoid); the WKT is what the cube needs, and it reads back
            if not srs.IsLocal():
                raise
        _string_attribute(var, "long_name", long_name)
        if unit:
            var.SetUnit(unit)
        if valid_range is not None:
            _numeric_attribute(var, "valid_range", valid_range, dtype)
        if flags is not None:
            _numeric_attribute(var, "flag_values", flags[0], dtype)
            _string_attribute(var, "flag_meanings", flags[1])
        var.Write(np.ascontiguousarray(data))

    for index, (name, var_name) in enumerate(zip(feature_names, var_names, strict=False)):
        add_variable(var_name, np.asarray(features[index], np.float32), gdal.GDT_Float32, float("nan"), name,
                     units.get(name))  # no copy of a float32 cube: a 25 M-voxel feature is 100 MB
    for name, data in extra.items():
        described = name in MAP_LONG_NAMES
        flags = None
        if name == DOMINANT_MAP:  # the layers' names from the prediction's own record of the model's features
            layers = list((attrs or {}).get("model_features", []))
            flags = (list(range(len(layers) + 1)), " ".join(["none", *(variable_name(n) for n in layers)]))
        add_variable(name, np.asarray(data, np.float32), gdal.GDT_Float32, float("nan"),
                     MAP_LONG_NAMES.get(name) or WHY_LONG_NAMES.get(name, name), "1" if described else None,
                     [0.0, 1.0] if described else ([-1.0, 1.0] if name == CHANGE_MAP else None), flags)
    if label is not None:
        # int16 on disk: GDAL before 3.7 has no Int8 and would take an int8 buffer as unsigned
        add_variable("label", np.asarray(label, np.int16), gdal.GDT_Int16, -1,
                     "ore label: 1 ore, 0 barren, -1 unknown", flags=LABEL_FLAGS)
    if features is not None and len(feature_names):
        valid = np.ones(features.shape[1:], np.uint8)
        for values in features:  # a feature at a time: np.isfinite of the whole cube would be a byte per value
            valid &= np.isfinite(values)
        add_variable("valid", valid, gdal.GDT_Byte, 255, "1 where every feature has data", flags=VALID_FLAGS)
    meta = {"Conventions": CONVENTIONS, "source": f"mpm3d {__version__}", "mpm3d_version": __version__,
            "mpm3d_features": json.dumps(feature_names),
            "mpm3d_variables": json.dumps(dict(zip(feature_names, var_names, strict=False)))}
    meta.update({f"mpm3d_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in (attrs or {}).items()})
    for key, value in meta.items():
        _string_attribute(root, key, value)


def write_cube(
    path: str,
    grid: Grid,
    features: np.ndarray | None = None,
    feature_names: list[str] | None = None,
    label: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
    attrs: dict | None = None,
    units: dict[str, str] | None = None,
) -> str:
    """Write a cube file atomically; ``extra`` holds more float32 (z, y, x) variables, ``units`` the units of
    features (by name) where known."""
    _, osr = gdal_modules()
    feature_names = list(feature_names or [])
    extra = dict(extra or {})
    check_variable_names(feature_names, "the cube's features")
    var_names = [variable_name(n) for n in feature_names]
    srs = osr.SpatialReference()
    try:
        srs.SetFromUserInput(grid.crs)
    except RuntimeError as exc:
        raise Mpm3dError(f"The CRS '{grid.crs[:80]}' is not understood by GDAL") from exc
    with atomic_path(path) as tmp:
        _write_netcdf(tmp, grid, srs, features, feature_names, var_names, label, extra, attrs, dict(units or {}))
        _safe_files.add(_file_key(tmp))  # written here: no need to probe it when read back
    return path


def _hdf5_end(head: bytes, at: int) -> int | None:
    """The file length an HDF5 superblock at ``at`` declares (base address + end-of-file address)."""
    version = head[at + 8] if len(head) > at + 8 else -1
    if version in (0, 1):
        offsets, fields = (head[at + 13] if len(head) > at + 13 else 0), at + (24 if version == 0 else 28)
    elif version in (2, 3):
        offsets, fields = (head[at + 9] if len(head) > at + 9 else 0), at + 12
    else:
        return None
    if offsets not in (2, 4, 8) or len(head) < fields + 3 * offsets:
        return None
    base = int.from_bytes(head[fields:fields + offsets], "little")
    end = int.from_bytes(head[fields + 2 * offsets:fields + 3 * offsets], "little")
    return None if end == 2 ** (8 * offsets) - 1 else base + end


# bytes per value of the classic nc_types NC_BYTE (1) ... NC_UINT64 (11)
_CLASSIC_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}


def _classic_end(handle, size: int) -> int:
    """The length the header of a classic NetCDF file (CDF-1, -2, -5) gives it: libnetcdf reads a cut-short
    classic file without complaint, as zeros. EOFError where the header itself is cut short, ValueError
    (or KeyError, IndexError) where it is damaged."""

    def number(width: int) -> int:
        data = handle.read(width)
        if len(data) < width:
            raise EOFError
        return int.from_bytes(data, "big")

    version = number(4) & 0xFF
    count_width, offset_width = (8, 8) if version == 5 else (4, 4 if version == 1 else 8)

    def count() -> int:  # every counted item takes at least 4 bytes: a larger count is a lie
        n = number(count_width)
        if 4 * n > size:
            raise ValueError("count beyond the file")
        return n

    def skip(n_bytes: int) -> None:
        if len(handle.read(n_bytes)) < n_bytes:
            raise EOFError

    def items(tag: int) -> int:
        found, n = number(4), count()
        if found != tag and (found, n) != (0, 0):
            raise ValueError("unexpected tag")
        return n

    def attributes() -> None:
        for _ in range(items(12)):
            skip(-(-count() // 4) * 4)
            nc_type = number(4)
            skip(-(-count() * _CLASSIC_TYPE_SIZES[nc_type] // 4) * 4)

    numrecs = number(count_width)
    dims = []
    for _ in range(items(10)):
        skip(-(-count() // 4) * 4)
        dims.append(number(count_width))
    attributes()
    end, records = 0, []
    for _ in range(items(11)):
        skip(-(-count() // 4) * 4)
        shape = [dims[number(count_width)] for _ in range(count())]
        attributes()
        value_size = _CLASSIC_TYPE_SIZES[number(4)]
        vsize, begin = number(count_width), number(offset_width)
        if shape and shape[0] == 0:  # a record variable: one slab per record, interleaved
            records.append((begin, int(np.prod(shape[1:], dtype=object)) * value_size, vsize))
        else:
            end = max(end, begin + int(np.prod(shape, dtype=object)) * value_size)
    if records and 0 < numrecs < 2 ** (8 * count_width) - 1:
        record_size = sum(vsize for _, _, vsize in records) if len(records) > 1 else records[0][1]
        end = max(end, *(begin + (numrecs - 1) * record_size + one for begin, one, _ in records))
    return end


def _check_container(path: str, described: str) -> int:
    """Refuse an empty, cut-short or non-NetCDF file before libnetcdf and HDF5 parse it; returns its size.

    Both formats say how long the file is (HDF5 in its superblock, classic NetCDF through its header), so a
    cut-short copy is named as such here instead of surfacing as an obscure error, or as zeros, later.
    """
    not_a_cube = (f"{described} is not a readable cube file (NetCDF); give a cube made by "
                  "'Stack depth slices into cube'")
    damaged = f"{described} is a damaged NetCDF file (its header is unreadable); {MAKE_AGAIN}"
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(4096)
            if size == 0:
                raise Mpm3dError(f"{described} is empty (0 bytes); {MAKE_AGAIN}")
            if head[:4] in CLASSIC_SIGNATURES:
                handle.seek(0)
                try:
                    end = _classic_end(handle, size)
                except EOFError:
                    end = None
                except (ValueError, KeyError, IndexError) as exc:
                    raise Mpm3dError(damaged) from exc
    except OSError as exc:
        raise Mpm3dError(f"{not_a_cube} ({exc.strerror})") from exc
    if head[:4] not in CLASSIC_SIGNATURES:
        # HDF5 looks for its signature at 0, 512, 1024, 2048, ... (a user block may come first)
        at = 0
        while at + 8 <= len(head) and head[at:at + 8] != HDF5_SIGNATURE:
            at = at * 2 if at else 512
        if head[at:at + 8] != HDF5_SIGNATURE:
            raise Mpm3dError(not_a_cube)
        end = _hdf5_end(head, at)
        if end is None:
            raise Mpm3dError(damaged)
    if end is None or end > size:
        declared = "its header is cut short" if end is None else f"{size} of {end} bytes"
        raise Mpm3dError(f"{described} is truncated ({declared}); {MAKE_AGAIN}")
    return size


def _file_key(path: str) -> tuple:
    """One version of one file, kept through the rename that puts a written cube in place."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def use_probe_python(python: str) -> None:
    """The interpreter that probes cube files; a host such as QGIS, whose sys.executable is not a Python,
    names its worker's here so that its own cube reads are protected too."""
    global _host_python
    _host_python = python


_host_python: str | None = None


def _probe_python() -> str | None:
    """MPM3D_PYTHON (the worker interpreter), the host's choice or this Python; None inside a host such as
    QGIS whose sys.executable is not a Python (starting it would open the application)."""
    candidate = os.environ.get("MPM3D_PYTHON") or _host_python or sys.executable
    return candidate if re.fullmatch(r"python[\d.]*(\.exe)?", os.path.basename(candidate or ""), re.I) else None


def _probe_structure(path: str, described: str) -> None:
    """Open the file once in a child process first: HDF5 (1.10 at least) can crash or loop forever on a
    damaged file (a flipped bit in a heap it does not checksum), which must end this run with a message,
    not take QGIS or the worker down. Each version of a file is probed once per process, and a cube this
    process wrote not at all."""
    key = _file_key(path)
    python = _probe_python()
    if key in _safe_files or python is None:
        return
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    try:
        # the worker's environment, not the host's: QGIS's PYTHONHOME would stop another Python from starting,
        # and a probe that cannot start must not read as a damaged file
        status = subprocess.run([python, "-c", _PROBE_CODE, PLUGIN_DIR, path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=PROBE_TIMEOUT_S,
                                creationflags=flags, env=child_environment(extra=PROBE_MALLOC)).returncode
    except subprocess.TimeoutExpired as exc:
        raise Mpm3dError(f"{described} is damaged: the NetCDF/HDF5 library did not finish reading its structure "
                         f"in {PROBE_TIMEOUT_S:g} s (checked in a separate process); {MAKE_AGAIN} (on a slow "
                         "network drive, copy it to a local disk first)") from exc
    except OSError:
        return  # no interpreter to probe with: open as before
    if status not in (0, 3):
        raise Mpm3dError(f"{described} is damaged: the NetCDF/HDF5 library crashed reading its structure "
                         f"(checked in a separate process, exit status {status}); {MAKE_AGAIN}")
    _safe_files.add(key)


def _numeric(array) -> bool:
    gdal, _ = gdal_modules()
    data_type = array.GetDataType()
    return data_type.GetClass() == gdal.GEDTC_NUMERIC and not gdal.DataTypeIsComplex(data_type.GetNumericDataType())


def _floating(array) -> bool:
    """Float on disk, or packed integers that CF's scale_factor/add_offset turn into floats."""
    gdal, _ = gdal_modules()
    packed = array.GetScale() is not None or array.GetOffset() is not None
    return _numeric(array) and (packed or array.GetDataType().GetNumericDataType() in (gdal.GDT_Float32,
                                                                                        gdal.GDT_Float64))


def _unpacked(array):
    """The array as values: CF packing (scale_factor, add_offset) applied, packed nodata as NaN."""
    return array.GetUnscaled() if array.GetScale() is not None or array.GetOffset() is not None else array


def _is_text(name: object) -> bool:
    """False for a name from bytes that are not UTF-8: GDAL gives it as bytes, or as a str with surrogates."""
    if not isinstance(name, str):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string_attributes(array) -> dict[str, str]:
    return {a.GetName(): value for a in array.GetAttributes() or [] if isinstance(value := a.Read(), str)}


class CubeReader:
    """An open cube file: grid and names at once, data by level slabs on demand.

    Reads mpm3d's own cubes and any CF cube with 1-D x, y, z coordinate variables and variables over
    (z, y, x). Whatever order the file stores its axes in, the reader presents mpm3d's (z and y
    decreasing, x increasing), so everything downstream sees the same cube.
    """

    def __init__(self, path: str, parameter: str = ""):
        """``parameter`` (SOURCE, CUBE, ...) names the file in messages, so the user knows which one to fix."""
        gdal, _ = gdal_modules()
        self.path = path
        self.described = f"{parameter} {path}" if parameter else path
        self._size = _check_container(path, self.described)
        _probe_structure(path, self.described)
        try:
            self._ds = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER)
            if self._ds is None:
                raise RuntimeError("GDAL cannot open it")
            self._open()
        except (RuntimeError, UnicodeDecodeError) as exc:
            raise Mpm3dError(f"{self.described} is a damaged NetCDF file ({exc}); {MAKE_AGAIN}") from exc

    def _refuse(self, problem: str) -> Mpm3dError:
        return Mpm3dError(f"{self.described}: {problem}")

    def _open(self) -> None:
        self._root = self._ds.GetRootGroup()
        self.attrs = {a.GetName(): a.Read() for a in self._root.GetAttributes() or []}
        names = self._root.GetMDArrayNames() or []
        if not all(_is_text(name) for name in names):
            raise Mpm3dError(f"{self.described} is a damaged NetCDF file (a variable name is not text); {MAKE_AGAIN}")
        arrays = {name: self._root.OpenMDArray(name) for name in names}
        self.variables = set(arrays)
        if not {"x", "y", "z"} <= self.variables:
            raise Mpm3dError(f"{self.described} has no x, y, z coordinates: it is not a cube; give a cube "
                             "made by 'Stack depth slices into cube', or a CF file with x, y, z coordinate variables")
        coords = self._coordinates(arrays)
        # mpm3d order: z top level first, y north first, x west first
        self._flip = (coords["z"][0] < coords["z"][-1], coords["y"][0] < coords["y"][-1],
                      coords["x"][0] > coords["x"][-1])
        z, y, x = (values[::-1] if flip else values for values, flip in zip(
            (coords["z"], coords["y"], coords["x"]), self._flip, strict=True))
        shape = (len(z), len(y), len(x))
        self._arrays = self._grid_arrays(arrays, shape)
        self.units = {name: unit for name, var in zip(self.feature_names, self._feature_vars, strict=True)
                      if _is_text(unit := self._arrays[var].GetUnit()) and unit.strip()}
        crs = ""
        for name in self._feature_vars + sorted(self._arrays):
            srs = self._arrays[name].GetSpatialRef()
            if srs is not None:
                crs = srs.ExportToWkt()
                break
        self.grid = Grid(crs=crs, x=x, y=y, z=z)

    def _coordinates(self, arrays: dict) -> dict[str, np.ndarray]:
        """x, y, z as stored, checked: 1-D, enough levels, finite, strictly monotonic, x and y evenly spaced."""
        sizes = {}
        for axis in GRID_DIMENSIONS:
            shape = tuple(d.GetSize() for d in arrays[axis].GetDimensions() or [])
            if len(shape) != 1:
                raise self._refuse(f"coordinate '{axis}' has shape {shape}; x, y and z must be 1-D coordinate "
                                   "variables (one value per column, row and level)")
            if shape[0] == 0:
                raise self._refuse(f"coordinate '{axis}' is empty; a cube needs at least one column and row and "
                                   f"{MIN_LEVELS} levels")
            sizes[axis] = shape[0]
        if sizes["z"] < MIN_LEVELS:
            raise Mpm3dError(f"{self.described} has {sizes['z']} level(s); a cube needs at least {MIN_LEVELS} levels "
                             "(the smallest patch is 3 x 3 x 3 voxels): stack more depth slices")
        voxels = sizes["z"] * sizes["y"] * sizes["x"]
        if voxels > MAX_VOXELS_PER_BYTE * self._size:
            raise self._refuse(f"its grid of {sizes['z']} x {sizes['y']} x {sizes['x']} voxels is more than a file "
                               f"of {self._size} bytes can hold; the file is damaged: {MAKE_AGAIN}")
        coords = {}
        for axis in GRID_DIMENSIONS:
            stored = np.asarray(_unpacked(arrays[axis]).ReadAsArray())
            values = stored.astype(float)
            if not np.all(np.isfinite(values)):
                raise self._refuse(f"coordinate '{axis}' has missing (NaN or infinite) values; every column, row "
                                   "and level needs its coordinate")
            steps = np.diff(values)
            if not (np.all(steps > 0) or np.all(steps < 0)):
                raise self._refuse(f"coordinate '{axis}' is not strictly increasing or decreasing (it has repeated "
                                   "or out-of-order values); sort the cube along it and drop duplicates")
            if axis != "z" and len(steps) > 1:
                # stored precision (float32 coordinates of large eastings) allows some scatter
                tolerance = 1e-6 * abs(steps.mean()) + 2 * float(np.spacing(np.abs(stored).max()))
                if np.ptp(steps) > tolerance:
                    raise self._refuse(
                        f"coordinate '{axis}' is not evenly spaced (steps from {np.abs(steps).min():g} to "
                        f"{np.abs(steps).max():g}); mpm3d needs a regular x-y grid: resample the cube onto one")
            coords[axis] = values
        return coords

    def _grid_arrays(self, arrays: dict, shape: tuple[int, int, int]) -> dict:
        """The variables over the (z, y, x) grid, features named; a variable meant for the grid but not on it
        is refused by name, because silently dropping evidence gives a plausible but wrong model."""
        listed = "mpm3d_features" in self.attrs
        try:
            names = json.loads(self.attrs.get("mpm3d_features", "[]"))
            mapping = json.loads(self.attrs.get("mpm3d_variables", "{}"))
            valid_lists = (isinstance(names, list) and all(_is_text(n) for n in names)
                           and isinstance(mapping, dict) and all(_is_text(v) for v in mapping.values()))
        except (TypeError, ValueError, RecursionError):
            valid_lists = False
        if not valid_lists:
            raise self._refuse(f"its attributes mpm3d_features / mpm3d_variables are not JSON lists of names; "
                               f"the file was edited or damaged: {MAKE_AGAIN}")
        aside = set(GRID_DIMENSIONS)  # coordinates, their bounds, grid mappings: not data
        for array in arrays.values():
            attributes = _string_attributes(array)
            aside.update(attributes.get("bounds", "").split() + attributes.get("coordinates", "").split())
            aside.update(t for t in attributes.get("grid_mapping", "").split() if not t.endswith(":"))
        aside.update(n for n, a in arrays.items() if "grid_mapping_name" in _string_attributes(a))
        if listed:
            self.feature_names = names
            self._feature_vars = [mapping.get(n, variable_name(n)) for n in names]
            for name, var in zip(names, self._feature_vars, strict=True):
                if var not in arrays:
                    raise self._refuse(f"feature '{name}' is listed in its mpm3d_features but has no variable "
                                       f"'{var}'; the file was edited or damaged: {MAKE_AGAIN}")
            if len(set(self._feature_vars)) != len(self._feature_vars):
                raise self._refuse(f"features {names} do not name distinct variables; {MAKE_AGAIN}")
        else:
            self._feature_vars = [n for n, a in arrays.items()
                                  if n not in aside | RESERVED_NAMES and _floating(a)
                                  and tuple(d.GetName() for d in a.GetDimensions() or []) == GRID_DIMENSIONS]
            self.feature_names = list(self._feature_vars)
        on_grid = {}
        for name, array in arrays.items():
            if name in aside:
                continue
            dims = tuple(d.GetName() for d in array.GetDimensions() or [])
            array_shape = tuple(d.GetSize() for d in array.GetDimensions() or [])
            spatial = len(dims) >= 3 or bool(set(dims) & set(GRID_DIMENSIONS))
            meant_for_grid = (name in RESERVED_NAMES or name in self._feature_vars
                              or (not listed and spatial and _floating(array)))
            if dims == GRID_DIMENSIONS and array_shape == shape:
                if not _numeric(array):
                    raise self._refuse(f"variable '{name}' holds no numbers; write numbers, or remove it from the file")
                on_grid[name] = array
            elif meant_for_grid:
                raise self._refuse(
                    f"variable '{name}' has shape {array_shape} (dimensions {', '.join(dims) or 'none'}) but the cube "
                    f"grid is (z, y, x) = {shape}; write it over that grid, or remove it from the file")
        return on_grid

    def has(self, variable: str) -> bool:
        return variable in self._arrays

    def read_variable(self, variable: str, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Levels z0..z1 (mpm3d order) of one (z, y, x) variable; NaN (float) or -1 (label) where nodata."""
        if variable not in self._arrays:
            raise Mpm3dError(f"{self.described} has no variable '{variable}' over its (z, y, x) grid "
                             f"(it has: {sorted(self._arrays)})")
        nz, ny, nx = self.grid.shape
        z1 = nz if z1 is None else z1
        array = self._arrays[variable]
        start = nz - z1 if self._flip[0] else z0
        try:
            data = np.asarray(_unpacked(array).ReadAsArray(array_start_idx=[start, 0, 0], count=[z1 - z0, ny, nx]))
        except RuntimeError as exc:
            raise Mpm3dError(f"{self.described}: variable '{variable}' cannot be read ({exc}); the file is damaged: "
                             f"{MAKE_AGAIN}") from exc
        data = data[tuple(slice(None, None, -1) if flip else slice(None) for flip in self._flip)]
        nodata = array.GetNoDataValueAsDouble() if variable == "label" or data.dtype.kind == "f" else None
        if variable == "label":
            known = np.isfinite(data) if data.dtype.kind == "f" else True
            if nodata is not None:
                known = known & (data != nodata)
            data = np.where(known, data, LABEL_UNKNOWN)
        elif nodata is not None and not np.isnan(nodata):
            data = np.where(data == nodata, np.nan, data)
        return np.ascontiguousarray(data)

    def read_features(self, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Features (F, z1-z0, Y, X) float32 of a slab of levels."""
        nz, ny, nx = self.grid.shape
        z1 = nz if z1 is None else z1
        out = np.empty((len(self._feature_vars), z1 - z0, ny, nx), np.float32)
        for index, var in enumerate(self._feature_vars):
            out[index] = self.read_variable(var, z0, z1)
        return out

    def read_label(self) -> np.ndarray | None:
        """The label variable as int8 (1 ore, 0 barren, -1 unknown), refused when it holds any other value: a
        grade, a class code or 0.5 would otherwise be cast to another label or dropped without a word."""
        if not self.has("label"):
            return None
        label = self.read_variable("label")
        bad = np.setdiff1d(np.unique(label), [LABEL_UNKNOWN, 0, 1])
        if bad.size:
            shown = ", ".join(f"{value:g}" for value in bad[:5]) + (", ..." if bad.size > 5 else "")
            raise self._refuse(f"variable 'label' holds values other than 1 ore, 0 barren and nodata ({shown}); "
                               "recode it to 1 and 0 with the unknown voxels as its nodata (fill value), or voxelise "
                               "the drill-hole samples again with 'Voxelise drill-hole samples to labels'")
        return label.astype(np.int8)

    def read_cube(self) -> Cube:
        cube = Cube(self.grid, self.read_features(), list(self.feature_names), self.read_label(),
                    units=dict(self.units))
        internal = {"mpm3d_features", "mpm3d_variables", "mpm3d_version"}
        cube.attrs = {k[len("mpm3d_"):]: v for k, v in self.attrs.items()
                      if k.startswith("mpm3d_") and k not in internal}
        return cube


def read_cube(path: str) -> Cube:
    """A whole cube file in memory (features, labels, grid)."""
    return CubeReader(path).read_cube()


def save_cube(path: str, cube: Cube, attrs: dict | None = None) -> str:
    """Write a Cube object (features and labels) to a cube file."""
    return write_cube(path, cube.grid, cube.features, cube.feature_names, cube.label,
                      attrs={**cube.attrs, **(attrs or {})}, units=cube.units)
