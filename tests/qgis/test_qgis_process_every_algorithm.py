"""Every mpm3d algorithm as a headless user meets it: ``qgis_process list`` shows each one the provider has, and
``qgis_process run`` works for the ones no other test runs that way (stack, train, predict, evaluate, compare,
targets, voxels, setup and the shipped chain are run through qgis_process in their own test files)."""

import json
import os

import numpy as np
from osgeo import gdal, ogr, osr


def _run(algorithm, parameters, profile):
    import qgis_process

    run, result = qgis_process.run_algorithm(algorithm, parameters, profile, timeout=600)
    assert run.returncode == 0 and result is not None, run.stdout[-3000:] + run.stderr[-3000:]
    return result["results"]


def test_qgis_process_lists_every_algorithm_of_the_provider(provider, qgis_profile):
    import qgis_process

    run = qgis_process.run(["--json", "list"], qgis_profile, check=True, timeout=300)
    listed = json.loads(run.stdout[run.stdout.index("{"):])["providers"]["mpm3d"]["algorithms"]
    assert set(listed) == {algorithm.id() for algorithm in provider.algorithms()}
    assert "mpm3d:prospectivity_chain" in listed and "mpm3d:import_block_model" in listed


def test_data_algorithms_run_through_qgis_process(tiny_cubes, qgis_profile, tmp_path):
    """Generate a pair, export a cube as slices and as a block model, read the block model back, voxelise drill
    samples: each through qgis_process, each output checked against what it was made from."""
    from mpm3d.core.data.cubefile import CubeReader, read_cube

    pair = _run("mpm3d:generate_synthetic_pair", {"LEVELS": 3, "ROWS": 10, "COLUMNS": 12, "CELL_SIZE": 25,
                                                  "LEVEL_SPACING": 50, "SEED": 1,
                                                  "OUTPUT_FOLDER": str(tmp_path / "pair")}, qgis_profile)
    assert len(pair["TARGET_EVIDENCE"]) == len(pair["SOURCE_EVIDENCE"]) > 0
    assert gdal.Open(pair["TARGET_EVIDENCE"][0]).RasterXSize == 12

    source = read_cube(tiny_cubes["source"])
    slices = _run("mpm3d:export_slices", {"CUBE": tiny_cubes["source"], "PREFIX": "src",
                                          "OUTPUT_FOLDER": str(tmp_path / "slices")}, qgis_profile)
    evidence = sorted(path for path in slices["OUTPUT_LAYERS"] if "_label_" not in os.path.basename(path))
    assert len(evidence) == len(source.grid.z)
    level = int(np.argmin(np.abs(np.asarray(source.grid.z) - float(evidence[0].rsplit("_z", 1)[1][:-4]))))
    first_slice = gdal.Open(evidence[0])
    band = first_slice.GetRasterBand(1)
    values = band.ReadAsArray()
    np.testing.assert_array_equal(np.where(values == band.GetNoDataValue(), np.nan, values), source.features[0, level])

    csv = str(tmp_path / "source_blocks.csv")
    exported = _run("mpm3d:export_block_model", {"CUBE": tiny_cubes["source"], "OUTPUT": csv}, qgis_profile)
    assert exported["BLOCKS"] > 0
    imported = _run("mpm3d:import_block_model", {"INPUT": csv, "CRS": source.grid.crs, "LABEL": "label",
                                                 "OUTPUT": str(tmp_path / "again.nc")}, qgis_profile)
    again = read_cube(imported["OUTPUT"])
    np.testing.assert_array_equal(again.features, source.features)
    np.testing.assert_array_equal(again.label, source.label)

    grid = CubeReader(tiny_cubes["target"]).grid
    samples = str(tmp_path / "samples.gpkg")
    layer_crs = osr.SpatialReference()
    layer_crs.SetFromUserInput(grid.crs)
    data = ogr.GetDriverByName("GPKG").CreateDataSource(samples)
    layer = data.CreateLayer("samples", layer_crs, ogr.wkbPoint25D)
    layer.CreateField(ogr.FieldDefn("ore", ogr.OFTInteger))
    x0, dx, _, y0, _, dy = grid.geotransform()
    for column, row, level, ore in ((1, 1, 0, 1), (2, 3, 1, 0), (4, 2, 2, 1)):
        feature = ogr.Feature(layer.GetLayerDefn())
        point = ogr.Geometry(ogr.wkbPoint25D)
        point.AddPoint(x0 + (column + 0.5) * dx, y0 + (row + 0.5) * dy, float(grid.z[level]))
        feature.SetGeometry(point)
        feature.SetField("ore", ore)
        layer.CreateFeature(feature)
    data = None
    labels = _run("mpm3d:voxelise_samples", {"INPUT": samples, "ORE_FIELD": "ore", "CUBE": tiny_cubes["target"],
                                             "OUTPUT": str(tmp_path / "labels.nc")}, qgis_profile)
    assert (labels["ORE_VOXELS"], labels["BARREN_VOXELS"]) == (2, 1)
    label = read_cube(labels["OUTPUT"]).label
    assert label[0, 1, 1] == 1 and label[1, 3, 2] == 0 and label[2, 2, 4] == 1
