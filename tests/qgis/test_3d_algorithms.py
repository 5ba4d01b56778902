"""Voxelise samples, extract targets and 3D voxels through processing in one headless QgsApplication."""

import math
import os

import numpy as np
import pytest
from osgeo import gdal, ogr

CUBE_CRS = "EPSG:4528"
GEOTRANSFORM = (40500000, 25, 0, 4130000, 0, -25)

# Samples as (column, row, level, ore flag, grade); the cut-off grade is 1, so flag and grade agree.
# Voxels with several samples tell the rules apart: (3, 2, 2) is ore only by "any", (3, 2, 0) by "any"
# and "majority" but not by mean grade.
SAMPLES = [
    (0, 0, 0, 1, 3.0),
    (2, 1, 1, 0, 0.2),
    (3, 2, 2, 1, 1.5), (3, 2, 2, 0, 0.1), (3, 2, 2, 0, 0.2),
    (1, 0, 2, 1, 5.0), (1, 0, 2, 0, 0.1),
    (3, 2, 0, 1, 1.2), (3, 2, 0, 1, 1.1), (3, 2, 0, 0, 0.0),
]
ORE_VOXELS = {
    "any": [(0, 0, 0), (2, 2, 3), (2, 0, 1), (0, 2, 3)],
    "majority": [(0, 0, 0), (2, 0, 1), (0, 2, 3)],
    "mean_grade": [(0, 0, 0), (2, 0, 1)],
}
BARREN_VOXELS = {
    "any": [(1, 1, 2)],
    "majority": [(1, 1, 2), (2, 2, 3)],
    "mean_grade": [(1, 1, 2), (2, 2, 3), (0, 2, 3)],
}


def sample_grid():
    """4 columns x 3 rows of 25 m, levels at -100, -150 and -200 m."""
    from mpm3d.core.data.grid import Grid

    return Grid.from_geotransform(CUBE_CRS, GEOTRANSFORM, 4, 3, [-100.0, -150.0, -200.0])


def write_feature_cube(path, grid):
    from mpm3d.core.data.cubefile import write_cube

    features = np.random.default_rng(0).normal(size=(2, *grid.shape)).astype(np.float32)
    features[1, 2, 0, 0] = np.nan
    write_cube(str(path), grid, features, ["distance to fault", "density"])
    return features


def sample_rows(grid):
    """(x, y, z, ore, grade) in the cube CRS: the samples off their voxel centres, two outside, one without Z."""
    rows = [(grid.x[col] + 5, grid.y[row] - 7, grid.z[level] + 10, ore, grade)
            for col, row, level, ore, grade in SAMPLES]
    rows.append((grid.x[-1] + 25, grid.y[0], grid.z[0], 1, 2.0))  # east of the grid
    rows.append((grid.x[0], grid.y[0], -300.0, 1, 2.0))  # below the deepest level
    rows.append((grid.x[1], grid.y[1], math.nan, 1, 2.0))  # no elevation
    return rows


def expected_label(grid, rule):
    label = np.full(grid.shape, -1, np.int8)
    for voxel in ORE_VOXELS[rule]:
        label[voxel] = 1
    for voxel in BARREN_VOXELS[rule]:
        label[voxel] = 0
    return label


def read_cube(path):
    from mpm3d.core.data.cubefile import CubeReader

    return CubeReader(str(path))


def test_reprojected_pointz_samples_with_ore_flags_give_the_known_labels(provider, tmp_path):
    import processing
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsFeature,
        QgsGeometry,
        QgsPoint,
        QgsPointXY,
        QgsProject,
        QgsVectorLayer,
    )

    grid = sample_grid()
    features = write_feature_cube(tmp_path / "cube.nc", grid)
    layer = QgsVectorLayer("PointZ?crs=EPSG:4490&field=ore:integer", "drill samples", "memory")
    to_geographic = QgsCoordinateTransform(QgsCoordinateReferenceSystem(CUBE_CRS),
                                           QgsCoordinateReferenceSystem("EPSG:4490"), QgsProject.instance())
    samples = []
    for x, y, z, ore, _ in sample_rows(grid):
        lonlat = to_geographic.transform(QgsPointXY(x, y))
        assert 119 < lonlat.x() < 121 and 37 < lonlat.y() < 38
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry(QgsPoint(lonlat.x(), lonlat.y(), z)))
        feature.setAttributes([ore])
        samples.append(feature)
    assert layer.dataProvider().addFeatures(samples)[0]

    result = processing.run("mpm3d:voxelise_samples", {
        "INPUT": layer, "ORE_FIELD": "ore", "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "out.nc")})

    assert (result["SAMPLES"], result["USED"], result["OUTSIDE"], result["MISSING_Z"]) == (13, 10, 2, 1)
    assert (result["ORE_VOXELS"], result["BARREN_VOXELS"]) == (4, 1)
    assert result["CRS"] == "EPSG:4490"
    out = read_cube(result["OUTPUT"])
    np.testing.assert_array_equal(out.read_label(), expected_label(grid, "any"))
    np.testing.assert_array_equal(out.read_features(), features)
    assert out.feature_names == ["distance to fault", "density"]
    np.testing.assert_allclose(out.grid.x, grid.x)


@pytest.mark.parametrize("rule_index, rule", [(0, "any"), (1, "majority"), (2, "mean_grade")])
def test_grades_with_a_cutoff_from_a_table_follow_the_rule(provider, tmp_path, rule_index, rule):
    import processing
    from qgis.core import QgsFeature, QgsVectorLayer

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    table = QgsVectorLayer("None?field=east:double&field=north:double&field=elev:double&field=au:double",
                           "assays", "memory")
    rows = []
    for x, y, z, _, grade in sample_rows(grid):
        row = QgsFeature(table.fields())
        row.setAttributes([float(x), float(y), None if math.isnan(z) else float(z), grade])
        rows.append(row)
    assert table.dataProvider().addFeatures(rows)[0]

    result = processing.run("mpm3d:voxelise_samples", {
        "INPUT": table, "X_FIELD": "east", "Y_FIELD": "north", "Z_FIELD": "elev", "SAMPLE_CRS": CUBE_CRS,
        "GRADE_FIELD": "au", "CUTOFF": 1.0, "RULE": rule_index,
        "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "out.nc")})

    assert (result["OUTSIDE"], result["MISSING_Z"], result["USED"]) == (2, 1, 10)
    assert result["CRS"] == CUBE_CRS
    np.testing.assert_array_equal(read_cube(result["OUTPUT"]).read_label(), expected_label(grid, rule))


def test_samples_without_a_crs_are_refused_naming_the_parameter(provider, tmp_path):
    import processing
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsFeature,
        QgsGeometry,
        QgsPoint,
        QgsProcessingException,
        QgsVectorLayer,
    )

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    layer = QgsVectorLayer("PointZ?field=ore:integer", "no crs", "memory")
    layer.setCrs(QgsCoordinateReferenceSystem())
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry(QgsPoint(grid.x[0], grid.y[0], grid.z[0])))
    feature.setAttributes([1])
    layer.dataProvider().addFeatures([feature])

    with pytest.raises(QgsProcessingException, match=r"INPUT.*no CRS"):
        processing.run("mpm3d:voxelise_samples", {
            "INPUT": layer, "ORE_FIELD": "ore", "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "o.nc")})
    assert not (tmp_path / "o.nc").exists()


@pytest.mark.parametrize("header, ore, fields, match", [
    ("x,y,z,ore,grade,ore", "1", {"ORE_FIELD": "ore"},
     r"^ORE_FIELD ore: the table .*samples\.csv has more than one column named ore, and QGIS reads only the first"),
    ("x,y,z,ore,grade", "yes", {"ORE_FIELD": "ore"},
     r"^ORE_FIELD ore: the feature with id \d+ holds 'yes', which is not a number"),
    ("x,y,z,ore,grade", "2", {"ORE_FIELD": "ore"},
     r"^ORE_FIELD: ore flags must be 1 \(ore\) or 0 \(barren\), but 2 was found \(1 of 2 samples\)"),
    ("x,y,z,ore,grade", "1", {"GRADE_FIELD": "Au", "CUTOFF": 1.0},
     r"^GRADE_FIELD Au is not a field of INPUT samples; its fields are: x, y, z, ore, grade\."),
], ids=["repeated-column", "text-flag", "flag-of-2", "missing-field"])
def test_a_table_whose_fields_cannot_be_read_as_asked_is_refused_by_parameter(provider, tmp_path, header, ore,
                                                                               fields, match):
    from algorithm_calls import fails

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    extra = ",0" if header.count("ore") == 2 else ""
    rows = [f"{grid.x[0]},{grid.y[0]},{grid.z[0]},{ore},2.0{extra}",
            f"{grid.x[1]},{grid.y[0]},{grid.z[0]},0,0.1{extra}"]
    (tmp_path / "samples.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    fails("mpm3d:voxelise_samples", {"INPUT": str(tmp_path / "samples.csv"), "X_FIELD": "x", "Y_FIELD": "y",
                                     "Z_FIELD": "z", "SAMPLE_CRS": CUBE_CRS, **fields,
                                     "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "out.nc")}, match)
    assert sorted(os.listdir(tmp_path)) == ["cube.nc", "samples.csv"]


def target_grid():
    """12 columns x 10 rows of 25 m, six levels 50 m apart from -100 m down."""
    from mpm3d.core.data.grid import Grid

    return Grid.from_geotransform(CUBE_CRS, GEOTRANSFORM, 12, 10, -100.0 - 50.0 * np.arange(6))


def known_bodies(grid):
    """Four bodies in a 0.1 background, best first by probability mass above a 0.5 cut: two 2x3x3 blocks (0.95
    in the east, 0.9 in the west) joined by a thin bridge of 0.6 on level 1; a 2x2x2 body of 0.8 on the two
    lowest levels (open at depth); a 2x2x2 body of 0.75 in the two easternmost columns (at the edge)."""
    p = np.full(grid.shape, 0.1, np.float32)
    p[1:3, 2:5, 7:10] = 0.95
    p[1:3, 2:5, 1:4] = 0.9
    p[1, 3, 4:7] = 0.6
    p[4:6, 7:9, 1:3] = 0.8
    p[1:3, 7:9, 10:12] = 0.75
    p[0, 0, 0] = np.nan
    return p


def loaded_layer(result, output="OUTPUT"):
    from qgis.core import QgsProject

    layers = [layer for layer in QgsProject.instance().mapLayers().values()
              if layer.id() == result[output] or layer.source().split("|")[0] == result[output]]
    assert len(layers) == 1
    return layers[0]


def test_known_bodies_become_ranked_targets_with_flags_and_footprints(provider, tmp_path):
    import processing
    from mpm3d.algorithms.qgis_enums import GEOMETRY_POLYGON, WKB_POINT_Z
    from mpm3d.algorithms.styles import PROSPECTIVITY_COLOURS, RANK_BANDS
    from mpm3d.core.data.cubefile import write_cube
    from qgis.core import NULL, QgsProcessing, QgsWkbTypes

    grid = target_grid()
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": known_bodies(grid)})
    label = np.full(grid.shape, -1, np.int8)
    label[1, 2, 1:4] = 1  # 3 known ore voxels in the western block
    label[2, 2, 1:4] = 0  # and 3 known barren ones
    label[4, 7, 1] = 0  # the body at depth: one barren voxel, no known ore
    write_cube(str(tmp_path / "labels.nc"), grid, label=label)

    result = processing.runAndLoadResults("mpm3d:extract_targets", {
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "CUT_BY": 1, "MIN_PROBABILITY": 0.5, "MIN_VOXELS": 5,
        "LABEL_CUBE": str(tmp_path / "labels.nc"), "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT,
        "OUTPUT_FOOTPRINTS": QgsProcessing.TEMPORARY_OUTPUT})

    assert result["TARGETS"] == 4
    points, footprints = loaded_layer(result), loaded_layer(result, "OUTPUT_FOOTPRINTS")
    assert points.wkbType() == WKB_POINT_Z and points.crs().authid() == CUBE_CRS
    assert QgsWkbTypes.geometryType(footprints.wkbType()) == GEOMETRY_POLYGON
    for layer in (points, footprints):
        assert layer.renderer().type() == "graduatedSymbol" and layer.renderer().classAttribute() == "rank"
        # the targets' own palette, never a colour of the prospectivity ramp
        colours = {r.symbol().color().name() for r in layer.renderer().ranges()}
        assert colours == {colour for _, _, _, colour in RANK_BANDS[:3]}
        assert not colours & set(PROSPECTIVITY_COLOURS)
    east, west, deep, edge = sorted(points.getFeatures(), key=lambda f: f["rank"])
    # The bridge joins the blocks but they are two targets; its three voxels go to one side or the other.
    assert east["centroid_x"] > grid.x[6] and west["centroid_x"] < grid.x[4]
    assert east["n_voxels"] + west["n_voxels"] == 2 * 18 + 3 and min(east["n_voxels"], west["n_voxels"]) >= 18
    assert (east["max_prob"], west["max_prob"]) == (pytest.approx(0.95), pytest.approx(0.9))
    assert east["mass_above_cut"] > west["mass_above_cut"] > deep["mass_above_cut"] > edge["mass_above_cut"]
    voxel_volume = 25 * 25 * 50
    assert (deep["n_voxels"], deep["volume_m3"], deep["top_z"], deep["bottom_z"]) == (8, 8 * voxel_volume, -300,
                                                                                      -350)
    assert deep["depth_m"] == 200 and east["depth_m"] == 50
    point = deep.geometry().constGet()
    assert (point.x(), point.y(), point.z()) == pytest.approx((grid.x[1:3].mean(), grid.y[7:9].mean(), -325))
    assert [(f["open_at_depth"], f["at_edge"]) for f in (east, west, deep, edge)] == [
        (False, False), (False, False), (True, False), (False, True)]
    assert (west["ore_share"], west["known_ore"]) == (pytest.approx(0.5), 3)
    assert (deep["ore_share"], deep["known_ore"]) == (0.0, 0)

    by_rank = {f["rank"]: f for f in footprints.getFeatures()}
    assert sorted(by_rank) == [1, 2, 3, 4]
    for feature in by_rank.values():
        geometry = feature.geometry()
        assert geometry.isGeosValid() and geometry.area() == pytest.approx(feature["footprint_m2"])
    cell = 25 * 25
    assert by_rank[3].geometry().area() == 4 * cell and by_rank[4].geometry().area() == 4 * cell
    assert by_rank[1].geometry().area() + by_rank[2].geometry().area() == (9 + 9 + 3) * cell
    assert by_rank[3].geometry().boundingBox().toRectF().getCoords() == pytest.approx(
        (grid.x[1] - 12.5, grid.y[8] - 12.5, grid.x[2] + 12.5, grid.y[7] + 12.5))

    without_labels = processing.run("mpm3d:extract_targets", {
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "CUT_BY": 1, "MIN_PROBABILITY": 0.5, "MIN_VOXELS": 10,
        "MIN_DROP": 1.0, "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT})
    (joined,) = without_labels["OUTPUT"].getFeatures()  # no splitting: the bridged blocks are one body
    assert joined["n_voxels"] == 2 * 18 + 3 and joined["ore_share"] == NULL and joined["known_ore"] == NULL


def test_the_default_cut_is_the_top_5_percent_and_the_unused_parameter_is_named(provider, tmp_path):
    import processing
    from mpm3d.core.data.cubefile import write_cube
    from qgis.core import QgsProcessing, QgsProcessingFeedback

    grid = target_grid()
    p = known_bodies(grid)
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": p})
    assert np.isfinite(p).sum() * 0.05 == pytest.approx(36, abs=1)  # the two blocks' 36 brightest voxels
    feedback = QgsProcessingFeedback()
    result = processing.run("mpm3d:extract_targets", {
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "MIN_PROBABILITY": 0.7, "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT},
        feedback=feedback)
    assert sorted(f["n_voxels"] for f in result["OUTPUT"].getFeatures()) == [18, 18]
    assert "MIN_PROBABILITY is not used: CUT_BY is 'Top percentage" in feedback.textLog(), feedback.textLog()


def test_targets_through_qgis_process_write_flags_and_footprints_to_geopackages(provider, qgis_profile, tmp_path):
    import qgis_process
    from mpm3d.core.data.cubefile import write_cube

    grid = target_grid()
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": known_bodies(grid)})
    outputs = {"OUTPUT": str(tmp_path / "targets.gpkg"), "OUTPUT_FOOTPRINTS": str(tmp_path / "footprints.gpkg")}

    run, result = qgis_process.run_algorithm("mpm3d:extract_targets", {
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "CUT_BY": 1, "MIN_PROBABILITY": 0.5, **outputs}, qgis_profile)

    assert run.returncode == 0, run.stderr[-2000:]
    assert result["results"]["TARGETS"] == 4
    layers = {name: ogr.Open(path) for name, path in outputs.items()}
    targets, footprints = (layers[name].GetLayer(0) for name in outputs)
    assert ogr.GT_HasZ(targets.GetGeomType()) and ogr.GT_Flatten(footprints.GetGeomType()) == ogr.wkbMultiPolygon
    definition = targets.GetLayerDefn()
    for flag in ("open_at_depth", "at_edge"):
        field = definition.GetFieldDefn(definition.GetFieldIndex(flag))
        assert field.GetSubType() == ogr.OFSTBoolean, flag
    flags = {f.GetField("rank"): (f.GetField("open_at_depth"), f.GetField("at_edge")) for f in targets}
    assert flags == {1: (0, 0), 2: (0, 0), 3: (1, 0), 4: (0, 1)}
    areas = {f.GetField("rank"): f.GetGeometryRef().GetArea() for f in footprints}
    assert (areas[3], areas[4]) == (4 * 625.0, 4 * 625.0) and areas[1] + areas[2] == 21 * 625.0


def graded_prospectivity(grid):
    p = np.linspace(0.0, 1.0, int(np.prod(grid.shape)), dtype=np.float32).reshape(grid.shape)
    p[0, 0, -1] = np.nan
    return p


def test_voxels_above_the_threshold_become_styled_pointz_at_level_elevations(provider, tmp_path):
    import processing
    from mpm3d.algorithms.qgis_enums import WKB_POINT_Z
    from mpm3d.core.data.cubefile import write_cube

    grid = target_grid()
    p = graded_prospectivity(grid)
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": p})
    output = str(tmp_path / "voxels.gpkg")

    result = processing.runAndLoadResults("mpm3d:voxels_3d", {
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "THRESHOLD": 0.6, "OUTPUT": output})

    above = np.argwhere(p >= 0.6)
    assert result["VOXELS"] == len(above)
    layer = loaded_layer(result)
    assert layer.wkbType() == WKB_POINT_Z and layer.featureCount() == len(above)
    assert layer.renderer().type() == "graduatedSymbol" and layer.renderer().classAttribute() == "prospectivity"
    assert len(layer.renderer().ranges()) == 5 and layer.renderer3D() is not None
    expected = {(grid.x[x], grid.y[y], grid.z[z]): p[z, y, x] for z, y, x in above}
    found = {}
    for feature in layer.getFeatures():
        point = feature.geometry().constGet()
        found[(point.x(), point.y(), point.z())] = feature["prospectivity"]
    assert found.keys() == expected.keys()
    assert all(found[key] == pytest.approx(expected[key]) for key in expected)
    assert {z for _, _, z in found} <= set(grid.z.tolist())


def test_voxels_through_qgis_process(provider, qgis_profile, tmp_path):
    import qgis_process
    from mpm3d.core.data.cubefile import write_cube

    grid = target_grid()
    p = graded_prospectivity(grid)
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": p})
    output = str(tmp_path / "voxels.gpkg")

    run, result = qgis_process.run_algorithm(
        "mpm3d:voxels_3d", {"PROSPECTIVITY": str(tmp_path / "p.nc"), "THRESHOLD": 0.9, "OUTPUT": output},
        qgis_profile)

    assert run.returncode == 0, run.stderr[-2000:]
    assert result["results"]["VOXELS"] == int((p >= 0.9).sum())
    source = ogr.Open(output)
    assert source is not None, gdal.GetLastErrorMsg()
    voxels = source.GetLayer(0)
    assert voxels.GetFeatureCount() == int((p >= 0.9).sum())
    assert ogr.GT_Flatten(voxels.GetGeomType()) == ogr.wkbPoint and ogr.GT_HasZ(voxels.GetGeomType())


def test_a_warning_reads_as_one_warning_in_qgis_process_not_as_an_error(provider, qgis_profile, tmp_path):
    import qgis_process
    from mpm3d.core.data.cubefile import write_cube

    grid = target_grid()
    write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": known_bodies(grid)})
    run = qgis_process.run(["run", "mpm3d:voxels_3d", "--", *qgis_process.parameter_arguments({
        "PROSPECTIVITY": str(tmp_path / "p.nc"), "THRESHOLD": 0.99, "OUTPUT": str(tmp_path / "voxels.gpkg")})],
        qgis_profile, timeout=120)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-2000:]
    assert text.count("No voxel reaches the threshold 0.99; the layer is empty.") == 1, text[-2000:]
    assert "WARNING:\tNo voxel reaches the threshold" in text and "ERROR" not in text, text[-2000:]


def test_samples_that_label_no_voxel_are_refused_with_the_likely_causes(provider, tmp_path):
    """Depths given as positive numbers put every sample above the cube: no empty label cube is written."""
    import processing
    from qgis.core import QgsFeature, QgsProcessingException, QgsVectorLayer

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    table = QgsVectorLayer("None?field=east:double&field=north:double&field=depth:double&field=ore:integer",
                           "samples", "memory")
    rows = []
    for x, y, z, ore, _ in sample_rows(grid):
        row = QgsFeature(table.fields())
        row.setAttributes([float(x), float(y), None if math.isnan(z) else -float(z), ore])
        rows.append(row)
    assert table.dataProvider().addFeatures(rows)[0]
    with pytest.raises(QgsProcessingException, match=r"INPUT: none of the 13 samples labels a voxel of the CUBE "
                                                     r"\(12 outside its grid, 1 without Z.*Z is an elevation in "
                                                     r"metres, positive up"):
        processing.run("mpm3d:voxelise_samples", {
            "INPUT": table, "X_FIELD": "east", "Y_FIELD": "north", "Z_FIELD": "depth", "SAMPLE_CRS": CUBE_CRS,
            "ORE_FIELD": "ore", "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "out.nc")})
    assert sorted(os.listdir(tmp_path)) == ["cube.nc"]


def test_a_cutoff_with_an_ore_flag_field_is_refused_naming_both(provider, tmp_path):
    """Ignored once: a user who types a cut-off thinks of grades, and flags read as grades at a cut-off of 2 would
    make every ore sample barren, so neither reading can be taken silently."""
    from algorithm_calls import fails

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    (tmp_path / "samples.csv").write_text(f"x,y,z,ore\n{grid.x[0]},{grid.y[0]},{grid.z[0]},1\n", encoding="utf-8")
    fails("mpm3d:voxelise_samples", {"INPUT": str(tmp_path / "samples.csv"), "X_FIELD": "x", "Y_FIELD": "y",
                                     "Z_FIELD": "z", "SAMPLE_CRS": CUBE_CRS, "ORE_FIELD": "ore", "CUTOFF": 2.0,
                                     "CUBE": str(tmp_path / "cube.nc"), "OUTPUT": str(tmp_path / "out.nc")},
          r"^CUTOFF 2 was given with ORE_FIELD ore: ore flags \(1 ore, 0 barren\) take no cut-off, and a cut-off "
          r"would read the field as grades.*give ore as GRADE_FIELD with CUTOFF; for ore flags, leave CUTOFF empty\.$")
    assert sorted(os.listdir(tmp_path)) == ["cube.nc", "samples.csv"]


def test_columns_that_differ_only_in_case_clash_in_the_delimited_text_reader_alone(provider, tmp_path):
    """QGIS's delimited-text reader renames au beside Au to au_1 and finds Au when asked for au: refused, saying
    why. The OGR reader (a CSV given by its path) keeps them apart, as NetCDF names are: au is read as au."""
    from algorithm_calls import fails, run
    from mpm3d.core.data.cubefile import CubeReader
    from qgis.core import QgsVectorLayer

    grid = sample_grid()
    write_feature_cube(tmp_path / "cube.nc", grid)
    path = tmp_path / "samples.csv"
    path.write_text(f"x,y,z,Au,au\n{grid.x[0]},{grid.y[0]},{grid.z[0]},0.1,3.0\n", encoding="utf-8")
    layer = QgsVectorLayer(f"file://{path}?delimiter=,&xField=x&yField=y&zField=z&crs={CUBE_CRS}", "s",
                           "delimitedtext")
    assert layer.fields().names() == ["x", "y", "z", "Au", "au_1"]
    parameters = {"GRADE_FIELD": "au", "CUTOFF": 1.0, "CUBE": str(tmp_path / "cube.nc"),
                  "OUTPUT": str(tmp_path / "out.nc")}
    fails("mpm3d:voxelise_samples", {"INPUT": layer, **parameters},
          r"^GRADE_FIELD au: the table .*samples\.csv has more than one column named au \(QGIS's delimited-text "
          r"reader takes names that differ only in case for one: it renames the second to au_1 and finds the first "
          r"under either spelling\)")
    assert not (tmp_path / "out.nc").exists()
    result = run("mpm3d:voxelise_samples", {"INPUT": str(path), "X_FIELD": "x", "Y_FIELD": "y", "Z_FIELD": "z",
                                            "SAMPLE_CRS": CUBE_CRS, **parameters})
    assert result["ORE_VOXELS"] == 1  # au = 3.0 >= 1, where Au (0.1) would have made it barren
    assert CubeReader(result["OUTPUT"], "OUTPUT").read_label()[0, 0, 0] == 1


def test_a_map_that_ranks_nothing_is_refused_by_top_percent_and_ties_are_named(provider, tmp_path):
    """A constant map kept the whole volume as one target while the log said 'the top 5 %'."""
    import processing
    from algorithm_calls import fails
    from mpm3d.core.data.cubefile import write_cube
    from qgis.core import QgsProcessing, QgsProcessingFeedback

    grid = target_grid()
    write_cube(str(tmp_path / "flat.nc"), grid, extra={"prospectivity": np.full(grid.shape, 0.42, np.float32)})
    fails("mpm3d:extract_targets", {"PROSPECTIVITY": str(tmp_path / "flat.nc"), "CUT_BY": 0, "TOP_PERCENT": 5,
                                    "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT},
          r"TOP_PERCENT 5: every voxel with a prediction has the same prospectivity \(0\.42\), so no top 5 % can be "
          r"told from the rest")
    saturated = np.full(grid.shape, 0.1, np.float32)
    saturated[:3] = 1.0  # half the volume at 1.0
    write_cube(str(tmp_path / "saturated.nc"), grid, extra={"prospectivity": saturated})
    feedback = QgsProcessingFeedback()
    processing.run("mpm3d:extract_targets", {"PROSPECTIVITY": str(tmp_path / "saturated.nc"), "CUT_BY": 0,
                                             "TOP_PERCENT": 5, "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT},
                   feedback=feedback)
    assert "TOP_PERCENT 5: 50.0 % of the volume has a prospectivity of at least 1" in feedback.textLog()
