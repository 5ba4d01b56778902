"""Depth slices as they come from other software: rotated, south-up or east-to-west, undeclared nodata
placeholders, levels closer than a file name's digits, the CRS spelt another way, files that are gone.
Each case ends in the right cube or in a message that names the parameter, the file and what to do."""

import os
import re

import numpy as np
import pytest
from mpm3d.core.data.grid import Grid
from mpm3d.core.data.slices import (
    elevation_from_name,
    elevation_tag,
    read_label_slices,
    read_slices,
    write_cube_slices,
    write_slices,
)
from mpm3d.core.data.synthetic import synthetic_deposit
from mpm3d.core.errors import Mpm3dError
from osgeo import gdal, osr
from raster_copies import rewrite, rewrite_all

gdal.UseExceptions()
F32_LOWEST = float(np.finfo(np.float32).min)  # -3.4028235e+38, the placeholder of many float rasters


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A small labelled deposit and its slices (north-up, nodata -9999), written once."""
    cube = synthetic_deposit("source", (5, 12, 14), (50, 25, 25), seed=2)
    folder = str(tmp_path_factory.mktemp("north_up"))
    return cube, write_cube_slices(folder, cube, "evidence", "label")



def _same_cube(a, b):
    assert np.array_equal(a.features, b.features, equal_nan=True)
    assert a.feature_names == b.feature_names
    assert np.array_equal(a.label, b.label)
    for axis in "xyz":
        assert np.array_equal(getattr(a.grid, axis), getattr(b.grid, axis)), axis


# --- Rotated slices ---------------------------------------------------------------------------------------

def _rotate(ds):
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    ds.SetGeoTransform((x0, dx * 0.96, 7.0, y0, 7.0, dy * 0.96))


def test_rotated_slices_are_refused_naming_the_slice_the_rotation_and_gdalwarp(original, tmp_path):
    _, paths = original
    rotated = rewrite_all(paths["evidence"], tmp_path / "rotated", after=_rotate)  # all alike: they match each other
    with pytest.raises(Mpm3dError, match=r"^EVIDENCE slice evidence_z-0100\.tif is rotated \(geotransform "
                                         r"rotation terms 7 and 7\); .*north-up.*gdalwarp .* without -t_srs.*Warp"):
        read_slices(rotated)
    labels = paths["labels"][:2] + [rewrite(paths["labels"][2], tmp_path / "label" / "label_z-0200.tif",
                                             after=_rotate)] + paths["labels"][3:]
    with pytest.raises(Mpm3dError, match=r"^LABELS slice label_z-0200\.tif is rotated"):
        read_slices(paths["evidence"], label_paths=labels)


def test_rotation_terms_of_float_noise_count_as_north_up(original, tmp_path):
    cube, paths = original

    def noise(ds):
        x0, dx, _, y0, _, dy = ds.GetGeoTransform()
        ds.SetGeoTransform((x0, dx, 1e-13, y0, -1e-13, dy))

    _same_cube(read_slices(rewrite_all(paths["evidence"], tmp_path, after=noise), label_paths=paths["labels"]),
               read_slices(paths["evidence"], label_paths=paths["labels"]))


def test_origins_that_differ_below_a_millimetre_print_differently(original, tmp_path):
    _, paths = original

    def nudge(ds):
        x0, dx, rx, y0, ry, dy = ds.GetGeoTransform()
        ds.SetGeoTransform((x0 + 0.0004, dx, rx, y0, ry, dy))

    odd = rewrite(paths["evidence"][3], tmp_path / "evidence_z-0250.tif", after=nudge)
    with pytest.raises(Mpm3dError, match=r"extent/origin \(") as error:
        read_slices(paths["evidence"][:3] + [odd] + paths["evidence"][4:])
    mine, theirs = re.search(r"extent/origin \((.*?) vs (.*?)\)", str(error.value)).groups()
    assert mine != theirs and mine.split(", ")[1] == theirs.split(", ")[1], str(error.value)
    assert float(mine.split(", ")[0]) - float(theirs.split(", ")[0]) == pytest.approx(0.0004, abs=1e-6)


# --- South-up and east-to-west slices -----------------------------------------------------------------------

@pytest.mark.parametrize("rows, columns", [(True, False), (False, True), (True, True)])
def test_mirrored_storage_stacks_to_the_same_cube(original, tmp_path, rows, columns):
    cube, paths = original
    evidence = rewrite_all(paths["evidence"], tmp_path / "evidence", rows=rows, columns=columns)
    labels = rewrite_all(paths["labels"], tmp_path / "labels", rows=rows, columns=columns)
    assert (gdal.Open(evidence[0]).GetGeoTransform()[5] > 0) == rows  # really stored the other way round
    assert (gdal.Open(evidence[0]).GetGeoTransform()[1] < 0) == columns
    north_up = read_slices(paths["evidence"], label_paths=paths["labels"])
    _same_cube(read_slices(evidence, label_paths=labels), north_up)
    assert np.array_equal(north_up.features, cube.features, equal_nan=True)
    mixed = [p if i % 2 else m for i, (p, m) in enumerate(zip(paths["evidence"], evidence, strict=True))]
    mixed_labels = [m if i % 2 else p for i, (p, m) in enumerate(zip(paths["labels"], labels, strict=True))]
    _same_cube(read_slices(mixed, label_paths=mixed_labels), north_up)
    assert np.array_equal(read_label_slices(labels, north_up.grid, "LABEL_SLICES", "the cube"), north_up.label)


# --- Nodata placeholders the bands do not declare -------------------------------------------------------------

def _placeholder(value, band=1, rows=slice(2, 5)):
    def change(index, array):
        if index == band:
            array = array.astype(np.float64)
            array[rows, 3:9] = value
        return array
    return change


@pytest.mark.parametrize("value, shown, output_type", [
    (F32_LOWEST, "-3.4028235e+38", gdal.GDT_Float32),
    (1.7e308, "1.7e+308", gdal.GDT_Float64),
], ids=["float32 lowest", "float64 1.7e308"])
def test_undeclared_placeholders_are_nodata_with_one_warning_per_band_and_value(original, tmp_path, value, shown,
                                                                                 output_type):
    cube, paths = original
    evidence = rewrite_all(paths["evidence"][:3], tmp_path / "odd", change=_placeholder(value), outputType=output_type)
    evidence += rewrite_all(paths["evidence"][3:], tmp_path / "odd", outputType=output_type)
    warnings = []
    stacked = read_slices(evidence, label_paths=paths["labels"], on_warning=warnings.append)
    band = cube.feature_names[1]
    about = [w for w in warnings if shown in w]
    assert len(about) == 1, warnings
    assert re.search(rf"^EVIDENCE band '{band}': 54 voxels in 3 slice\(s\) \(evidence_z-0100\.tif, "
                     rf"evidence_z-0150\.tif, evidence_z-0200\.tif\) hold {re.escape(shown)}, a nodata placeholder "
                     rf".*treated as nodata.*gdal_edit\.py -a_nodata {re.escape(shown)} <file>.*Translate", about[0])
    assert np.isnan(stacked.features[1, :3, 2:5, 3:9]).all()
    assert np.nanmin(stacked.features[1]) > -1e30 and np.nanmax(stacked.features[1]) < 1e30
    assert not any("NaN or infinite" in w for w in warnings), warnings


def test_undeclared_minus_9999_is_kept_with_a_warning_naming_band_value_count_and_slices(original, tmp_path):
    cube, paths = original
    undeclared = rewrite_all(paths["evidence"], tmp_path, undeclare=True)  # the -9999 voxels become data
    warnings = []
    stacked = read_slices(undeclared, on_warning=warnings.append)
    nodata = np.isnan(cube.features)
    banded = {name: [w for w in warnings if w.startswith(f"EVIDENCE band '{name}': the value -9999 ")]
              for name in cube.feature_names}
    for index, name in enumerate(cube.feature_names):
        count = int(nodata[index].sum())
        if count == 0:
            assert banded[name] == [], name
            continue
        assert len(banded[name]) == 1, (name, warnings)
        levels = sum(bool(level.any()) for level in nodata[index])
        assert re.search(rf"fills {count} voxels \(.*of the band's data\) in {levels} slice\(s\) \(evidence_z-\d+"
                         r".*robust standard deviations from the median .*kept as data.*gdal_edit\.py -a_nodata -9999 "
                         r"<file>", banded[name][0]), banded[name][0]
    assert sum(len(v) for v in banded.values()) >= 1, "the fixture has no nodata voxel to forget"
    assert np.array_equal(stacked.features[nodata], np.full(nodata.sum(), -9999, np.float32))  # data unchanged


def test_declared_evidence_raises_no_placeholder_warning(original):
    _, paths = original
    warnings = []
    read_slices(paths["evidence"], label_paths=paths["labels"], on_warning=warnings.append)
    assert warnings == []


def test_a_placeholder_in_a_label_slice_is_refused_with_its_exact_value(original, tmp_path):
    _, paths = original

    def lowest(index, array):
        array = array.astype(np.float32)
        array[array == -1] = F32_LOWEST
        return array

    labels = rewrite_all(paths["labels"], tmp_path, change=lowest, undeclare=True, outputType=gdal.GDT_Float32)
    with pytest.raises(Mpm3dError, match=r"LABELS slice label_z-0100\.tif holds values other than 0/1/nodata "
                                         r"\(-3\.4028235e\+38\); .*nodata = -3\.4028235e\+38\)"):
        read_slices(paths["evidence"], label_paths=labels)


# --- Level file names ----------------------------------------------------------------------------------------

LEVEL_SETS = {
    "2.5 m": [0.0, -2.5, -5.0, -7.5],
    "2.5 m off the metre": [-1.25, -3.75, -6.25, -8.75],
    "4 cm": [0.0, -0.04, -0.08, -0.12, -0.16, -0.2],
    "around zero": [1e-7, 0.0, -1e-7],
    "odd decimals": [-1234.5678, -1234.5679, -1300.0000001],
    "large": [123456789.125, 1e20, -1e20],
    "beyond a file name": [1.7e308, 5e-324, -1.7e308],
}


def test_elevation_tags_keep_todays_names():
    assert [elevation_tag(z) for z in (-450, 12.5, 0, 1500)] == ["z-0450", "z+0012.5", "z+0000", "z+1500"]


@pytest.mark.parametrize("levels", LEVEL_SETS.values(), ids=list(LEVEL_SETS))
def test_level_names_round_trip_exactly(tmp_path, levels):
    z = np.array(sorted(levels, reverse=True))
    grid = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 4, 3, z)
    rng = np.random.default_rng(0)
    label = rng.integers(-1, 2, grid.shape).astype(np.int16)
    paths = write_slices(str(tmp_path), grid, label[None], ["label"], "label", nodata=-1)
    assert len(set(paths)) == len(z) and sorted(os.listdir(tmp_path)) == sorted(map(os.path.basename, paths))
    assert [elevation_from_name(p) for p in paths] == z.tolist()
    assert np.array_equal(read_label_slices(paths[::-1], grid, "LABEL_SLICES", "the cube"), label)
    if len(z) >= 3:
        evidence = write_slices(str(tmp_path), grid, rng.normal(size=(2, *grid.shape)), ["a", "b"], "evidence")
        assert np.array_equal(read_slices(evidence).grid.z, z)


def test_two_levels_with_one_file_name_are_refused(tmp_path):
    grid = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 4, 3, [0.0, -0.0, -5.0])
    with pytest.raises(Mpm3dError, match=r"^Levels 0\.0 and -0\.0 m would both be written as p_z\+0000\.tif: give "
                                         r"every level of the cube its own elevation"):
        write_slices(str(tmp_path), grid, np.zeros((1, *grid.shape)), ["p"], "p")
    assert os.listdir(tmp_path) == []


# --- The CRS, spelt in other ways ----------------------------------------------------------------------------

def _wkt(code, esri=False, rename=None, towgs84=False):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(code)
    if towgs84:
        srs.SetTOWGS84(0, 0, 0, 0, 0, 0, 0)
    if esri:
        srs.MorphToESRI()
    wkt = srs.ExportToWkt()
    if rename:
        wkt = re.sub(r'^PROJCS\["[^"]*"', f'PROJCS["{rename}"', re.sub(r',AUTHORITY\["EPSG","\d+"\]', "", wkt))
    return wkt


EQUIVALENT = {
    "ESRI WKT, east/north axes": {"outputSRS": _wkt(4528, esri=True)},
    "WKT1": {"outputSRS": _wkt(4528)},
    "WKT2": {"outputSRS": osr.SpatialReference(_wkt(4528)).ExportToWkt(["FORMAT=WKT2_2018"])},
    "renamed, no codes": {"outputSRS": _wkt(4528, rename="Jiaodong mine grid")},
    "TOWGS84 of no effect": {"outputSRS": _wkt(4528, towgs84=True)},
}


@pytest.mark.parametrize("how", ["translate", "set projection"])
@pytest.mark.parametrize("case", EQUIVALENT)
def test_an_equivalent_crs_written_another_way_stacks(original, tmp_path, case, how):
    _, paths = original
    wkt = EQUIVALENT[case]["outputSRS"]
    options = {"outputSRS": wkt} if how == "translate" else {"after": lambda ds: ds.SetProjection(wkt)}
    other = rewrite(paths["evidence"][2], tmp_path / os.path.basename(paths["evidence"][2]), **options)
    stacked = read_slices(paths["evidence"][:2] + [other] + paths["evidence"][3:], label_paths=paths["labels"])
    _same_cube(stacked, read_slices(paths["evidence"], label_paths=paths["labels"]))


@pytest.mark.parametrize("wkt, names", [
    (_wkt(4527), r"CGCS2000 / 3-degree Gauss-Kruger zone 39 \(EPSG:4527\) vs CGCS2000 / 3-degree Gauss-Kruger "
                 r"zone 40 \(EPSG:4528\) in evidence_z-0100\.tif"),
    (_wkt(4528, rename="CGCS2000 / 3-degree Gauss-Kruger zone 40").replace("40500000", "40400000"),
     r"CGCS2000 / 3-degree Gauss-Kruger zone 40: \+proj=tmerc .*\+x_0=40400000 .* vs CGCS2000 / 3-degree "
     r"Gauss-Kruger zone 40 \(EPSG:4528\): \+proj=tmerc .*\+x_0=40500000 "),
], ids=["another zone", "same name, another false easting"])
def test_a_crs_that_truly_differs_is_named(original, tmp_path, wkt, names):
    _, paths = original
    other = rewrite(paths["evidence"][2], tmp_path / "evidence_z-0200.tif", outputSRS=wkt)
    with pytest.raises(Mpm3dError, match=rf"EVIDENCE slice evidence_z-0200\.tif does not match .*CRS \({names}.*"
                                         r"gdal_edit\.py -a_srs"):
        read_slices(paths["evidence"][:2] + [other] + paths["evidence"][3:])


# --- Files that are not there ---------------------------------------------------------------------------------

def test_a_missing_file_is_named_alone(original, tmp_path):
    _, paths = original
    gone = str(tmp_path / "moved" / "evidence_z-0200.tif")
    with pytest.raises(Mpm3dError, match=rf"^EVIDENCE: the slice {re.escape(gone)} does not exist: check the path") \
            as error:
        read_slices(paths["evidence"][:2] + [gone] + paths["evidence"][3:])
    assert paths["evidence"][0] not in str(error.value)
    gone_label = str(tmp_path / "label_z-0200.tif")
    with pytest.raises(Mpm3dError, match=rf"^LABELS: the slice {re.escape(gone_label)} does not exist"):
        read_slices(paths["evidence"], label_paths=paths["labels"][:2] + [gone_label] + paths["labels"][3:])
    with pytest.raises(Mpm3dError, match=r"^LABEL_SLICES: the slice .*label_z-0200\.tif does not exist \(and 1 more "
                                         r"of the 5\)"):
        read_label_slices(paths["labels"][:2] + [gone_label, gone] + paths["labels"][4:],
                          read_slices(paths["evidence"]).grid, "LABEL_SLICES", "the cube")


@pytest.mark.parametrize("bands, shown", [
    (["Au g/t", "Au-g/t"], r"'Au g/t' and 'Au-g/t' both become 'Au_g_t'"),
    (["label", "label_"], r"'label' and 'label_' both become 'label_'"),
], ids=["punctuation", "a-reserved-name"])
def test_band_names_that_become_one_netcdf_name_are_refused_naming_evidence_before_reading(original, tmp_path,
                                                                                            bands, shown):
    _, paths = original

    def describe(ds):
        for index, name in enumerate(bands):
            ds.GetRasterBand(index + 1).SetDescription(name)

    renamed = rewrite_all(paths["evidence"], tmp_path / "renamed", after=describe)
    with pytest.raises(Mpm3dError, match=rf"^EVIDENCE slice evidence_z-0100\.tif: band names must stay distinct as "
                                         rf"NetCDF variable names, .*\({shown}\); give the bands descriptions"):
        read_slices(renamed)


@pytest.mark.parametrize("typed_elevations", [False, True], ids=["elevations-from-names", "elevations-typed"])
def test_a_slice_given_twice_is_named_once_as_given_twice(original, typed_elevations):
    """Once a duplicate elevation, or (with ELEVATIONS typed) silently stacked as two levels of one slice."""
    _, paths = original
    evidence = paths["evidence"] + [os.path.join(os.path.dirname(paths["evidence"][1]), ".",
                                                 os.path.basename(paths["evidence"][1]))]  # another spelling
    name = os.path.basename(paths["evidence"][1])
    elevations = [-100.0 - 50 * level for level in range(len(evidence))] if typed_elevations else None
    with pytest.raises(Mpm3dError, match=rf"^EVIDENCE: the slice {re.escape(name)} is given twice \(at positions 2 "
                                         rf"and {len(evidence)} of the {len(evidence)}\): give each level's slice "
                                         r"once\.$"):
        read_slices(evidence, elevations)
    labels = paths["labels"][:-1] + [paths["labels"][0]]  # as many labels as levels, one of them twice
    with pytest.raises(Mpm3dError, match=r"^LABELS: the slice label_z-0100\.tif is given twice \(at positions 1 and "):
        read_slices(paths["evidence"], label_paths=labels)
