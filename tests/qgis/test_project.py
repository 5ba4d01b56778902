"""The results as a geologist opens them: GeoPackages that carry their own styles (2D, labels, 3D), and a
project that shows one map at a time, the targets on top and a saved 3D view."""

import gc
import os
import sys
import zipfile

import numpy as np
import pytest
from test_3d_algorithms import known_bodies, target_grid

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts")
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def outputs(provider, tmp_path_factory):
    """Two methods' level rasters, and the targets and voxels of the first, written as GeoPackages."""
    import processing
    from mpm3d.core.jobs import write_prospectivity

    folder = tmp_path_factory.mktemp("results")
    grid = target_grid()
    p = known_bodies(grid)
    levels = {}
    for method, maps in (("dann_cta", {"prospectivity": p, "uncertainty": np.full(grid.shape, 0.05, np.float32)}),
                         ("rf", {"prospectivity": np.clip(p + 0.05, 0, 1)})):
        write_prospectivity(str(folder / f"{method}.nc"), grid, maps, str(folder / method), method)
        levels[method] = (str(folder / method), method)
    targets = processing.run("mpm3d:extract_targets", {
        "PROSPECTIVITY": str(folder / "dann_cta.nc"), "CUT_BY": 1, "MIN_PROBABILITY": THRESHOLD, "MIN_VOXELS": 5,
        "OUTPUT": str(folder / "targets.gpkg"), "OUTPUT_FOOTPRINTS": str(folder / "footprints.gpkg")})
    voxels = processing.run("mpm3d:voxels_3d", {"PROSPECTIVITY": str(folder / "dann_cta.nc"),
                                                "THRESHOLD": THRESHOLD, "OUTPUT": str(folder / "voxels.gpkg")})
    return {"folder": folder, "grid": grid, "levels": levels, "targets": targets, "voxels": voxels}


@pytest.fixture(scope="module")
def opened(outputs):
    """The GeoPackages opened afresh, as from the browser: only the styles stored in them apply."""
    sys.path.insert(0, SCRIPTS)
    from project import vector_layers

    layers = vector_layers(outputs["targets"]["OUTPUT"], outputs["targets"]["OUTPUT_FOOTPRINTS"],
                           outputs["voxels"]["OUTPUT"])
    yield layers
    layers.clear()  # deleted while QGIS runs: layers with 3D renderers outliving it crash the interpreter's exit
    gc.collect()


def rules_3d(layer) -> list[dict]:
    """The layer's 3D rules as its style stores them (3.22's bindings hand back only the base classes):
    filter, shape, shape properties, altitude clamping, transform matrix and diffuse colour of each."""
    import xml.etree.ElementTree as ET

    from qgis.core import QgsReadWriteContext
    from qgis.PyQt.QtXml import QDomDocument

    renderer = layer.renderer3D()
    assert renderer is not None and renderer.type() == "rulebased"
    document = QDomDocument()
    element = document.createElement("renderer")
    document.appendChild(element)
    renderer.writeXml(element, QgsReadWriteContext())
    rules = []
    for rule in ET.fromstring(document.toString()).iter("rule"):
        symbol = rule.find("symbol")
        properties = {o.get("name"): o.get("value") for o in symbol.find("shape-properties").iter("Option")
                      if o.get("name")}
        transform = symbol.find("transform")
        rules.append({"filter": rule.get("filter"), "shape": symbol.get("shape"), "properties": properties,
                      "clamping": symbol.find("data").get("alt-clamping"),
                      "matrix": transform.get("matrix") if transform is not None else None,
                      "diffuse": symbol.find("material").get("diffuse")})
    return rules


def test_geopackages_open_styled_with_labels_and_3d_renderers(outputs, opened):
    from mpm3d.algorithms.styles import RANK_BANDS, ramp_colour

    footprints, points, voxels = opened
    assert footprints.renderer().type() == "graduatedSymbol" and footprints.renderer().classAttribute() == "rank"
    assert footprints.labelsEnabled()
    label = footprints.labeling().settings()
    assert label.isExpression and '"rank"' in label.fieldName and '"top_z"' in label.fieldName
    assert {r.symbol().color().name() for r in points.renderer().ranges()} == {c for *_, c in RANK_BANDS[:3]}
    spheres = rules_3d(points)  # at the targets' depth, not draped on the terrain
    assert [rule["filter"] for rule in spheres] == [
        '"rank" >= 1 AND "rank" <= 1', '"rank" >= 2 AND "rank" <= 3', '"rank" >= 4 AND "rank" <= 5']
    assert {(r["shape"], r["clamping"], float(r["properties"]["radius"])) for r in spheres} == {
        ("sphere", "absolute", 1.5 * 25.0)}
    # the voxels: five classes from the threshold up, coloured as the level rasters colour their middles
    ranges = voxels.renderer().ranges()
    assert [(r.lowerValue(), r.upperValue()) for r in ranges] == [
        pytest.approx((low, low + 0.1)) for low in (0.5, 0.6, 0.7, 0.8, 0.9)]
    assert ranges[0].symbol().color().name() == ramp_colour(0.55).name()
    boxes = rules_3d(voxels)
    assert len(boxes) == 5 and {(r["shape"], r["clamping"], r["properties"]["size"]) for r in boxes} == {
        ("cube", "absolute", "1")}
    # boxes of the true cell size: 25 m east, 50 m between levels (the 3D scene's y is up), 25 m north
    assert {r["matrix"] for r in boxes} == {"25 0 0 0 0 50 0 0 0 0 25 0 0 0 0 1"}
    # r,g,b,a (QGIS 3.40 appends the colour's own spec after them: ",rgb:0.18,0.61,0.52,1")
    assert boxes[0]["diffuse"].split(",")[:4] == [str(c) for c in ramp_colour(0.55).getRgb()]


def test_the_project_shows_one_map_at_a_time_the_targets_on_top_and_a_3d_view(outputs, opened, tmp_path):
    from mpm3d.core.jobs import MAP_OUTPUTS  # noqa: F401 - the maps the groups follow
    from project import SCENE_VIEW, build_project
    from qgis._3d import Qgs3DMapSettings
    from qgis.core import QgsMapLayerLegendUtils, QgsProject, QgsReadWriteContext
    from qgis.PyQt.QtXml import QDomDocument

    footprints, points, voxels = opened
    path = str(tmp_path / "project.qgz")
    build_project(path, outputs["levels"], "dann_cta", [footprints, points, voxels],
                  scene_layers=[footprints, points, voxels], off_in_2d=[voxels])
    project = QgsProject()
    assert project.read(path)
    root = project.layerTreeRoot()
    assert [child.name() for child in root.children()] == ["Targets", "Prospectivity maps"]
    in_2d = {node.name(): node.isVisible() for node in root.findGroup("Targets").findLayers()}
    assert in_2d == {"Target footprints": True, "Exploration targets": True, "Prospectivity voxels (3D)": False}
    maps = root.findGroup("Prospectivity maps")
    assert maps.isMutuallyExclusive() and [g.name() for g in maps.children()] == ["dann_cta", "rf"]
    shown = [node.name() for node in maps.findLayers() if node.isVisible()]
    assert shown == ["dann_cta z -100 m"]  # the top level of the shown method's prospectivity, nothing else
    method = maps.findGroup("dann_cta")
    assert method.isMutuallyExclusive() and method.children()[0].name() == "dann_cta prospectivity"
    levels = method.children()[0]
    assert levels.isMutuallyExclusive() and len(levels.children()) == 6
    assert QgsMapLayerLegendUtils.legendNodeUserLabel(levels.children()[0], 0) == "prospectivity"
    assert QgsMapLayerLegendUtils.legendNodeUserLabel(method.children()[1].children()[0], 0) == "uncertainty"

    with zipfile.ZipFile(path) as archive:
        text = archive.read(next(n for n in archive.namelist() if n.endswith(".qgs"))).decode()
    document = QDomDocument()
    assert document.setContent(text)[0]
    view = document.documentElement().firstChildElement("mapViewDocks3D").firstChildElement("view")
    assert view.attribute("name") == SCENE_VIEW
    settings = Qgs3DMapSettings()
    context = QgsReadWriteContext()
    settings.readXml(view.firstChildElement("qgis3d"), context)  # what QGIS desktop runs on opening the view
    settings.resolveReferences(project)
    assert {layer.name() for layer in settings.layers()} == {
        "Target footprints", "Exploration targets", "Prospectivity voxels (3D)"}
    assert settings.crs() == project.crs() and settings.terrainVerticalScale() == 1.0
    grid = outputs["grid"]
    assert settings.origin().x() == pytest.approx(grid.x.mean()) and settings.origin().y() == pytest.approx(
        grid.y.mean())
    camera = view.firstChildElement("camera")
    assert float(camera.attribute("elev")) == pytest.approx(grid.z.mean())  # looking at the middle of the volume
    assert float(camera.attribute("dist")) > grid.z.max() - grid.z.min()
