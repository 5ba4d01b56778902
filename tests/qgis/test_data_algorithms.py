"""Generate, stack and export through processing.run in one headless QgsApplication."""

import json
import os
import subprocess

import numpy as np
import pytest
from osgeo import gdal, osr


def test_generated_slices_are_georeferenced_and_named_by_elevation(synthetic_slices):
    evidence = synthetic_slices["SOURCE_EVIDENCE"]
    assert len(evidence) == 8 and len(synthetic_slices["TARGET_LABELS"]) == 8
    ds = gdal.Open(evidence[0])
    srs = osr.SpatialReference(ds.GetProjection())
    srs.AutoIdentifyEPSG()
    assert srs.GetAuthorityCode(None) == "4528"
    names = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
    assert ds.RasterCount >= 8 and len(set(names)) == ds.RasterCount and "" not in names
    assert (ds.RasterXSize, ds.RasterYSize) == (28, 24) and ds.GetGeoTransform()[1] == 25
    assert os.path.basename(evidence[0]).startswith("evidence_z-") and evidence[0].endswith(".tif")
    assert 0.003 < synthetic_slices["SOURCE_ORE_FRACTION"] < 0.15


def _stack(slices, key, folder, with_labels=True):
    import processing

    params = {"EVIDENCE": slices[f"{key}_EVIDENCE"], "OUTPUT": os.path.join(folder, f"{key.lower()}.nc")}
    if with_labels:
        params["LABELS"] = slices[f"{key}_LABELS"]
    return processing.run("mpm3d:stack_slices", params)


def test_slices_to_cube_to_slices_reproduces_every_pixel(synthetic_slices, tmp_path):
    import processing

    result = _stack(synthetic_slices, "SOURCE", str(tmp_path))
    cube = result["OUTPUT"]
    assert result["LEVELS"] == 8
    info = json.loads(subprocess.run(["gdalmdiminfo", cube], capture_output=True, text=True, check=True).stdout)
    first = gdal.Open(synthetic_slices["SOURCE_EVIDENCE"][0])
    x0, dx, _, y0, _, dy = first.GetGeoTransform()
    root = gdal.OpenEx(cube, gdal.OF_MULTIDIM_RASTER).GetRootGroup()
    x = root.OpenMDArray("x").ReadAsArray()
    y = root.OpenMDArray("y").ReadAsArray()
    z = root.OpenMDArray("z").ReadAsArray()
    assert np.abs(x - (x0 + dx * (np.arange(first.RasterXSize) + 0.5))).max() < 0.01
    assert np.abs(y - (y0 + dy * (np.arange(first.RasterYSize) + 0.5))).max() < 0.01
    elevations = sorted((float(p.rsplit("_z", 1)[1][:-4]) for p in synthetic_slices["SOURCE_EVIDENCE"]),
                        reverse=True)
    assert z.tolist() == elevations
    assert {"x", "y", "z", "label", "valid"} <= set(info["arrays"])

    back = processing.run("mpm3d:export_slices", {"CUBE": cube, "OUTPUT_FOLDER": str(tmp_path / "back")})
    written = {os.path.basename(p): p for p in back["OUTPUT_LAYERS"]}
    for original in synthetic_slices["SOURCE_EVIDENCE"] + synthetic_slices["SOURCE_LABELS"]:
        kind = "source_label" if "label" in os.path.basename(original) else "source"
        tag = os.path.basename(original).rsplit("_", 1)[1]
        copy = gdal.Open(written[f"{kind}_{tag}"])
        ds = gdal.Open(original)
        assert copy.GetGeoTransform() == ds.GetGeoTransform()
        for band in range(1, ds.RasterCount + 1):
            a = ds.GetRasterBand(band).ReadAsArray()
            b = copy.GetRasterBand(band).ReadAsArray()
            np.testing.assert_array_equal(a, b)
            assert copy.GetRasterBand(band).GetDescription() == ds.GetRasterBand(band).GetDescription()


def test_a_slice_on_another_grid_is_named_in_the_error(synthetic_slices, tmp_path):
    from qgis.core import QgsProcessingException

    evidence = list(synthetic_slices["TARGET_EVIDENCE"])
    odd = str(tmp_path / "odd_z-9999.tif")
    gdal.Translate(odd, evidence[2], xRes=50, yRes=50)
    with pytest.raises(QgsProcessingException, match=r"odd_z-9999\.tif.*pixel size"):
        _stack({"TARGET_EVIDENCE": evidence + [odd]}, "TARGET", str(tmp_path), with_labels=False)
    assert not os.path.exists(tmp_path / "target.nc")


def test_stacking_through_qgis_process(synthetic_slices, qgis_profile, tmp_path):
    import qgis_process

    output = str(tmp_path / "target.nc")
    run, result = qgis_process.run_algorithm(
        "mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["TARGET_EVIDENCE"], "OUTPUT": output}, qgis_profile)
    assert run.returncode == 0, run.stderr[-2000:]
    assert result["results"]["OUTPUT"] == output and result["results"]["LEVELS"] == 8
    assert os.path.getsize(output) > 0
    root = gdal.OpenEx(output, gdal.OF_MULTIDIM_RASTER).GetRootGroup()
    assert root.OpenMDArray("z").ReadAsArray().shape == (8,)
