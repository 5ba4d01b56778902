"""The cube's CF-1.8 metadata: what xarray, ParaView (VTK's NetCDF CF reader) and a CF checker rely on.

The checker and those readers themselves run in `make check-cf` (bench/check_cf.py: heavy installs in a
venv of their own); here, fast, the attributes they read, checked through GDAL.
"""

import json
import os

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from mpm3d.core import cli
from mpm3d.core.data.cubefile import CubeReader, read_cube, save_cube, write_cube
from mpm3d.core.data.grid import Grid
from mpm3d.core.data.slices import parse_units, write_slices
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.jobs import export, prediction_attributes, stack
from mpm3d.core.learning.modelfile import load_model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _gdal():
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


def _attributes(path: str, variable: str) -> dict[str, dict[str, str]]:
    """The attributes as stored, by variable ("NC_GLOBAL" for the file's): GDAL's raster view of one variable
    lists its own, its coordinates' and the file's (the multidimensional view interprets some instead)."""
    found: dict[str, dict[str, str]] = {}
    for key, value in _gdal().Open(f'NETCDF:"{path}":{variable}').GetMetadata().items():
        owner, _, name = key.partition("#")
        found.setdefault(owner, {})[name] = value
    return found


def _grid() -> Grid:
    return Grid(crs="EPSG:32650", x=500_000 + 10 * (np.arange(5) + 0.5), y=4_000_000 - 10 * (np.arange(4) + 0.5),
                z=np.array([-100.0, -125.0, -150.0]))


def _slices(folder, units: dict[str, str]) -> list[str]:
    """Evidence slices (fault_distance, density) whose bands carry ``units`` as GDAL unit types."""
    grid = _grid()
    data = np.random.default_rng(0).normal(size=(2, *grid.shape)).astype(np.float32)
    paths = write_slices(str(folder), grid, data, ["fault_distance", "density"], "evidence")
    for path in paths:
        ds = _gdal().Open(path, _gdal().GA_Update)
        for index, name in enumerate(("fault_distance", "density")):
            ds.GetRasterBand(index + 1).SetUnitType(units.get(name, ""))
        ds = None
    return paths


@pytest.fixture
def stacked(tmp_path):
    """A cube stacked from slices whose bands say fault_distance is in m, with labels and the UNITS of density."""
    paths = _slices(tmp_path / "slices", {"fault_distance": "m"})
    labels = write_slices(str(tmp_path / "slices"), _grid(), np.zeros((1, 3, 4, 5), np.int16), ["label"], "label", -1)
    out = str(tmp_path / "cube.nc")
    result = stack(paths, out, labels, units={"density": "g/cm3"})
    return out, result


def test_a_stacked_cube_declares_cf_and_describes_its_axes(stacked):
    attrs = _attributes(stacked[0], "valid")
    assert attrs["NC_GLOBAL"]["Conventions"] == "CF-1.8"
    z = attrs["z"]
    assert (z["standard_name"], z["positive"], z["axis"], z["units"]) == ("altitude", "up", "Z", "m")
    for axis in ("x", "y"):
        assert attrs[axis]["standard_name"] == f"projection_{axis}_coordinate" and attrs[axis]["units"] == "m"
        # VTK's CF reader (ParaView's) would take axis X/Y for longitude/latitude and draw the grid on a globe
        assert "axis" not in attrs[axis]


@pytest.mark.parametrize("variable", ["fault_distance", "density", "label", "valid"])
def test_every_data_variable_has_the_grid_mapping(stacked, variable):
    """The mask too: GDAL's raster view (what QGIS opens) showed it without a CRS before."""
    attrs = _attributes(stacked[0], variable)
    assert "grid_mapping_name" in attrs[attrs[variable]["grid_mapping"]]
    assert _gdal().Open(f'NETCDF:"{stacked[0]}":{variable}').GetSpatialRef().GetAuthorityCode(None) == "32650"


def test_units_come_from_the_bands_or_units_and_read_back(stacked):
    path, result = stacked
    assert _attributes(path, "fault_distance")["fault_distance"]["units"] == "m"
    assert _attributes(path, "density")["density"]["units"] == "g/cm3"
    assert result["UNITS"] == {"fault_distance": "m", "density": "g/cm3"}
    cube = read_cube(path)
    assert cube.units == {"fault_distance": "m", "density": "g/cm3"}
    copy = save_cube(os.path.join(os.path.dirname(path), "copy.nc"), cube)  # e.g. labels voxelised into it
    assert read_cube(copy).units == cube.units


def test_units_go_out_with_the_exported_slices_and_come_back_when_they_are_stacked(stacked, tmp_path):
    """The way back from a cube (Export) keeps each band's units, so the slices stack again without UNITS."""
    path, _ = stacked
    exported = export(path, str(tmp_path / "exported"), "again")
    first = _gdal().Open(exported["EVIDENCE"][0])
    assert [first.GetRasterBand(i + 1).GetUnitType() for i in range(2)] == ["m", "g/cm3"]
    again = stack(exported["EVIDENCE"], str(tmp_path / "again.nc"))
    assert again["UNITS"] == {"fault_distance": "m", "density": "g/cm3"}


def test_label_and_valid_are_flag_variables(stacked):
    label = _attributes(stacked[0], "label")["label"]
    assert (label["flag_values"], label["flag_meanings"]) == ("{0,1}", "barren ore")
    valid = _attributes(stacked[0], "valid")["valid"]
    assert valid["flag_values"] == "{0,1}" and len(valid["flag_meanings"].split()) == 2


def test_units_override_the_bands_with_a_word(tmp_path):
    paths = _slices(tmp_path, {"fault_distance": "m"})
    result = stack(paths, str(tmp_path / "cube.nc"), units={"fault_distance": "km"})
    assert result["UNITS"] == {"fault_distance": "km"}
    assert any("'km' for band 'fault_distance', whose slices say 'm'" in w for w in result["WARNINGS"])


def test_slices_that_disagree_on_units_are_refused(tmp_path):
    paths = _slices(tmp_path, {"density": "g/cm3"})
    ds = _gdal().Open(paths[1], _gdal().GA_Update)
    ds.GetRasterBand(2).SetUnitType("kg/m3")
    ds = None
    with pytest.raises(Mpm3dError, match=r"band 'density' has different units in different slices \('g/cm3' in"):
        stack(paths, str(tmp_path / "cube.nc"))


def test_units_must_name_bands(tmp_path):
    with pytest.raises(Mpm3dError, match=r"UNITS names 'densty', not a band of the EVIDENCE slices \(bands: "
                                         r"fault_distance, density\)"):
        stack(_slices(tmp_path, {}), str(tmp_path / "cube.nc"), units={"densty": "g/cm3"})


@pytest.mark.parametrize("text, expected", [("", {}), ("fault_distance=m; density = g/cm3,", {
    "fault_distance": "m", "density": "g/cm3"}), (" alteration=1 ", {"alteration": "1"})])
def test_units_text(text, expected):
    assert parse_units(text) == expected


@pytest.mark.parametrize("text, message", [("m, g/cm3", "band=unit pairs"), ("density=", "band=unit pairs"),
                                           ("a=m, a=km", "band 'a' twice")])
def test_units_text_refused(text, message):
    with pytest.raises(Mpm3dError, match=message):
        parse_units(text)


def test_the_maps_are_dimensionless_in_zero_one(tmp_path):
    grid = _grid()
    maps = {name: np.full(grid.shape, 0.5, np.float32) for name in ("prospectivity", "uncertainty", "novelty")}
    path = write_cube(str(tmp_path / "p.nc"), grid, extra=maps)
    for name in maps:
        attrs = _attributes(path, name)[name]
        assert (attrs["units"], attrs["valid_range"]) == ("1", "{0,1}") and "grid_mapping" in attrs
        assert attrs["long_name"].startswith(f"{name}: ")


@pytest.mark.parametrize("name", ["cube_0_1_0.nc", "prospectivity_0_1_0.nc"])
def test_cubes_of_version_0_1_0_still_read(name):
    """Written by mpm3d 0.1.0 (z standard_name height; no units, flags or Conventions CF-1.8): read as before."""
    path = os.path.join(DATA, name)
    variable = "density" if name.startswith("cube") else "prospectivity"
    assert _attributes(path, variable)["z"]["standard_name"] == "height"
    reader = CubeReader(path)
    assert reader.grid.z.tolist() == [-100.0, -125.0, -150.0] and reader.grid.shape == (3, 4, 5)
    assert "32650" in reader.grid.crs and reader.units == {}
    if name.startswith("cube"):
        cube = reader.read_cube()
        assert cube.feature_names == ["fault distance", "density"] and cube.label is not None
        assert np.isnan(cube.features[0, 0, 0, 0]) and np.isfinite(cube.features[1]).all()
    else:
        assert reader.has("prospectivity") and reader.attrs["mpm3d_model"] == "model.safetensors"


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    """The command line's chain on a tiny synthetic pair: stack (with UNITS), train a network, predict."""
    folder = tmp_path_factory.mktemp("chain")
    assert cli.main(["synth", "--out", str(folder), "--shape", "6x10x10", "--seed", "1"]) == 0
    cubes = {}
    for deposit in ("source", "target"):
        evidence = sorted(str(p) for p in (folder / deposit).glob("evidence_*.tif"))
        labels = sorted(str(p) for p in (folder / deposit).glob("label_*.tif"))
        cubes[deposit] = str(folder / f"{deposit}.nc")
        assert cli.main(["stack", "--evidence", *evidence, "--labels", *labels, "--out", cubes[deposit],
                         "--units", "fault_distance=m, density=g/cm3"]) == 0
    model = str(folder / "model.safetensors")
    assert cli.main(["train", "--source", cubes["source"], "--target", cubes["target"], "--out", model,
                     "--method", "cnn", "--patch-size", "3", "--epochs", "1", "--batch-size", "8", "--members", "1",
                     "--val-fraction", "0", "--device", "cpu", "--seed", "3"]) == 0
    out = str(folder / "prospectivity.nc")
    assert cli.main(["predict", "--model", model, "--cube", cubes["target"], "--out-cube", out,
                     "--out-folder", str(folder / "levels"), "--device", "cpu"]) == 0
    return {"cube": out, "model": model, "target": cubes["target"], "source": cubes["source"]}


def test_a_stacked_cube_keeps_the_units_given_on_the_command_line(predicted):
    units = read_cube(predicted["source"]).units
    assert units == {"fault_distance": "m", "density": "g/cm3"}


def test_the_prediction_names_its_model_and_training(predicted):
    attrs = CubeReader(predicted["cube"]).attrs
    assert attrs["Conventions"] == "CF-1.8"
    assert attrs["mpm3d_model"] == predicted["model"] and os.path.isabs(attrs["mpm3d_model"])
    assert attrs["mpm3d_method"] == "cnn" and attrs["mpm3d_members"] == "1"
    assert attrs["mpm3d_cube"] == predicted["target"]
    features = json.loads(attrs["mpm3d_model_features"])
    assert features == read_cube(predicted["target"]).feature_names and "fault_distance" in features
    assert attrs["mpm3d_training_seed"] == "3" and attrs["mpm3d_training_epochs"] == "1"
    assert attrs["mpm3d_training_source"] == "source.nc" and attrs["mpm3d_training_target"] == "target.nc"
    assert attrs["mpm3d_training_date"] == load_model(predicted["model"]).provenance["trained"]
    assert json.loads(attrs["mpm3d_features"]) == []  # the features held in this file: none


def test_a_model_file_without_a_training_date_still_loads_and_predicts_without_one(predicted, tmp_path):
    """Model files of earlier versions record no training date: the prediction leaves it out, not guesses it."""
    with safetensors.safe_open(predicted["model"], "numpy") as handle:
        metadata = handle.metadata()
    provenance = json.loads(metadata["provenance"])
    del provenance["trained"]
    older = str(tmp_path / "older.safetensors")
    safetensors.numpy.save_file(safetensors.numpy.load_file(predicted["model"]), older,
                                metadata={**metadata, "provenance": json.dumps(provenance)})
    attrs = prediction_attributes(load_model(older), older, predicted["target"])
    assert "training_date" not in attrs and attrs["training_seed"] == 3 and attrs["model"] == older
