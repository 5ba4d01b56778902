"""Hostile cube and model files: each refusal names the file and says what to do, and a CF cube written by
another tool, in another axis order, reads exactly like the mpm3d cube it holds."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
import torch
from mpm3d.core.data import cubefile, slices
from mpm3d.core.data.cubefile import CubeReader, gdal_modules, write_cube
from mpm3d.core.data.grid import Grid
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.model import ForestArrays, ProspectivityNet, TrainedModel, config_for_method
from mpm3d.core.learning.modelfile import MAX_HEADER_BYTES, load_model, save_model
from mpm3d.core.learning.novelty import SourceSample

GEOTRANSFORM = (40500000, 25, 0, 4130000, 0, -25)
GRID = Grid.from_geotransform("EPSG:4528", GEOTRANSFORM, 6, 5, [-100.0, -150.0, -200.0, -300.0])
NAMES = ["density", "dist_fault"]


def _data(grid=GRID):
    rng = np.random.default_rng(3)
    features = rng.normal(size=(2, *grid.shape)).astype(np.float32)
    features[0, 1, 2, 3] = np.nan
    label = rng.integers(-1, 2, grid.shape).astype(np.int16)
    prospectivity = rng.random(grid.shape).astype(np.float32)
    return features, label, prospectivity


def _foreign(path, variables, coords=None, flip=(), fmt="NC4", grid=GRID):
    """A CF cube the way another tool writes one: no mpm3d attributes, the axes named in ``flip`` stored in
    the opposite order to mpm3d's. ``variables``: name -> (dimension names, data in mpm3d order, GDAL type,
    fill value or None); dimensions other than z, y, x are made to fit the data."""
    gdal, osr = gdal_modules()
    srs = osr.SpatialReference()
    srs.SetFromUserInput(grid.crs)
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(path), [], [f"FORMAT={fmt}"])
    root = ds.GetRootGroup()
    dims = {}
    coords = {"z": grid.z, "y": grid.y, "x": grid.x, **(coords or {})}
    for axis, values in coords.items():
        values = np.asarray(values, float)
        dims[axis] = root.CreateDimension(axis, None, None, values.shape[-1])
        shape_dims = [dims[axis]] if values.ndim == 1 else [dims["y"], dims[axis]]
        array = root.CreateMDArray(axis, shape_dims, gdal.ExtendedDataType.Create(gdal.GDT_Float64))
        array.Write(np.ascontiguousarray(values[..., ::-1] if axis in flip else values))
    for name, (names, data, data_type, fill) in variables.items():
        data = np.asarray(data)
        for index, axis in enumerate(names):
            if axis not in dims:
                dims[axis] = root.CreateDimension(axis, None, None, data.shape[index])
            if axis in flip:
                data = np.flip(data, index)
        array = root.CreateMDArray(name, [dims[a] for a in names], gdal.ExtendedDataType.Create(data_type))
        if fill is not None:
            array.SetNoDataValueDouble(fill)
        if data_type in (gdal.GDT_Float32, gdal.GDT_Float64):
            array.SetSpatialRef(srs)
        array.Write(np.ascontiguousarray(data))
    return str(path)


def _cube_variables(features, label, prospectivity):
    gdal, _ = gdal_modules()
    zyx = ("z", "y", "x")
    return {"density": (zyx, features[0], gdal.GDT_Float32, np.nan),
            "dist_fault": (zyx, features[1], gdal.GDT_Float32, np.nan),
            "label": (zyx, label, gdal.GDT_Int16, -1),
            "prospectivity": (zyx, prospectivity, gdal.GDT_Float32, np.nan)}


# --- A foreign CF cube -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("flip", "fmt"), [(("z", "y"), "NC4"), (("z", "y", "x"), "NC4"), ((), "NC4"),
                                           (("z", "y"), "NC")],
                         ids=["z-and-y-ascending", "every-axis-reversed", "mpm3d-order", "classic-netcdf"])
def test_a_foreign_cf_cube_reads_exactly_like_the_mpm3d_cube(tmp_path, flip, fmt):
    features, label, prospectivity = _data()
    ours = CubeReader(write_cube(str(tmp_path / "ours.nc"), GRID, features, NAMES, label,
                                 extra={"prospectivity": prospectivity}), "SOURCE")
    theirs = CubeReader(_foreign(tmp_path / "theirs.nc", _cube_variables(features, label, prospectivity),
                                 flip=flip, fmt=fmt), "SOURCE")
    assert theirs.feature_names == ours.feature_names == NAMES
    for axis in ("x", "y", "z"):
        np.testing.assert_array_equal(getattr(theirs.grid, axis), getattr(GRID, axis))
    assert theirs.grid.crs == ours.grid.crs and "CGCS2000" in theirs.grid.crs
    cube = theirs.read_cube()
    np.testing.assert_array_equal(cube.features, features)  # NaN where the mpm3d cube has NaN
    np.testing.assert_array_equal(cube.label, label)
    np.testing.assert_array_equal(theirs.read_features(1, 3), ours.read_features(1, 3))
    np.testing.assert_array_equal(theirs.read_variable("prospectivity", 2, 4), prospectivity[2:4])
    assert theirs.has("prospectivity") and not theirs.has("valid")


def test_fill_values_and_packed_integers_of_a_foreign_cube_become_nan_and_numbers(tmp_path):
    gdal, _ = gdal_modules()
    features, _, _ = _data()
    density = np.where(np.isnan(features[0]), -9999.0, features[0]).astype(np.float32)
    packed = np.round(features[1] * 100).astype(np.int16)
    packed[0, 0, 0] = -32767
    path = _foreign(tmp_path / "cf.nc", {"density": (("z", "y", "x"), density, gdal.GDT_Float32, -9999.0),
                                         "grade": (("z", "y", "x"), packed, gdal.GDT_Int16, -32767),
                                         "lithology": (("z", "y", "x"), packed, gdal.GDT_Int16, None),
                                         "bounds_of_x": (("x", "nv"), np.zeros((6, 2)), gdal.GDT_Float64, None)},
                    flip=("z",))
    ds = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER | gdal.OF_UPDATE)
    grade = ds.GetRootGroup().OpenMDArray("grade")
    grade.SetScale(0.01)
    x = ds.GetRootGroup().OpenMDArray("x")
    x.CreateAttribute("bounds", [], gdal.ExtendedDataType.CreateString()).Write("bounds_of_x")
    grade = x = ds = None
    reader = CubeReader(path, "TARGET")
    assert reader.feature_names == ["density", "grade"]  # lithology: integers without packing are not evidence
    read = reader.read_features()
    np.testing.assert_array_equal(read[0], features[0])
    assert np.isnan(read[1, 0, 0, 0]) and np.isclose(read[1, 1, 1, 1], packed[1, 1, 1] * 0.01)


# --- Refusals of cubes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "data_type", "shown"), [((0, 1, 2), "GDT_Int16", "2"),
                                                           ((0, 0.5, 1), "GDT_Float32", "0.5"),
                                                           ((0, 1, 255), "GDT_Int16", "255")],
                         ids=["a-class-code", "a-fraction", "a-byte-nodata-not-declared"])
def test_label_values_other_than_0_and_1_are_refused_by_name_not_cast(tmp_path, values, data_type, shown):
    from mpm3d.core.jobs import label_cube_on_grid
    gdal, _ = gdal_modules()
    features, _, _ = _data()
    label = np.resize(np.array(values), GRID.shape)
    variables = {**_cube_variables(features, label, features[0]),
                 "label": (("z", "y", "x"), label, getattr(gdal, data_type), -1)}
    path = _foreign(tmp_path / "holes.nc", variables)
    with pytest.raises(Mpm3dError, match=rf"^HOLES .*holes\.nc: variable 'label' holds values other than 1 ore, "
                                         rf"0 barren and nodata \({shown}\); recode"):
        label_cube_on_grid(path, "HOLES", GRID, "the TARGET cube", "voxelise them on the target cube")

def test_uneven_x_or_y_spacing_is_refused(tmp_path):
    features, label, prospectivity = _data()
    path = _foreign(tmp_path / "uneven.nc", _cube_variables(features, label, prospectivity),
                    coords={"x": [0.0, 25.0, 50.0, 80.0, 100.0, 125.0]})
    with pytest.raises(Mpm3dError, match=r"^SOURCE .*uneven\.nc: coordinate 'x' is not evenly spaced \(steps from 20 "
                                         r"to 30\); mpm3d needs a regular x-y grid: resample the cube onto one"):
        CubeReader(path, "SOURCE")


def test_a_listed_feature_off_the_grid_is_refused_by_name(tmp_path):
    """The example of the issue: 'density' over two other dimensions in an 8 x 24 x 28 mpm3d cube."""
    gdal, _ = gdal_modules()
    grid = Grid.from_geotransform("EPSG:4528", GEOTRANSFORM, 28, 24, -50.0 * np.arange(8))
    path = _foreign(tmp_path / "c.nc", {"density": (("a", "b"), np.zeros((4, 10)), gdal.GDT_Float32, None)},
                    grid=grid)
    ds = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER | gdal.OF_UPDATE)
    attribute = ds.GetRootGroup().CreateAttribute("mpm3d_features", [], gdal.ExtendedDataType.CreateString())
    attribute.Write(json.dumps(["density"]))
    attribute = ds = None
    with pytest.raises(Mpm3dError, match=r"^CUBE .*c\.nc: variable 'density' has shape \(4, 10\) \(dimensions a, b\) "
                                         r"but the cube grid is \(z, y, x\) = \(8, 24, 28\); write it over that grid, "
                                         r"or remove it from the file"):
        CubeReader(path, "CUBE")


@pytest.mark.parametrize("name", ["density", "label"])
def test_a_map_where_a_volume_belongs_is_refused_by_name(tmp_path, name):
    gdal, _ = gdal_modules()
    features, label, prospectivity = _data()
    variables = _cube_variables(features, label, prospectivity)
    variables[name] = (("y", "x"), np.zeros((5, 6)), gdal.GDT_Int16 if name == "label" else gdal.GDT_Float32, None)
    with pytest.raises(Mpm3dError, match=rf"^TARGET .*: variable '{name}' has shape \(5, 6\) \(dimensions y, x\) but "
                                         r"the cube grid is \(z, y, x\) = \(4, 5, 6\)"):
        CubeReader(_foreign(tmp_path / "c.nc", variables), "TARGET")


def test_a_cube_needs_as_many_levels_as_stacking_does(tmp_path):
    assert cubefile.MIN_LEVELS == slices.MIN_LEVELS == 3
    grid = Grid.from_geotransform("EPSG:4528", GEOTRANSFORM, 6, 5, [-100.0, -150.0])
    path = write_cube(str(tmp_path / "two.nc"), grid, np.ones((1, *grid.shape)), ["a"])
    with pytest.raises(Mpm3dError, match=r"^CUBE .*two\.nc has 2 level\(s\); a cube needs at least 3 levels \(the "
                                         r"smallest patch is 3 x 3 x 3 voxels\): stack more depth slices"):
        CubeReader(path, "CUBE")


@pytest.mark.parametrize(("coords", "match"), [
    ({"z": [-100.0, np.nan, -200.0, -300.0]}, r"coordinate 'z' has missing \(NaN or infinite\) values"),
    ({"y": [0.0, 25.0, 25.0, 50.0, 75.0]}, r"coordinate 'y' is not strictly increasing or decreasing \(it has "
                                           r"repeated or out-of-order values\); sort the cube along it"),
    ({"z": [-100.0, -300.0, -200.0, -400.0]}, r"coordinate 'z' is not strictly increasing or decreasing"),
    ({"x": np.zeros((5, 6))}, r"coordinate 'x' has shape \(5, 6\); x, y and z must be 1-D coordinate variables"),
], ids=["nan", "duplicate", "unsorted", "two-dimensional"])
def test_bad_coordinates_are_refused(tmp_path, coords, match):
    gdal, _ = gdal_modules()
    path = _foreign(tmp_path / "c.nc", {"v": (("z", "y"), np.zeros((4, 5)), gdal.GDT_Float32, None)}, coords=coords)
    with pytest.raises(Mpm3dError, match=r"^CUBE .*c\.nc: " + match):
        CubeReader(path, "CUBE")


def test_an_empty_coordinate_is_refused(tmp_path):
    gdal, _ = gdal_modules()
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(tmp_path / "c.nc"), [], ["FORMAT=NC4"])
    root = ds.GetRootGroup()
    for axis, size, options in (("z", 4, []), ("y", 0, ["UNLIMITED=YES"]), ("x", 6, [])):
        dimension = root.CreateDimension(axis, None, None, size, options)
        root.CreateMDArray(axis, [dimension], gdal.ExtendedDataType.Create(gdal.GDT_Float64))
    root = dimension = ds = None
    with pytest.raises(Mpm3dError, match=r"^CUBE .*c\.nc: coordinate 'y' is empty; a cube needs at least one column "
                                         r"and row and 3 levels"):
        CubeReader(str(tmp_path / "c.nc"), "CUBE")


def test_a_grid_larger_than_the_file_can_hold_is_refused_before_reading(tmp_path):
    gdal, _ = gdal_modules()
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(tmp_path / "c.nc"), [], ["FORMAT=NC4"])
    root = ds.GetRootGroup()
    for axis, size in (("z", 3), ("y", 20000), ("x", 20000)):
        root.CreateMDArray(axis, [root.CreateDimension(axis, None, None, size)],
                           gdal.ExtendedDataType.Create(gdal.GDT_Float64))
    root = ds = None
    with pytest.raises(Mpm3dError, match=r"^CUBE .*c\.nc: its grid of 3 x 20000 x 20000 voxels is more than a file "
                                         r"of \d+ bytes can hold; the file is damaged"):
        CubeReader(str(tmp_path / "c.nc"), "CUBE")


def test_no_xyz_coordinates_are_named(tmp_path):
    gdal, _ = gdal_modules()
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(tmp_path / "c.nc"), [], ["FORMAT=NC4"])
    root = ds.GetRootGroup()
    root.CreateMDArray("lon", [root.CreateDimension("lon", None, None, 3)],
                       gdal.ExtendedDataType.Create(gdal.GDT_Float64))
    root = ds = None
    with pytest.raises(Mpm3dError, match=r"^CUBE .*c\.nc has no x, y, z coordinates: it is not a cube; give a cube "
                                         r"made by 'Stack depth slices into cube', or a CF file"):
        CubeReader(str(tmp_path / "c.nc"), "CUBE")


@pytest.fixture()
def cube_bytes(tmp_path):
    features, label, prospectivity = _data()
    nc4 = write_cube(str(tmp_path / "base.nc"), GRID, features, NAMES, label, extra={"prospectivity": prospectivity})
    classic = _foreign(tmp_path / "classic.nc", _cube_variables(features, label, prospectivity), fmt="NC")
    return open(nc4, "rb").read(), open(classic, "rb").read()


def test_empty_cut_short_and_foreign_files_are_named(tmp_path, cube_bytes):
    nc4, classic = cube_bytes
    tif = tmp_path / "slice.tif"
    gdal, _ = gdal_modules()
    gdal.GetDriverByName("GTiff").Create(str(tif), 2, 2, 1).FlushCache()
    superblock = bytearray(nc4)
    superblock[9] = 3  # HDF5's size of offsets: only 2, 4 or 8 exist
    cases = [
        (b"", r"cube\.nc is empty \(0 bytes\); copy the complete file again, or make it again with 'Stack depth"),
        (nc4[:len(nc4) // 2], rf"cube\.nc is truncated \({len(nc4) // 2} of {len(nc4)} bytes\); copy the complete"),
        (classic[:-10], rf"cube\.nc is truncated \({len(classic) - 10} of {len(classic)} bytes\)"),
        (classic[:30], r"cube\.nc is truncated \(its header is cut short\)"),
        (bytes(superblock), r"cube\.nc is a damaged NetCDF file \(its header is unreadable\); copy the complete"),
        (b"x,y,z,density\n1,2,3,4\n", r"cube\.nc is not a readable cube file \(NetCDF\); give a cube made by 'Stack"),
        (open(tif, "rb").read(), r"cube\.nc is not a readable cube file \(NetCDF\)"),
    ]
    for data, match in cases:
        path = tmp_path / "cube.nc"
        path.unlink(missing_ok=True)  # a new file each time
        path.write_bytes(data)
        with pytest.raises(Mpm3dError, match=r"^PROSPECTIVITY .*" + match):
            CubeReader(str(path), "PROSPECTIVITY")


def test_a_variable_name_that_is_not_text_is_refused(tmp_path):
    """Found by fuzzing: GDAL hands such a name over as bytes or with surrogates, and cannot open it again."""
    features, label, prospectivity = _data()
    data = bytearray(open(_foreign(tmp_path / "c.nc", _cube_variables(features, label, prospectivity), fmt="NC"),
                          "rb").read())
    data[data.index(b"density") + 1] = 0xFF
    (tmp_path / "named.nc").write_bytes(bytes(data))
    with pytest.raises(Mpm3dError, match=r"^CUBE .*named\.nc is a damaged NetCDF file \(a variable name is not "
                                         r"text\); copy the complete file again"):
        CubeReader(str(tmp_path / "named.nc"), "CUBE")


# A single flipped bit of this cube sends HDF5 1.10.8 (Debian 12) into free() of a bad pointer while netCDF
# lists the root group: a SIGSEGV or SIGABRT of the whole process before the probe existed. HDF5 1.14 (Debian 13)
# reads freed memory on it: a fresh process may survive, this one (many files read before) crashes, and the probe
# (glibc's MALLOC_PERTURB_) must crash for sure.
CRASHING_FLIP = (16793, 5)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_crashing_cube(folder):
    gdal, _ = gdal_modules()
    features, label, prospectivity = _data()
    variables = _cube_variables(features, label, prospectivity)
    for index in range(6):  # enough variables for HDF5 to keep the links in a (not checksummed) fractal heap
        variables[f"extra_{index}"] = (("z", "y", "x"), features[0], gdal.GDT_Float32, np.nan)
    path = _foreign(folder / "damaged.nc", variables)
    data = bytearray(open(path, "rb").read())
    offset, bit = CRASHING_FLIP
    data[offset] ^= 1 << bit
    os.unlink(path)
    open(path, "wb").write(bytes(data))
    return path


def _crashing_cube(tmp_path):
    """The damaged cube, made by another process as a damaged file arrives from elsewhere: HDF5 1.14 crashes
    on a file replaced under the same name in the process that wrote the first one, before any reading of ours."""
    code = ("import pathlib, runpy, sys; runpy.run_path(sys.argv[1] + '/core/package.py')['load_plugin_package']"
            "(sys.argv[1]); print(runpy.run_path(sys.argv[2])['_write_crashing_cube'](pathlib.Path(sys.argv[3])))")
    made = subprocess.run([sys.executable, "-c", code, REPO, __file__, str(tmp_path)], capture_output=True,
                          text=True, check=True)
    return made.stdout.strip().splitlines()[-1]


def test_a_file_that_crashes_the_hdf5_library_is_refused_without_crashing_this_process(tmp_path):
    path = _crashing_cube(tmp_path)
    with pytest.raises(Mpm3dError, match=r"^CUBE .*damaged\.nc is (a )?damaged"):
        CubeReader(path, "CUBE")


@pytest.mark.skipif(os.name == "nt", reason="the stand-in interpreters are shell scripts")
@pytest.mark.parametrize(("script", "match"), [
    ("kill -SEGV $$", r"is damaged: the NetCDF/HDF5 library crashed reading its structure \(checked in a separate "
                      r"process, exit status -11\); copy the complete file again"),
    ("exec sleep 20", r"is damaged: the NetCDF/HDF5 library did not finish reading its structure in 0\.5 s "
                      r"\(checked in a separate process\); .*on a slow network drive, copy it to a local disk first"),
    ("exit 3", None),
])
def test_the_probe_turns_a_crash_or_a_hang_into_a_message(tmp_path, monkeypatch, script, match):
    """Stand-in interpreters that crash, hang, or cannot run the reader (then the file opens as before)."""
    features, label, prospectivity = _data()
    path = _foreign(tmp_path / "cube.nc", _cube_variables(features, label, prospectivity))
    python = tmp_path / "python3"
    python.write_text(f"#!/bin/sh\n{script}\n")
    python.chmod(0o755)
    monkeypatch.setenv("MPM3D_PYTHON", str(python))
    monkeypatch.setattr(cubefile, "PROBE_TIMEOUT_S", 0.5)
    if match is None:
        assert CubeReader(path, "CUBE").feature_names == NAMES
    else:
        with pytest.raises(Mpm3dError, match=r"^CUBE .*cube\.nc " + match):
            CubeReader(path, "CUBE")


def test_the_host_pythons_variables_do_not_turn_a_good_file_into_a_damaged_one(tmp_path, monkeypatch):
    """Inside QGIS, PYTHONHOME names QGIS's Python; a worker Python started with it fails to start at all (exit
    1), which the probe must not read as the HDF5 library crashing on the file: it gets the worker's environment."""
    features, label, prospectivity = _data()
    path = _foreign(tmp_path / "cube.nc", _cube_variables(features, label, prospectivity))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "qgis" / "apps" / "Python312"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "qgis" / "python"))
    monkeypatch.setenv("MPM3D_PYTHON", sys.executable)
    assert CubeReader(path, "CUBE").feature_names == NAMES


def test_the_probe_really_runs_the_reader(tmp_path, monkeypatch):
    """The probe child loads the plugin and opens the file (exit 0): exit 3, 'cannot run the reader', would let
    every hostile file through to this process unprobed (as when the probe was given core/ for the plugin's
    folder)."""
    real_run, statuses = subprocess.run, []

    def run(*args, **kwargs):
        finished = real_run(*args, **kwargs)
        statuses.append(finished.returncode)
        return finished

    monkeypatch.setattr(cubefile.subprocess, "run", run)
    monkeypatch.setenv("MPM3D_PYTHON", sys.executable)
    features, label, prospectivity = _data()
    assert CubeReader(_foreign(tmp_path / "cube.nc", _cube_variables(features, label, prospectivity)), "CUBE")
    assert statuses == [0]


def test_a_cube_written_here_is_not_probed_again(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cubefile.subprocess, "run",
                        lambda *a, **k: calls.append(a) or subprocess.CompletedProcess(a, 0))
    features, label, prospectivity = _data()
    CubeReader(write_cube(str(tmp_path / "ours.nc"), GRID, features, NAMES, label), "CUBE")
    assert calls == []
    CubeReader(_foreign(tmp_path / "theirs.nc", _cube_variables(features, label, prospectivity)), "CUBE")
    assert len(calls) == 1


# --- Model files -------------------------------------------------------------------------------------------------

def _network_model(members=1, source_sample=None):
    torch.manual_seed(0)
    networks = [ProspectivityNet(config_for_method("dann_cta", 3, 5)) for _ in range(members)]
    stats = {"mean": [0.0, 1.0, 2.0], "std": [1.0, 2.0, 3.0]}
    return TrainedModel(method="dann_cta", feature_names=["a", "b", "c"], patch_size=5,
                        normalisation={"source": stats, "target": stats}, networks=networks,
                        source_sample=source_sample)


def _forest_model(children_left=(1, -1, -1), feature=(2, -2, -2)):
    forest = ForestArrays(node_offsets=np.array([0, 3]), children_left=np.array(children_left, np.int32),
                          children_right=np.array([2, -1, -1], np.int32), feature=np.array(feature, np.int32),
                          threshold=np.array([0.5, -2, -2]), ore_probability=np.array([0.5, 0.1, 0.9]))
    stats = {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
    return TrainedModel(method="rf", feature_names=["a", "b", "c"], patch_size=5,
                        normalisation={"source": stats, "target": stats}, forest=forest)


def _header(path):
    with open(path, "rb") as handle:
        return json.loads(handle.read(int.from_bytes(handle.read(8), "little")))


def _rewrite(path, tensors=None, **metadata):
    """The file again with some tensors or metadata fields replaced (values: text, or JSON-able)."""
    old = _header(path)["__metadata__"]
    new = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    safetensors.numpy.save_file({**safetensors.numpy.load_file(path), **(tensors or {})}, path,
                                metadata={**old, **new})
    return path


@pytest.fixture()
def network_file(tmp_path):
    path = str(tmp_path / "model.safetensors")
    save_model(path, _network_model())
    return path


def test_a_model_file_is_read_by_content_whatever_its_name(tmp_path):
    rng = np.random.default_rng(0)
    sample = SourceSample(rng.normal(size=(10, 3)).astype(np.float32), rng.integers(0, 16, 10).astype(np.int16))
    model = _network_model(members=2, source_sample=sample)
    for name in ("model", "model.pt", "model.SAFETENSORS.bak"):
        save_model(str(tmp_path / name), model)
        loaded = load_model(str(tmp_path / name))
        assert loaded.feature_names == model.feature_names and loaded.patch_size == 5 and loaded.n_members == 2
        for ours, theirs in zip(sample, loaded.source_sample, strict=True):
            np.testing.assert_array_equal(theirs, ours)
        for ours, theirs in zip(model.networks, loaded.networks, strict=True):
            for key, value in ours.state_dict().items():
                np.testing.assert_array_equal(theirs.state_dict()[key].numpy(), value.numpy())
    save_model(str(tmp_path / "forest"), _forest_model())
    assert load_model(str(tmp_path / "forest")).forest.n_trees == 1


def test_a_patch_size_that_disagrees_with_the_weights_is_refused(network_file):
    config = json.loads(_header(network_file)["__metadata__"]["model_config"])
    _rewrite(network_file, patch_size="7")
    with pytest.raises(Mpm3dError, match=r"^the MODEL file .*model\.safetensors is damaged or was edited: its patch "
                                         r"size 7 disagrees with its model_config patch size 5; train the model"):
        load_model(network_file)
    _rewrite(network_file, patch_size="3", model_config={**config, "patch_size": 3})
    with pytest.raises(Mpm3dError, match=r"its weights do not fit its metadata \(3 features, patch size 3\): "
                                         r"'networks\.0\.channel_gate\.excite\.bias' should have shape \(32,\), the "
                                         r"file has \(64,\); train the model again"):
        load_model(network_file)


def test_a_model_config_that_describes_no_network_is_refused(network_file):
    """Found by fuzzing: an infinite channel count escaped as OverflowError."""
    config = json.loads(_header(network_file)["__metadata__"]["model_config"])
    _rewrite(network_file, model_config=json.dumps({**config, "channels": ["X", 64, 64]}).replace('"X"', "1e999"))
    with pytest.raises(Mpm3dError, match=r"model\.safetensors is damaged or was edited: its model_config does not "
                                         r"describe a network \(cannot convert float infinity to integer\)"):
        load_model(network_file)


def test_a_feature_count_that_disagrees_with_the_weights_is_refused(network_file):
    config = json.loads(_header(network_file)["__metadata__"]["model_config"])
    _rewrite(network_file, feature_names=["a", "b"])
    with pytest.raises(Mpm3dError, match=r"model\.safetensors is damaged or was edited: it names 2 features but its "
                                         r"model_config says n_features 3; train the model again"):
        load_model(network_file)
    normalisation = {d: {"mean": [0.0] * 4, "std": [1.0] * 4} for d in ("source", "target")}
    _rewrite(network_file, feature_names=["a", "b", "c", "d"], model_config={**config, "n_features": 4},
             normalisation=normalisation)
    with pytest.raises(Mpm3dError, match=r"weights do not fit its metadata \(4 features, patch size 5\): "
                                         r"'networks\.0\.convs\.0\.weight' should have shape \(32, 4, 3, 3, 3\), "
                                         r"the file has \(32, 3, 3, 3, 3\)"):
        load_model(network_file)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "0.0", "-1.0", "1e999"])
def test_normalisation_statistics_must_be_finite_with_a_positive_spread(network_file, bad):
    text = json.dumps({"source": {"mean": [0.0, 1.0, 2.0], "std": [1.0, 1.0, 1.0]},
                       "target": {"mean": [0.0, 1.0, 2.0], "std": [1.0, "BAD", 1.0]}}).replace('"BAD"', bad)
    _rewrite(network_file, normalisation=text)
    with pytest.raises(Mpm3dError, match=r"model\.safetensors is damaged or was edited: its normalisation statistics "
                                         r"for the target are not 3 finite means and positive standard deviations"):
        load_model(network_file)


def test_weights_that_are_not_numbers_are_refused(network_file):
    weight = safetensors.numpy.load_file(network_file)["networks.0.convs.0.weight"]
    weight[0, 0, 0, 0, 0] = np.inf
    _rewrite(network_file, tensors={"networks.0.convs.0.weight": weight})
    with pytest.raises(Mpm3dError, match=r"model\.safetensors is damaged or was edited: its weights "
                                         r"'networks\.0\.convs\.0\.weight' hold NaN or infinite values"):
        load_model(network_file)


def test_metadata_nested_thousands_deep_or_huge_is_refused(tmp_path, network_file):
    _rewrite(network_file, provenance="[" * 100_000 + "]" * 100_000)
    with pytest.raises(Mpm3dError, match=r"model\.safetensors is damaged or was edited: its metadata 'provenance' is "
                                         r"nested too deeply to be mpm3d's; train the model again"):
        load_model(network_file)
    deep = tmp_path / "deep.safetensors"
    header = b"{" + b'"a":' * 1 + b"[" * 100_000 + b"]" * 100_000 + b"}"
    deep.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(Mpm3dError, match=r"deep\.safetensors is damaged: its header is JSON nested too deeply"):
        load_model(str(deep))
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 1) + b'{"__metadata__": {"format": "' + b"x" * 1000)
    with pytest.raises(Mpm3dError, match=rf"huge\.safetensors is damaged or not an mpm3d model: its header declares "
                                         rf"{MAX_HEADER_BYTES + 1} bytes, an mpm3d model's has at most "):
        load_model(str(huge))


def test_a_format_version_from_the_future_asks_for_a_newer_mpm3d(network_file):
    _rewrite(network_file, format_version="2")
    with pytest.raises(Mpm3dError, match=r"MODEL file .*model\.safetensors has format version 2, this mpm3d reads "
                                         r"version 1; it was written by a newer mpm3d: update mpm3d to read it"):
        load_model(network_file)
    _rewrite(network_file, format_version="beta")
    with pytest.raises(Mpm3dError, match=r"has format version beta, this mpm3d reads version 1; use the mpm3d"):
        load_model(network_file)


def _lying_header(path, name, **lies):
    """The file with one tensor's entry in the header changed, the data left as it is."""
    data = open(path, "rb").read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    header[name].update(lies)
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + length:])
    return path


def test_lying_safetensors_headers_are_refused_before_reading(tmp_path, network_file):
    name = "networks.0.convs.0.weight"
    entry = _header(network_file)[name]
    begin, end = entry["data_offsets"]
    lies = [
        ({"data_offsets": [begin, 10**12]}, rf"is truncated \(tensor '{name}' is cut short\); copy the complete file"),
        ({"dtype": "F64"}, rf"is damaged: tensor '{name}' declares shape \[32, 3, 3, 3, 3\] of F64 but holds "
                           rf"{end - begin} bytes"),
        ({"shape": [32, 3, 3, 3, 30]}, rf"is damaged: tensor '{name}' declares shape \[32, 3, 3, 3, 30\] of F32 "),
        ({"dtype": "complex"}, rf"is damaged: its header describes tensor '{name}' wrongly"),
        ({"data_offsets": [end, begin]}, rf"is damaged: its header describes tensor '{name}' wrongly"),
    ]
    original = open(network_file, "rb").read()
    for lie, match in lies:
        open(network_file, "wb").write(original)
        with pytest.raises(Mpm3dError, match=r"^the MODEL file .*model\.safetensors " + match):
            load_model(_lying_header(network_file, name, **lie))
    longer = tmp_path / "longer.safetensors"
    longer.write_bytes(struct.pack("<Q", len(original)) + original[8:])
    with pytest.raises(Mpm3dError, match=r"longer\.safetensors is truncated \(its header is cut short\)"):
        load_model(str(longer))


@pytest.mark.parametrize(("children_left", "feature", "match"), [
    ((0, -1, -1), (2, -2, -2), "a tree's children point outside the tree or back up it"),
    ((1, -1, -1), (3, -2, -2), r"a tree splits on a feature it does not have \(it names 3\)"),
])
def test_a_forest_that_would_loop_or_index_out_of_range_is_refused(tmp_path, children_left, feature, match):
    path = str(tmp_path / "forest.safetensors")
    save_model(path, _forest_model(children_left, feature))
    with pytest.raises(Mpm3dError, match=r"forest\.safetensors is damaged or was edited: " + match):
        load_model(path)
