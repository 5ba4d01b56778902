"""Styles that travel with the data and read at a glance: a .qml beside each level raster, default styles
inside GeoPackages, legends titled by what they show, and the voxels' 2D classes and 3D boxes.

Why here: a map opened from the file browser, another project or another machine must look as it does
in the project that made it, so every style an algorithm applies on loading is also written beside or
into the file.
"""

import os

import numpy as np
from osgeo import gdal
from qgis.core import (
    Qgis,
    QgsFeatureRequest,
    QgsGraduatedSymbolRenderer,
    QgsMapLayerLegendUtils,
    QgsMarkerSymbol,
    QgsRasterLayer,
    QgsRendererRange,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor, QMatrix4x4
from qgis.PyQt.QtXml import QDomDocument

from .base import PROSPECTIVITY_COLOURS, map_styler

try:  # the 3D library is an optional part of a QGIS build
    from qgis._3d import (
        Qgs3DTypes,
        QgsPhongMaterialSettings,
        QgsPoint3DSymbol,
        QgsRuleBased3DRenderer,
    )
except ImportError:
    QgsRuleBased3DRenderer = None

VOXEL_CLASSES = 5


def write_raster_styles(paths, kind: str) -> list[str]:
    """A .qml beside each level raster of one map: QGIS applies it whenever the raster is opened. Returns the
    rasters whose style could not be written (the rasters themselves are complete either way)."""
    if not paths:
        return []
    text = _raster_style_text(kind)
    if text is None:
        return list(paths)
    failed = []
    for path in paths:
        try:
            with open(os.path.splitext(path)[0] + ".qml", "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            failed.append(path)
    return failed


def _raster_style_text(kind: str) -> str | None:
    """The QML of one map's style, made on a one-pixel raster in memory: opening the user's raster to style
    it would leave a statistics file (.aux.xml) beside it."""
    carrier = f"/vsimem/mpm3d_{kind}_style.tif"
    gdal.GetDriverByName("GTiff").Create(carrier, 1, 1, 1, gdal.GDT_Float32).FlushCache()  # dropped: closed
    try:
        layer = QgsRasterLayer(carrier, kind, "gdal")
        map_styler(kind)(layer)
        document = QDomDocument("qgis")
        error = layer.exportNamedStyle(document)
        return None if error else document.toString()
    finally:
        gdal.Unlink(carrier)


def title_legend(layer, project, title: str) -> None:
    """Call the legend's heading what the map shows ("prospectivity"), not GDAL's "Band 1: ... (Gray)"."""
    node = project.layerTreeRoot().findLayer(layer.id()) if project is not None else None
    if node is not None:
        QgsMapLayerLegendUtils.setLegendNodeUserLabel(node, 0, title)


def save_default_style(layer: QgsVectorLayer) -> bool:
    """Store the layer's style in its GeoPackage as the default, so it opens styled anywhere."""
    if layer.dataProvider().name() != "ogr" or not layer.source().split("|")[0].lower().endswith(".gpkg"):
        return False
    message = layer.saveStyleToDatabase("default", "mpm3d", True, "")
    return not message


def voxel_classes(threshold: float) -> list[tuple[float, float, QColor]]:
    """(lower, upper, colour) of five equal classes from the threshold to 1, each coloured as its middle is
    on the level rasters' 0-1 ramp: a colour means the same in 2D and 3D, and no class is empty by design."""
    edges = np.linspace(threshold, 1.0, VOXEL_CLASSES + 1)
    return [(float(low), float(high), ramp_colour((low + high) / 2)) for low, high in zip(edges, edges[1:],
                                                                                          strict=True)]


def ramp_colour(value: float) -> QColor:
    """The prospectivity ramp's colour at ``value`` in [0, 1] (linear between its five stops)."""
    stops = np.linspace(0.0, 1.0, len(PROSPECTIVITY_COLOURS))
    colours = np.array([QColor(c).getRgb()[:3] for c in PROSPECTIVITY_COLOURS], dtype=float)
    rgb = [int(round(np.interp(value, stops, colours[:, channel]))) for channel in range(3)]
    return QColor(*rgb)


def voxel_point_renderer(threshold: float, field: str = "prospectivity") -> QgsGraduatedSymbolRenderer:
    """2D: the classes as squares, the most prospective drawn on top."""
    ranges = []
    for lower, upper, colour in voxel_classes(threshold):
        symbol = QgsMarkerSymbol.createSimple({"name": "square", "color": colour.name(), "outline_style": "no"})
        ranges.append(QgsRendererRange(lower, upper, symbol, f"{lower:.2f} - {upper:.2f}"))
    renderer = QgsGraduatedSymbolRenderer(field, ranges)
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause(field, True)]))
    renderer.setOrderByEnabled(True)
    return renderer


def voxel_box_renderer_3d(threshold: float, size: tuple[float, float, float], field: str = "prospectivity"):
    """3D: each voxel a box of its true extent (dx, dy and the level spacing dz) at its elevation, so levels
    touch instead of floating apart; without a 3D renderer QGIS would drape the points flat."""
    dx, dy, dz = size
    absolute = (Qgis.AltitudeClamping.Absolute if hasattr(Qgis, "AltitudeClamping")
                else Qgs3DTypes.AltClampAbsolute)
    scale = QMatrix4x4()
    scale.scale(dx, dz, dy)  # the 3D scene's axes: x east, y up, z south
    root = QgsRuleBased3DRenderer.Rule(None)
    for index, (lower, upper, colour) in enumerate(voxel_classes(threshold)):
        material = QgsPhongMaterialSettings()
        material.setDiffuse(colour)
        material.setAmbient(colour.darker(200))
        symbol = QgsPoint3DSymbol()
        symbol.setShape(QgsPoint3DSymbol.Cube)
        symbol.setShapeProperties({"size": 1.0})
        symbol.setTransform(scale)
        symbol.setMaterial(material)
        symbol.setAltitudeClamping(absolute)
        above = f'"{field}" >= {lower}' if index == 0 else f'"{field}" > {lower}'
        rule = QgsRuleBased3DRenderer.Rule(symbol, f'{above} AND "{field}" <= {upper}')
        rule.setDescription(f"{lower:.2f} - {upper:.2f}")
        root.appendChild(rule)
    return QgsRuleBased3DRenderer(root)


def voxel_styler(threshold: float, size: tuple[float, float, float]):
    """The styling of a voxel layer: 2D classes and, where QGIS has 3D, boxes of the voxel's size."""
    def style(layer):
        layer.setRenderer(voxel_point_renderer(threshold))
        if QgsRuleBased3DRenderer is not None:
            layer.setRenderer3D(voxel_box_renderer_3d(threshold, size))
    return style
