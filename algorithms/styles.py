"""Styles that travel with the data and read at a glance: a .qml beside each level raster, default styles
inside GeoPackages, legends titled by what they show, and the voxels' 2D classes and 3D boxes.

Why here: a map opened from the file browser, another project or another machine must look as it does
in the project that made it, so every style an algorithm applies on loading is also written beside or
into the file.
"""

import json
import os

import numpy as np
from osgeo import gdal
from qgis.core import (
    Qgis,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsGraduatedSymbolRenderer,
    QgsMapLayerLegendUtils,
    QgsMarkerSymbol,
    QgsPalettedRasterRenderer,
    QgsPalLayerSettings,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor, QMatrix4x4
from qgis.PyQt.QtXml import QDomDocument

from ..core.data.cubefile import CHANGE_MAP, DOMINANT_MAP
from ..core.data.slices import CLASSES_TAG
from ..runtime.i18n import tr
from .qgis_enums import RAMP_LINEAR, first_value

try:  # the 3D library is an optional part of a QGIS build
    from qgis._3d import (
        Qgs3DTypes,
        QgsPhongMaterialSettings,
        QgsPoint3DSymbol,
        QgsRuleBased3DRenderer,
    )
except ImportError:
    QgsRuleBased3DRenderer = None

# The post-processors must outlive the algorithm run (QGIS keeps only a pointer).
_POST_PROCESSORS = []

# Fixed ramps, one per kind of map, so that a colour means the same on every level and in every run.
# viridis for prospectivity (perceptually uniform, readable by colour-blind colleagues); a light-to-dark
# orange-red for the members' disagreement (0 to 0.25: a spread of 0.25 on a 0-1 probability is already
# total disagreement); light-to-dark purple for novelty (0 to 1).
PROSPECTIVITY_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
UNCERTAINTY_COLOURS = ["#fff5eb", "#fdbe85", "#fd8d3c", "#d94701", "#7f2704"]
NOVELTY_COLOURS = ["#fcfbfd", "#cbc9e2", "#9e9ac8", "#6a51a3", "#3f007d"]
# The change of prospectivity without the dominant layer: blue where the layer lowers it, red where it raises it,
# white where it does nothing; +-0.25 is already a quarter of the whole 0-1 range.
CHANGE_COLOURS = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
MAP_STYLES = {"prospectivity": (PROSPECTIVITY_COLOURS, 0.0, 1.0), "uncertainty": (UNCERTAINTY_COLOURS, 0.0, 0.25),
              "novelty": (NOVELTY_COLOURS, 0.0, 1.0), CHANGE_MAP: (CHANGE_COLOURS, -0.25, 0.25)}
# The dominant evidence: one colour per layer in the model's order (a qualitative palette, tab20 after tab10), light
# grey for "no layer changes the voxel".
LAYER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
                 "#9edae5", "#393b79"]
NO_LAYER_COLOUR = "#e0e0e0"
VOXEL_CLASSES = 5

# (first rank, last rank, marker size in mm, colour) of the legend bands: the best targets stand out in colour
# and size. Reds to pale pinks: no colour of the prospectivity (viridis), uncertainty (oranges) or novelty
# (purples) ramps, so a target never reads as a probability.
RANK_BANDS = [(1, 1, 6.0, "#e41a1c"), (2, 3, 5.0, "#f768a1"), (4, 5, 4.2, "#fa9fb5"), (6, 10, 3.5, "#fcc5c0"),
              (11, None, 2.8, "#fde0dd")]


def write_raster_styles(paths, kind: str) -> list[str]:
    """A .qml beside each level raster of one map: QGIS applies it whenever the raster is opened. Returns the
    rasters whose style could not be written (the rasters themselves are complete either way)."""
    if not paths:
        return []
    text = _raster_style_text(kind, class_names(paths[0]) if kind == DOMINANT_MAP else None)
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


def _raster_style_text(kind: str, classes: list[str] | None = None) -> str | None:
    """The QML of one map's style, made on a one-pixel raster in memory: opening the user's raster to style
    it would leave a statistics file (.aux.xml) beside it. ``classes``: a class raster's class names."""
    carrier = f"/vsimem/mpm3d_{kind}_style.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(carrier, 1, 1, 1, gdal.GDT_Int16 if classes else gdal.GDT_Float32)
    dataset.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, -1.0))  # without one, GDAL prints 'ERROR 1' when QGIS opens it
    if classes:
        dataset.GetRasterBand(1).SetMetadataItem(CLASSES_TAG, json.dumps(classes))
    dataset = None  # closed: written
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


def store_default_style(dest_id: str, style) -> bool | None:
    """Style the layer of a GeoPackage output and store that style in the file as its default; None when the
    output is not a GeoPackage file (a temporary layer keeps its style only in the project)."""
    path = dest_id.split("|")[0]
    if not path.lower().endswith(".gpkg") or not os.path.isfile(path):
        return None
    layer = QgsVectorLayer(dest_id, os.path.splitext(os.path.basename(path))[0], "ogr")
    if not layer.isValid():
        return False
    style(layer)
    return save_default_style(layer)


def voxel_classes(threshold: float) -> list[tuple[float, float, QColor]]:
    """(lower, upper, colour) of five equal classes from the threshold to 1, each coloured as its middle is
    on the level rasters' 0-1 ramp: a colour means the same in 2D and 3D, and no class is empty by design."""
    edges = np.linspace(threshold, 1.0, VOXEL_CLASSES + 1)
    return [(float(low), float(high), ramp_colour((low + high) / 2))
            for low, high in zip(edges[:-1], edges[1:], strict=True)]


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
    scale = QMatrix4x4()
    scale.scale(dx, dz, dy)  # the 3D scene's axes: x east, y up, z south
    root = QgsRuleBased3DRenderer.Rule(None)
    for index, (lower, upper, colour) in enumerate(voxel_classes(threshold)):
        symbol = _point_3d(colour, "Cube", {"size": 1.0}, scale, shade=200)
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


def map_renderer(provider, kind: str = "prospectivity", band: int = 1) -> QgsSingleBandPseudoColorRenderer:
    """The fixed ramp of one kind of map (prospectivity, uncertainty, novelty) with a five-class legend."""
    colours, low, high = MAP_STYLES[kind]
    ramp = QgsGradientColorRamp(QColor(colours[0]), QColor(colours[-1]))
    ramp.setStops([QgsGradientStop(i / 4, QColor(c)) for i, c in enumerate(colours[1:-1], start=1)])
    shader_function = QgsColorRampShader(low, high, ramp, RAMP_LINEAR)
    shader_function.setClip(False)
    shader_function.classifyColorRamp(5, -1)
    shader = QgsRasterShader(low, high)
    shader.setRasterShaderFunction(shader_function)
    renderer = QgsSingleBandPseudoColorRenderer(provider, band, shader)
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    return renderer


def map_styler(kind: str):
    """A function that styles a loaded raster layer with the ramp of ``kind``, or, for the dominant evidence, one
    colour per layer named in the raster's own classes."""
    def style(layer: QgsRasterLayer) -> None:
        if kind == DOMINANT_MAP:
            layer.setRenderer(class_renderer(layer.dataProvider(), class_names(layer.source())))
        else:
            layer.setRenderer(map_renderer(layer.dataProvider(), kind))
        layer.triggerRepaint()
    return style


def class_names(path: str) -> list[str]:
    """The class names a class raster carries (value 0, 1, ...; core.data.slices.write_raster); [] where none."""
    dataset = gdal.OpenEx(path.split("|")[0], gdal.OF_RASTER)
    text = dataset.GetRasterBand(1).GetMetadataItem(CLASSES_TAG) if dataset is not None else None
    return json.loads(text) if text else []


def class_renderer(provider, classes: list[str], band: int = 1) -> QgsPalettedRasterRenderer:
    """The dominant evidence: "none" light grey, then each layer its own colour, the legend naming each."""
    entries = [QgsPalettedRasterRenderer.Class(0, QColor(NO_LAYER_COLOUR), tr("no layer changes it"))]
    entries += [QgsPalettedRasterRenderer.Class(value, QColor(LAYER_COLOURS[(value - 1) % len(LAYER_COLOURS)]), name)
                for value, name in enumerate(classes[1:], start=1)]
    return QgsPalettedRasterRenderer(provider, band, entries)


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Styles a sink layer once QGIS has loaded it: the layer object exists only then."""

    def __init__(self, style):
        super().__init__()
        self._style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API
        self._style(layer)
        layer.triggerRepaint()


def style_on_load(style) -> StyleOnLoad:
    """A post-processor that styles a layer once loaded, kept alive for QGIS."""
    processor = StyleOnLoad(style)
    _POST_PROCESSORS.append(processor)
    return processor


def style_when_loaded(context, dest_id: str, style) -> None:
    """Run ``style(layer)`` on the output layer if it is loaded into the project (toolbox, model end)."""
    if context.willLoadLayerOnCompletion(dest_id):
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(style_on_load(style))


def rank_renderer(n_targets: int, polygons: bool = False) -> QgsGraduatedSymbolRenderer:
    """Rank bands in the targets' own palette, rank 1 strongest: markers for the points, outlined
    half-transparent fills for the footprints."""
    ranges = []
    for first, last, size, colour in RANK_BANDS:
        if first > n_targets:
            break
        last = max(n_targets, first) if last is None else last
        if polygons:
            fill = QColor(colour)
            fill.setAlpha(110)
            symbol = QgsFillSymbol.createSimple({"color": fill.name(QColor.NameFormat.HexArgb), "outline_color": colour,
                                                 "outline_width": "0.6"})
        else:
            symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": colour, "size": str(size),
                                                   "outline_color": "black"})
        label = _rank_label(first, last)
        ranges.append(QgsRendererRange(first, last, symbol, label))
    return QgsGraduatedSymbolRenderer("rank", ranges)


def target_styler(n_targets: int, radius: float):
    """Target points: rank bands in 2D and, in the 3D view, spheres of the same colours at their centroid's
    depth (without a 3D renderer QGIS would drape them flat onto the terrain)."""
    def style(layer):
        layer.setRenderer(rank_renderer(n_targets))
        if QgsRuleBased3DRenderer is not None:
            layer.setRenderer3D(_rank_spheres(n_targets, radius))
    return style


def footprint_styler(n_targets: int):
    """Footprints: outlined rank-band fills labelled with the rank and the depth range, e.g. '#1 (-300 to
    -780 m)', so a plan view says which body is which and how deep it sits."""
    def style(layer):
        layer.setRenderer(rank_renderer(n_targets, polygons=True))
        settings = QgsPalLayerSettings()
        settings.isExpression = True
        settings.fieldName = ("'#' || \"rank\" || ' (' || format_number(\"top_z\", 0) || ' to ' || "
                              "format_number(\"bottom_z\", 0) || ' m)'")
        text = QgsTextFormat()
        text.setSize(9)
        text.buffer().setEnabled(True)
        text.buffer().setSize(1.0)
        settings.setFormat(text)
        layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
        layer.setLabelsEnabled(True)
    return style


def _rank_spheres(n_targets: int, radius: float):
    root = QgsRuleBased3DRenderer.Rule(None)
    for first, last, _, colour in RANK_BANDS:
        if first > n_targets:
            break
        condition = f'"rank" >= {first}' + (f' AND "rank" <= {last}' if last is not None else "")
        rule = QgsRuleBased3DRenderer.Rule(_sphere(colour, radius), condition)
        rule.setDescription(_rank_label(first, last or n_targets))
        root.appendChild(rule)
    return QgsRuleBased3DRenderer(root)


def _rank_label(first: int, last: int) -> str:
    return tr("Rank {rank}").format(rank=first) if first == last else \
        tr("Ranks {first}-{last}").format(first=first, last=last)


def map_title(kind: str) -> str:
    """What a map is called where the user reads it (legend heading, layer names)."""
    return {"prospectivity": tr("prospectivity"), "uncertainty": tr("uncertainty"), "novelty": tr("novelty"),
            DOMINANT_MAP: tr("dominant evidence"), CHANGE_MAP: tr("change without the dominant evidence")}.get(kind,
                                                                                                         kind)


def _sphere(colour: str, radius: float):
    return _point_3d(QColor(colour), "Sphere", {"radius": radius})


def _point_3d(colour: QColor, shape: str, properties: dict, transform=None, shade: int = 150):
    """A 3D point symbol of ``colour`` and ``shape`` (Cube, Sphere) at the point's own Z (absolute altitude), not
    draped onto the terrain."""
    absolute = first_value((Qgis, "AltitudeClamping.Absolute"), (Qgs3DTypes, "AltClampAbsolute"))
    material = QgsPhongMaterialSettings()
    material.setDiffuse(colour)
    material.setAmbient(colour.darker(shade))
    symbol = QgsPoint3DSymbol()
    symbol.setShape(first_value((Qgis, f"Point3DShape.{shape}"), (QgsPoint3DSymbol, shape)))
    symbol.setShapeProperties(properties)
    if transform is not None:
        symbol.setTransform(transform)
    # QgsPoint3DSymbol: setMaterial in 3.22, setMaterialSettings in later releases (3.40 has only that)
    (symbol.setMaterialSettings if hasattr(symbol, "setMaterialSettings") else symbol.setMaterial)(material)
    symbol.setAltitudeClamping(absolute)
    return symbol


HOLE_SAMPLES = ((1, "Ore sample", "#d7191c", 2.4), (0, "Barren sample", "#7f7f7f", 1.2))  # value, label, colour, mm


def _sample_label(value: int) -> str:
    return tr("Ore sample") if value else tr("Barren sample")


def drill_hole_styler(radius: float):
    """Drill-hole samples (field ``ore``): ore red and larger, barren grey, in plan and, in the 3D view, as
    spheres at the samples' own elevation, so that the holes read as lines of beads through the voxels."""
    def style(layer):
        categories = [QgsRendererCategory(value, QgsMarkerSymbol.createSimple(
            {"name": "circle", "color": colour, "size": str(size), "outline_style": "no"}), _sample_label(value))
            for value, _, colour, size in HOLE_SAMPLES]
        layer.setRenderer(QgsCategorizedSymbolRenderer("ore", categories))
        if QgsRuleBased3DRenderer is not None:
            root = QgsRuleBased3DRenderer.Rule(None)
            for value, _label, colour, _ in HOLE_SAMPLES:
                rule = QgsRuleBased3DRenderer.Rule(_sphere(colour, radius if value else radius / 2), f'"ore" = {value}')
                rule.setDescription(_sample_label(value))
                root.appendChild(rule)
            layer.setRenderer3D(QgsRuleBased3DRenderer(root))
    return style
