"""Depth slices from other software, through 'Stack depth slices', 'Export cube to depth slices' and
'Evaluate prospectivity': rotated, south-up, undeclared nodata placeholders, close levels, a CRS spelt
another way, a missing file. A refusal names the parameter and what to do; the input files stay unchanged."""

import glob
import hashlib
import os
import re

import numpy as np
import pytest
from algorithm_calls import fails as _fails
from algorithm_calls import run as _run
from bad_input import Recorder
from osgeo import gdal, osr
from raster_copies import rewrite, rewrite_all

F32_LOWEST = float(np.finfo(np.float32).min)


def _sums(paths):
    return {path: hashlib.sha256(open(path, "rb").read()).hexdigest() for path in paths}



def _stack(evidence, output, labels=None, feedback=None):
    parameters = {"EVIDENCE": evidence, "OUTPUT": output}
    if labels:
        parameters["LABELS"] = labels
    return _run("mpm3d:stack_slices", parameters, feedback)["OUTPUT"]


def _same_cube(a, b):
    from mpm3d.core.data.cubefile import read_cube

    a, b = read_cube(a), read_cube(b)
    assert np.array_equal(a.features, b.features, equal_nan=True) and a.feature_names == b.feature_names
    assert np.array_equal(a.label, b.label)
    for axis in "xyz":
        assert np.array_equal(getattr(a.grid, axis), getattr(b.grid, axis)), axis


@pytest.fixture(scope="module")
def slices(synthetic_slices):
    return synthetic_slices["SOURCE_EVIDENCE"], synthetic_slices["SOURCE_LABELS"]


@pytest.fixture(scope="module")
def north_up(slices, tmp_path_factory):
    """The cube of the slices as generated (north-up, nodata declared)."""
    return _stack(*slices[:1], tmp_path_factory.mktemp("north_up") / "cube.nc", slices[1])


def _rotate(ds):
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    ds.SetGeoTransform((x0, dx * 0.96, 7.0, y0, 7.0, dy * 0.96))


def test_rotated_slices_are_refused_and_left_unchanged(slices, tmp_path):
    rotated = rewrite_all(slices[0], tmp_path / "rotated", after=_rotate)
    before = _sums(rotated)
    _fails("mpm3d:stack_slices", {"EVIDENCE": rotated, "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"EVIDENCE slice evidence_z-0100\.tif is rotated \(geotransform rotation terms 7 and 7\); mpm3d stacks "
           r"north-up grids only.*gdalwarp .*without -t_srs.*Raster > Projections > Warp \(Reproject\)")
    assert _sums(rotated) == before and not (tmp_path / "out").exists()


def test_south_up_and_east_to_west_slices_stack_to_the_same_cube(slices, north_up, tmp_path):
    evidence, labels = slices
    south_up = rewrite_all(evidence, tmp_path / "south_up", rows=True)
    south_up_labels = rewrite_all(labels, tmp_path / "south_up_labels", rows=True)
    assert gdal.Open(south_up[0]).GetGeoTransform()[5] > 0
    before = _sums(south_up + south_up_labels)
    _same_cube(_stack(south_up, tmp_path / "south_up.nc", south_up_labels), north_up)
    east_to_west = rewrite(evidence[3], tmp_path / "west" / os.path.basename(evidence[3]), columns=True)
    mixed = [s if i % 2 else e for i, (e, s) in enumerate(zip(evidence, south_up, strict=True))]
    mixed[3] = east_to_west
    mixed_labels = [e if i % 2 else s for i, (e, s) in enumerate(zip(labels, south_up_labels, strict=True))]
    _same_cube(_stack(mixed, tmp_path / "mixed.nc", mixed_labels), north_up)
    assert _sums(south_up + south_up_labels) == before


def test_undeclared_placeholders_become_nodata_with_one_warning_per_band(slices, tmp_path):
    from mpm3d.core.data.cubefile import read_cube

    evidence = slices[0]

    def lowest(index, array):
        if index == 2:
            array = array.astype(np.float32)
            array[3:6, 4:8] = F32_LOWEST
        return array

    odd = rewrite_all(evidence[:4], tmp_path / "odd", change=lowest) + evidence[4:]
    first = gdal.Open(evidence[0])  # kept alive while its band is used
    band = first.GetRasterBand(3).GetDescription()
    before, feedback = _sums(odd), Recorder()
    cube = read_cube(_stack(odd, tmp_path / "cube.nc", feedback=feedback))
    about = [w for w in feedback.warnings if "-3.4028235e+38" in w]
    assert len(about) == 1, feedback.warnings
    assert re.search(rf"^EVIDENCE band '{band}': 48 voxels in 4 slice\(s\) \(evidence_z-0100\.tif, evidence_z-0150"
                     r"\.tif, evidence_z-0200\.tif and 1 more\) hold -3\.4028235e\+38, a nodata placeholder .*treated "
                     r"as nodata\. Declare it in the files \(gdal_edit\.py -a_nodata -3\.4028235e\+38 <file>", about[0])
    assert np.isnan(cube.features[2, :4, 3:6, 4:8]).all() and np.nanmin(cube.features[2]) > -1e30
    assert _sums(odd) == before


def test_an_undeclared_minus_9999_is_kept_with_a_warning(slices, north_up, tmp_path):
    from mpm3d.core.data.cubefile import read_cube

    undeclared = rewrite_all(slices[0], tmp_path / "undeclared", undeclare=True)
    before, feedback = _sums(undeclared), Recorder()
    cube = read_cube(_stack(undeclared, tmp_path / "cube.nc", feedback=feedback))
    nodata = np.isnan(read_cube(north_up).features)
    warned = [w for w in feedback.warnings if "the value -9999 fills" in w]
    assert len(warned) == sum(bool(band.any()) for band in nodata) > 0, feedback.warnings
    name, count = cube.feature_names[0], int(nodata[0].sum())
    assert any(re.search(rf"^EVIDENCE band '{name}': the value -9999 fills {count} voxels .* in \d+ slice\(s\) "
                         r"\(evidence_z-.*robust standard deviations.*declare it \(gdal_edit\.py -a_nodata -9999 ",
                         w) for w in warned), warned
    assert (cube.features[nodata] == -9999).all() and _sums(undeclared) == before


def _esri(ds):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4528)
    srs.MorphToESRI()
    ds.SetProjection(srs.ExportToWkt())


def test_a_crs_written_as_esri_wkt_stacks_and_another_crs_is_named(slices, north_up, tmp_path):
    evidence, labels = slices
    esri = rewrite(evidence[2], tmp_path / "esri" / os.path.basename(evidence[2]), after=_esri)
    _same_cube(_stack(evidence[:2] + [esri] + evidence[3:], tmp_path / "esri.nc", labels), north_up)
    zone_39 = rewrite(evidence[2], tmp_path / "zone39" / os.path.basename(evidence[2]), outputSRS="EPSG:4527")
    before = _sums([esri, zone_39])
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence[:2] + [zone_39] + evidence[3:],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"EVIDENCE slice evidence_z-0200\.tif does not match evidence_z-0100\.tif: CRS \(CGCS2000 / 3-degree "
           r"Gauss-Kruger zone 39 \(EPSG:4527\) vs CGCS2000 / 3-degree Gauss-Kruger zone 40 \(EPSG:4528\) in "
           r"evidence_z-0100\.tif; if both mean the same CRS, assign .*gdal_edit\.py -a_srs")
    assert _sums([esri, zone_39]) == before and not (tmp_path / "out").exists()


def test_a_missing_slice_is_named_alone(slices, tmp_path):
    evidence = slices[0]
    gone = str(tmp_path / "moved" / "evidence_z-0200.tif")
    message = _fails("mpm3d:stack_slices", {"EVIDENCE": evidence[:2] + [gone] + evidence[3:],
                                            "OUTPUT": tmp_path / "out" / "cube.nc"},
                     rf"EVIDENCE: the slice {re.escape(gone)} does not exist: check the path")
    assert evidence[0] not in message


@pytest.mark.parametrize("spacing", [2.5, 0.04])
def test_close_levels_export_one_file_each_and_come_back(north_up, tmp_path, spacing):
    """Export writes one file per level, stacking them rebuilds the levels, evaluation takes the label slices."""
    from mpm3d.core.data.cubefile import read_cube, save_cube, write_cube
    from mpm3d.core.results.metrics import labelled_scores, roc_auc

    cube = read_cube(north_up)
    cube.grid.z = -1.25 - spacing * np.arange(len(cube.grid.z))  # -1.25, -3.75 ... were once 'z-0001.2', 'z-0003.8'
    close = save_cube(str(tmp_path / "close.nc"), cube)
    written = _run("mpm3d:export_slices", {"CUBE": close, "PREFIX": "close", "OUTPUT_FOLDER": tmp_path / "slices"})
    evidence = sorted(glob.glob(str(tmp_path / "slices" / "close_z*.tif")))
    labels = sorted(glob.glob(str(tmp_path / "slices" / "close_label_z*.tif")))
    assert len(evidence) == len(labels) == len(cube.grid.z) and len(written["OUTPUT_LAYERS"]) == 2 * len(evidence)
    _same_cube(_stack(evidence, tmp_path / "again.nc", labels), close)
    score = np.where(np.isfinite(cube.features[0]), cube.features[0], np.nan)
    prospectivity = write_cube(str(tmp_path / "p.nc"), cube.grid, extra={"prospectivity": score})
    result = _run("mpm3d:evaluate_prospectivity", {"PROSPECTIVITY": prospectivity, "LABEL_SLICES": labels,
                                                   "OUTPUT_REPORT": tmp_path / "evaluation.html"})
    # the label slices read back score the map as the cube's own labels do
    assert result["AUC"] == pytest.approx(roc_auc(*labelled_scores(score, cube.label)), abs=1e-9)
