"""Prospectivity voxels for 3D view: voxel centres above a threshold as a PointZ layer, styled 0-1."""

from qgis.core import (
    Qgis,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol,
    QgsPoint,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsRendererRange,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QColor

from ..core.grid import Grid
from ..core.targets import COMPANIONS, voxel_points
from .base import PROSPECTIVITY_COLOURS, Mpm3dAlgorithm, cube_crs, read_prospectivity_cube, style_when_loaded

try:  # the 3D library is an optional part of a QGIS build
    from qgis._3d import (
        Qgs3DTypes,
        QgsPhongMaterialSettings,
        QgsPoint3DSymbol,
        QgsRuleBased3DRenderer,
    )
except ImportError:
    QgsRuleBased3DRenderer = None

# Upper bounds of the five prospectivity classes, one per colour of the shared ramp.
CLASS_UPPER_BOUNDS = [0.2, 0.4, 0.6, 0.8, 1.0]


def prospectivity_classes():
    """(lower, upper, colour) of the five 0-1 classes of the shared ramp."""
    lowers = [0.0] + CLASS_UPPER_BOUNDS[:-1]
    return list(zip(lowers, CLASS_UPPER_BOUNDS, PROSPECTIVITY_COLOURS, strict=True))


def prospectivity_point_renderer(field: str = "prospectivity") -> QgsGraduatedSymbolRenderer:
    """The shared 0-1 ramp as five graduated classes; the most prospective points are drawn on top."""
    ranges = []
    for lower, upper, colour in prospectivity_classes():
        symbol = QgsMarkerSymbol.createSimple({"name": "square", "color": colour, "outline_style": "no"})
        ranges.append(QgsRendererRange(lower, upper, symbol, f"{lower:.1f} - {upper:.1f}"))
    renderer = QgsGraduatedSymbolRenderer(field, ranges)
    renderer.setOrderBy(QgsFeatureRequest.OrderBy([QgsFeatureRequest.OrderByClause(field, True)]))
    renderer.setOrderByEnabled(True)
    return renderer


def prospectivity_voxel_renderer_3d(voxel_size: float, field: str = "prospectivity"):
    """Cubes of one voxel's width at their true elevation, one colour per class: without a 3D renderer
    QGIS would drape the points flat onto the terrain."""
    absolute = (Qgis.AltitudeClamping.Absolute if hasattr(Qgis, "AltitudeClamping")
                else Qgs3DTypes.AltClampAbsolute)
    root = QgsRuleBased3DRenderer.Rule(None)
    for index, (lower, upper, colour) in enumerate(prospectivity_classes()):
        material = QgsPhongMaterialSettings()
        material.setDiffuse(QColor(colour))
        material.setAmbient(QColor(colour).darker(200))
        symbol = QgsPoint3DSymbol()
        symbol.setShape(QgsPoint3DSymbol.Cube)
        symbol.setShapeProperties({"size": voxel_size})
        symbol.setMaterial(material)
        symbol.setAltitudeClamping(absolute)
        above = f'"{field}" >= {lower}' if index == 0 else f'"{field}" > {lower}'
        rule = QgsRuleBased3DRenderer.Rule(symbol, f'{above} AND "{field}" <= {upper}')
        rule.setDescription(f"{lower:.1f} - {upper:.1f}")
        root.appendChild(rule)
    return QgsRuleBased3DRenderer(root)


def style_prospectivity_points(voxel_size: float):
    """The styling of a voxel layer: 2D graduated classes and, where QGIS has 3D, coloured cubes."""
    def style(layer):
        layer.setRenderer(prospectivity_point_renderer())
        if QgsRuleBased3DRenderer is not None:
            layer.setRenderer3D(prospectivity_voxel_renderer_3d(voxel_size))
    return style


class ProspectivityVoxels(Mpm3dAlgorithm):
    NAME = "voxels_3d"
    DISPLAY = "Prospectivity voxels for 3D view"
    GROUP = "Targeting"
    SUMMARY = (
        "Turns the voxels of a prospectivity cube at or above a threshold into a 3D point layer: one point per "
        "voxel centre, Z = the level's elevation in metres, attributes 'prospectivity' and, where the cube has "
        "them, 'uncertainty' and 'novelty', styled with the shared "
        "0-1 colour ramp (and as coloured cubes for the 3D view). Open View > 3D Map View to see the bodies "
        "in depth; tilt the camera below the terrain plane to look at deep levels."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity' (variable 'prospectivity').")
        self.add(QgsProcessingParameterNumber("THRESHOLD", "Minimum prospectivity", QgsProcessingParameterNumber.Double,
                                              0.5, minValue=0.0, maxValue=1.0),
                 "Only voxels at or above this prospectivity become points; a high value keeps the layer light "
                 "enough for the 3D view.")
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "Prospectivity voxels", QgsProcessing.TypeVectorPoint),
                 "The PointZ layer (a temporary layer, or a file such as a GeoPackage). Open View > 3D Map View "
                 "to see it in 3D.")
        self.addOutput(QgsProcessingOutputNumber("VOXELS", "Number of voxels written"))

    def execute(self, parameters, context, feedback):
        reader = read_prospectivity_cube(self, parameters, context)
        threshold = self.parameterAsDouble(parameters, "THRESHOLD", context)
        grid = reader.grid
        companions = [name for name in COMPANIONS if reader.has(name)]
        fields = QgsFields()
        for name in ("prospectivity", *companions):
            fields.append(QgsField(name, QVariant.Double))
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.PointZ,
                                             cube_crs(grid, "PROSPECTIVITY"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))

        progress = self.progress(feedback)
        written = 0
        for level, elevation in enumerate(grid.z):
            progress(level / len(grid.z), f"Level {elevation:g} m")
            level_grid = Grid(grid.crs, grid.x, grid.y, grid.z[level:level + 1])
            values = reader.read_variable("prospectivity", level, level + 1)
            x, y, z, value, extra = voxel_points(values, level_grid, threshold,
                                                 {name: reader.read_variable(name, level, level + 1)
                                                  for name in companions})
            features = []
            for index in range(len(x)):
                feature = QgsFeature(fields)
                feature.setGeometry(QgsGeometry(QgsPoint(float(x[index]), float(y[index]), float(z[index]))))
                feature.setAttributes([float(value[index]), *(float(extra[name][index]) for name in companions)])
                features.append(feature)
            if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(f"Could not write the voxels of level {elevation:g} m: "
                                             f"{sink.lastError()}")
            written += len(features)
        progress(1.0)

        if written == 0:
            feedback.reportError(f"No voxel reaches the threshold {threshold:g}; the layer is empty.", False)
        feedback.pushInfo(f"Wrote {written} voxels at or above {threshold:g} from {len(grid.z)} levels.")
        style_when_loaded(context, dest_id, style_prospectivity_points(min(grid.pixel_size)))
        return {"OUTPUT": dest_id, "VOXELS": written}
