"""The cube file: one self-describing NetCDF-4/CF file, written and read with GDAL's multidim API.

Layout: coordinate variables z (elevation, positive up), y, x (voxel centres); one float32
variable per feature over (z, y, x) with NaN as nodata and the CRS as a CF grid mapping; an
optional int8 ``label`` (-1 unknown); a uint8 ``valid`` mask; any extra float32 variables such
as ``prospectivity``. Feature order is kept in the global attribute ``mpm3d_features`` (JSON).
Reading goes by level slabs, so a cube larger than memory can be streamed.
"""

from __future__ import annotations

import json
import re

import numpy as np

from . import __version__
from .atomic import atomic_path
from .errors import Mpm3dError
from .grid import Cube, Grid

RESERVED_NAMES = {"x", "y", "z", "label", "valid", "prospectivity"}


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


def _string_attribute(obj, name: str, value: str) -> None:
    gdal, _ = gdal_modules()
    obj.CreateAttribute(name, [], gdal.ExtendedDataType.CreateString()).Write(value)


def write_cube(
    path: str,
    grid: Grid,
    features: np.ndarray | None = None,
    feature_names: list[str] | None = None,
    label: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
    attrs: dict | None = None,
) -> str:
    """Write a cube file atomically; ``extra`` holds more float32 (z, y, x) variables."""
    gdal, osr = gdal_modules()
    feature_names = list(feature_names or [])
    extra = dict(extra or {})
    var_names = [variable_name(n) for n in feature_names]
    if len(set(var_names)) != len(var_names):
        raise Mpm3dError(f"Feature names must stay distinct as NetCDF names: {feature_names}")
    srs = osr.SpatialReference()
    try:
        srs.SetFromUserInput(grid.crs)
    except RuntimeError as exc:
        raise Mpm3dError(f"The CRS '{grid.crs[:80]}' is not understood by GDAL") from exc
    nz, ny, nx = grid.shape
    with atomic_path(path) as tmp:
        ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(tmp, [], ["FORMAT=NC4"])
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
        z_coord = root.OpenMDArray("z")
        for key, value in (("standard_name", "height"), ("positive", "up"), ("axis", "Z"),
                           ("long_name", "elevation of the depth slice")):
            _string_attribute(z_coord, key, value)
        z_coord.SetUnit("m")
        cube_dims = [dims["z"], dims["y"], dims["x"]]
        creation = ["COMPRESS=DEFLATE", "ZLEVEL=4", f"BLOCKSIZE=1,{ny},{nx}"]

        def add_variable(name, data, dtype, fill, long_name, spatial=True):
            var = root.CreateMDArray(name, cube_dims, gdal.ExtendedDataType.Create(dtype), creation)
            var.SetNoDataValueDouble(fill)
            if spatial:
                var.SetSpatialRef(srs)
            _string_attribute(var, "long_name", long_name)
            var.Write(np.ascontiguousarray(data))

        for index, (name, var_name) in enumerate(zip(feature_names, var_names, strict=False)):
            add_variable(var_name, features[index].astype(np.float32), gdal.GDT_Float32, float("nan"), name)
        for name, data in extra.items():
            add_variable(name, np.asarray(data, np.float32), gdal.GDT_Float32, float("nan"), name)
        if label is not None:
            # int16 on disk: GDAL before 3.7 has no Int8 and would take an int8 buffer as unsigned
            add_variable("label", np.asarray(label, np.int16), gdal.GDT_Int16, -1,
                         "ore label: 1 ore, 0 barren, -1 unknown")
        if features is not None and len(feature_names):
            valid = np.all(np.isfinite(features), axis=0).astype(np.uint8)
            add_variable("valid", valid, gdal.GDT_Byte, 255, "1 where every feature has data", False)
        meta = {"mpm3d_version": __version__, "mpm3d_features": json.dumps(feature_names),
                "mpm3d_variables": json.dumps(dict(zip(feature_names, var_names, strict=False)))}
        meta.update({f"mpm3d_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in (attrs or {}).items()})
        for key, value in meta.items():
            _string_attribute(root, key, value)
        ds = None
    return path


class CubeReader:
    """An open cube file: grid and names at once, data by level slabs on demand."""

    def __init__(self, path: str, parameter: str = ""):
        """``parameter`` (SOURCE, CUBE, ...) names the file in messages, so the user knows which one to fix."""
        gdal, _ = gdal_modules()
        self.path = path
        self.described = f"{parameter} {path}" if parameter else path
        not_a_cube = (f"{self.described} is not a readable cube file (NetCDF); give a cube made by "
                      "'Stack depth slices into cube'")
        try:
            self._ds = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER)
        except RuntimeError as exc:
            raise Mpm3dError(f"{not_a_cube} ({exc})") from exc
        if self._ds is None:
            raise Mpm3dError(not_a_cube)
        self._root = self._ds.GetRootGroup()
        self.attrs = {a.GetName(): a.Read() for a in self._root.GetAttributes()}
        names = set(self._root.GetMDArrayNames() or [])
        if not {"x", "y", "z"} <= names:
            raise Mpm3dError(f"{self.described} has no x, y, z coordinates: it is not an mpm3d cube; give a cube "
                             "made by 'Stack depth slices into cube'")
        self.feature_names = json.loads(self.attrs.get("mpm3d_features", "[]"))
        mapping = json.loads(self.attrs.get("mpm3d_variables", "{}"))
        self._feature_vars = [mapping.get(n, variable_name(n)) for n in self.feature_names]
        self.variables = names
        crs = ""
        for name in self._feature_vars + sorted(names - {"x", "y", "z", "valid"}):
            srs = self._root.OpenMDArray(name).GetSpatialRef()
            if srs is not None:
                crs = srs.ExportToWkt()
                break
        self.grid = Grid(crs=crs, x=self._coord("x"), y=self._coord("y"), z=self._coord("z"))

    def _coord(self, name: str) -> np.ndarray:
        return np.asarray(self._root.OpenMDArray(name).ReadAsArray(), dtype=float)

    def has(self, variable: str) -> bool:
        return variable in self.variables

    def read_variable(self, variable: str, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Levels z0..z1 of one (z, y, x) variable; NaN (float) or -1 (label) where nodata."""
        if variable not in self.variables:
            raise Mpm3dError(f"{self.described} has no variable '{variable}' (it has: {sorted(self.variables)})")
        nz, ny, nx = self.grid.shape
        z1 = nz if z1 is None else z1
        data = self._root.OpenMDArray(variable).ReadAsArray(array_start_idx=[z0, 0, 0], count=[z1 - z0, ny, nx])
        return np.asarray(data)

    def read_features(self, z0: int = 0, z1: int | None = None) -> np.ndarray:
        """Features (F, z1-z0, Y, X) float32 of a slab of levels."""
        nz, ny, nx = self.grid.shape
        z1 = nz if z1 is None else z1
        out = np.empty((len(self._feature_vars), z1 - z0, ny, nx), np.float32)
        for index, var in enumerate(self._feature_vars):
            out[index] = self.read_variable(var, z0, z1)
        return out

    def read_label(self) -> np.ndarray | None:
        return self.read_variable("label").astype(np.int8) if self.has("label") else None

    def read_cube(self) -> Cube:
        cube = Cube(self.grid, self.read_features(), list(self.feature_names), self.read_label())
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
                      attrs={**cube.attrs, **(attrs or {})})
