"""Bad input at stacking: slices that do not match, elevations, labels and evidence values.

Every mistake ends in a message that names the parameter (or layer) and what to do, never a traceback;
no partial output is left behind, and an earlier good output survives a failed or cancelled run."""

import os

import numpy as np
import pytest
from algorithm_calls import fails as _fails
from bad_input import (
    Recorder,
    band_name,
    copy_raster,
    copy_rasters,
    derived_cube,
    qgis_process_fails,
    shifted_bounds,
    stack,
    train_parameters,
)
from file_state import tree

# --- Stacking: slices on different grids, elevations, levels -------------------------------------------------

def _rename_first_band(ds):
    ds.GetRasterBand(1).SetDescription("renamed")


MISMATCHES = {
    "crs": ({"outputSRS": "EPSG:32650"}, r"CRS \("),
    "pixel size": ({"xRes": 50, "yRes": 50}, r"pixel size \("),
    "extent": ({"bounds_shift": 100}, r"extent/origin \("),
    "raster size": ({"srcWin": [0, 0, 20, 24]}, r"raster size \(20 x 24 vs 28 x 24\)"),
    "band count": ({"bandList": [1, 2, 3]}, r"band count \(3 vs \d+\)"),
    "band names": ({"after": _rename_first_band}, r"band names \("),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_a_slice_that_does_not_match_is_named_with_what_differs(synthetic_slices, tmp_path, case):
    options, what = MISMATCHES[case]
    evidence = synthetic_slices["SOURCE_EVIDENCE"]
    options = dict(options)
    if "bounds_shift" in options:
        options["outputBounds"] = shifted_bounds(evidence[2], options.pop("bounds_shift"))
    odd = copy_raster(evidence[2], tmp_path / "odd_z-9999.tif", **options)
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [odd], "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"EVIDENCE slice odd_z-9999\.tif does not match evidence_z-\d+\.tif: .*{what}.*warp or rewrite it")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("elevations, match", [
    ("-100,-100,-200,-250,-300,-350,-400,-450", r"Duplicate elevation -100 m: EVIDENCE slices .*ELEVATIONS"),
    ("-100,-150,abc", r"ELEVATIONS must be numbers of metres separated by commas .* got '-100,-150,abc'"),
    ("-100,-150", r"ELEVATIONS gives 2 elevations for 8 EVIDENCE slices: give one per slice"),
    ("nan,-150,-200,-250,-300,-350,-400,-450", r"elevation of EVIDENCE slice .* is nan: give a finite number"),
    ("100,150,200,250,300,350,400,450", r"^ELEVATIONS are the elevations in the EVIDENCE slice names with the sign "
                                        r"turned \(slice evidence_z-0100\.tif is named for -100 m, ELEVATIONS gives "
                                        r"100 m\): elevations are metres positive up"),
], ids=["duplicate", "not-a-number", "too-few", "nan", "depths-for-elevations"])
def test_bad_elevations_are_refused(synthetic_slices, tmp_path, elevations, match):
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"], "ELEVATIONS": elevations,
                                  "OUTPUT": tmp_path / "out" / "cube.nc"}, match)
    assert not (tmp_path / "out").exists()


def test_slices_with_one_elevation_twice_or_none_in_the_name(synthetic_slices, tmp_path):
    evidence = synthetic_slices["SOURCE_EVIDENCE"]
    again = copy_raster(evidence[0], tmp_path / ("again_" + os.path.basename(evidence[0])))
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [again], "OUTPUT": tmp_path / "a.nc"},
           r"Duplicate elevation -?\d+ m: EVIDENCE slices evidence_z.*again_evidence_z.*give each level its own")
    unnamed = copy_raster(evidence[0], tmp_path / "evidence_top.tif")
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence[1:] + [unnamed], "OUTPUT": tmp_path / "b.nc"},
           r"No elevation in the file name of evidence_top\.tif.*ELEVATIONS")
    assert tree(tmp_path) == sorted(["again_" + os.path.basename(evidence[0]), "evidence_top.tif"])


def test_a_single_level_is_not_a_cube(synthetic_slices, tmp_path):
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"][:1], "OUTPUT": tmp_path / "cube.nc"},
           r"EVIDENCE holds 1 slice\(s\); a cube needs at least 3 levels.*give one raster per depth level")
    assert tree(tmp_path) == []


def test_an_existing_cube_is_replaced_only_on_success(synthetic_slices, tmp_path):
    from mpm3d.core.data.cubefile import CubeReader

    cube = tmp_path / "cube.nc"
    cube.write_bytes(b"earlier cube")
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"][:2], "OUTPUT": cube},
           "at least 3 levels")
    assert cube.read_bytes() == b"earlier cube" and tree(tmp_path) == ["cube.nc"]
    stack(synthetic_slices["SOURCE_EVIDENCE"], cube)
    assert CubeReader(str(cube)).grid.shape[0] == 8 and tree(tmp_path) == ["cube.nc"]


def test_uneven_levels_are_stacked_with_a_warning_and_an_attribute(synthetic_slices, tmp_path):
    from mpm3d.core.data.cubefile import CubeReader

    evidence = synthetic_slices["SOURCE_EVIDENCE"]
    feedback = Recorder()
    uneven = stack(evidence[:3] + evidence[4:], tmp_path / "uneven.nc", feedback=feedback)["OUTPUT"]
    assert any("not evenly spaced (gaps from 50 to 100 m)" in w for w in feedback.warnings), feedback.warnings
    attrs = CubeReader(uneven).attrs
    assert attrs["mpm3d_level_spacing"] == "uneven" and "100" in attrs["mpm3d_level_gaps_m"]
    even = stack(evidence, tmp_path / "even.nc")["OUTPUT"]
    assert CubeReader(even).attrs["mpm3d_level_spacing"] == "even"


# --- Labels ------------------------------------------------------------------------------------------------

def test_labels_coded_0_1_255_without_nodata_are_refused(synthetic_slices, tmp_path):
    coded = copy_rasters(synthetic_slices["SOURCE_LABELS"], tmp_path / "coded", nodata=None,
                    change=lambda _, a: np.where(a == -1, 255, a))
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"], "LABELS": coded,
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"LABELS slice label_z-\d+\.tif holds values other than 0/1/nodata \(255\); recode .*nodata = 255")
    assert not (tmp_path / "out").exists()


def test_labels_on_another_grid_or_too_few_are_refused(synthetic_slices, tmp_path):
    labels = synthetic_slices["SOURCE_LABELS"]
    shifted = copy_raster(labels[3], tmp_path / os.path.basename(labels[3]), outputBounds=shifted_bounds(labels[3], 50))
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"],
                                  "LABELS": labels[:3] + [shifted] + labels[4:],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"LABELS slice {os.path.basename(labels[3])} is not on the grid of evidence_z.*extent.*Warp it")
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"], "LABELS": labels[:3],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"3 LABELS slices for 8 EVIDENCE slices: give one label slice per level")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("missing, recode", [("ore", {1: 0}), ("barren", {0: 1})])
def test_labels_without_ore_or_barren_warn_when_stacked_and_stop_training(synthetic_slices, tiny_cubes, tmp_path,
                                                                          missing, recode):
    (old, new), = recode.items()
    labels = copy_rasters(synthetic_slices["SOURCE_LABELS"], tmp_path / "labels", change=lambda _,
                          a: np.where(a == old, new, a))
    feedback = Recorder()
    source = stack(synthetic_slices["SOURCE_EVIDENCE"], tmp_path / "source.nc", labels, feedback)["OUTPUT"]
    assert any(f"LABELS slices mark no {missing}" in w for w in feedback.warnings), feedback.warnings
    _fails("mpm3d:train_model", train_parameters(dict(tiny_cubes, source=source), tmp_path / "out"),
           rf"source cube \(SOURCE\) has no {missing} \(\d\) voxel with valid evidence.*LABELS")
    assert not (tmp_path / "out").exists()


# --- Evidence values ---------------------------------------------------------------------------------------

def test_nan_or_infinite_evidence_is_nodata_with_a_warning(synthetic_slices, tmp_path):
    from mpm3d.core.data.cubefile import read_cube

    evidence = synthetic_slices["SOURCE_EVIDENCE"]

    def poison(index, array):
        if index == 1:
            array = array.astype(np.float32)
            array[5, 5:8] = np.inf
            array[6, 5] = np.nan  # the band's nodata is -9999, so NaN is not expected either
        return array

    poisoned = copy_raster(evidence[0], tmp_path / os.path.basename(evidence[0]), change=poison)
    feedback = Recorder()
    cube = stack([poisoned] + evidence[1:], tmp_path / "cube.nc", feedback=feedback)["OUTPUT"]
    band = band_name(poisoned, 2)
    assert any(f"EVIDENCE slice {os.path.basename(poisoned)}, band '{band}': 4 NaN or infinite values" in w
               and "treated as nodata" in w for w in feedback.warnings), feedback.warnings
    valid = read_cube(cube).valid
    assert not valid[0, 5, 5:8].any() and not valid[0, 6, 5]


def test_an_all_nodata_level_warns_and_an_all_nodata_band_is_refused(synthetic_slices, tmp_path):
    evidence = synthetic_slices["SOURCE_EVIDENCE"]
    empty_level = copy_raster(evidence[4], tmp_path / "level" / os.path.basename(evidence[4]), nodata=-9999.0,
                        change=lambda _, a: np.full_like(a, -9999.0))
    feedback = Recorder()
    stack(evidence[:4] + [empty_level] + evidence[5:], tmp_path / "level.nc", feedback=feedback)
    assert any(f"EVIDENCE slice {os.path.basename(empty_level)} (level" in w and "no voxel with data" in w
               for w in feedback.warnings), feedback.warnings
    no_band = copy_rasters(evidence, tmp_path / "band", nodata=-9999.0,
                      change=lambda i, a: np.full_like(a, -9999.0) if i == 2 else a)
    name = band_name(evidence[0], 3)
    _fails("mpm3d:stack_slices", {"EVIDENCE": no_band, "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"EVIDENCE band '{name}' has no data in any slice: fix its nodata value, or remove the band")
    assert not (tmp_path / "out").exists()


def test_a_constant_feature_stops_training_naming_the_cube_and_the_feature(tiny_cubes, tmp_path):
    def constant_density(cube):
        index = cube.feature_names.index("density")
        cube.features[index][np.isfinite(cube.features[index])] = 2.7

    target = derived_cube(tmp_path / "constant.nc", tiny_cubes["target"], constant_density)
    _fails("mpm3d:train_model", train_parameters(dict(tiny_cubes, target=target), tmp_path / "out"),
           r"TARGET cube: feature 'density' has zero spread \(constant 2\.7\).*remove that band")
    assert not (tmp_path / "out").exists()




def test_qgis_process_stacking_a_mismatched_slice(synthetic_slices, qgis_profile, tmp_path):
    evidence = synthetic_slices["TARGET_EVIDENCE"]
    odd = copy_raster(evidence[2], tmp_path / "odd_z-9999.tif", xRes=50, yRes=50)
    qgis_process_fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [odd], "OUTPUT": tmp_path / "out" / "c.nc"},
                        qgis_profile, "EVIDENCE slice odd_z-9999.tif does not match", "pixel size")
    assert not (tmp_path / "out").exists()
