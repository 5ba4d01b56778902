"""Prospectivity voxels for 3D view: voxel centres above a threshold as a PointZ layer, styled 0-1."""

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPoint,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)

from ..core.data.grid import Grid
from ..core.results.targets import COMPANIONS, voxel_points
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm, cube_crs, read_prospectivity_cube
from .qgis_enums import FAST_INSERT, FIELD_TYPES, NUMBER_DOUBLE, SOURCE_POINTS, WKB_POINT_Z
from .styles import voxel_styler


class ProspectivityVoxels(Mpm3dAlgorithm):
    NAME = "voxels_3d"
    DISPLAY = "Prospectivity voxels for 3D view"
    GROUP = "Targeting"
    SUMMARY = (
        "Turns the voxels of a prospectivity cube at or above a threshold into a 3D point layer: one point per "
        "voxel centre, Z = the level's elevation in metres, attributes 'prospectivity' and, where the cube has "
        "them, 'uncertainty' and 'novelty'. Styled in five classes from the threshold to 1, each in the level "
        "rasters' colour for its value, and in the 3D view as boxes of the voxel's true size (cell width and "
        "level spacing), so that levels touch; a GeoPackage output keeps the style as its default. Open View > "
        "3D Map View to see the bodies in depth; tilt the camera below the terrain plane to look at deep levels."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity' (variable 'prospectivity').")
        self.add(QgsProcessingParameterNumber("THRESHOLD", "Minimum prospectivity", NUMBER_DOUBLE,
                                              0.5, minValue=0.0, maxValue=1.0),
                 "Only voxels at or above this prospectivity become points; a high value keeps the layer light "
                 "enough for the 3D view.")
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "Prospectivity voxels", SOURCE_POINTS),
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
            fields.append(QgsField(name, FIELD_TYPES["Double"]))
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, WKB_POINT_Z,
                                             cube_crs(grid, "PROSPECTIVITY"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))

        progress = self.progress(feedback)
        written = 0
        for level, elevation in enumerate(grid.z):
            progress(level / len(grid.z), tr("Level {elevation} m").format(elevation=f"{elevation:g}"))
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
            if not sink.addFeatures(features, FAST_INSERT):
                raise QgsProcessingException(tr("Could not write the voxels of level {elevation} m: {error}").format(
                    elevation=f"{elevation:g}", error=sink.lastError()))
            written += len(features)
        progress(1.0)

        if written == 0:
            feedback.pushWarning(tr("No voxel reaches the threshold {threshold}; the layer is empty.").format(
                threshold=f"{threshold:g}"))
        feedback.pushInfo(tr("Wrote {count} voxels at or above {threshold} from {levels} levels.").format(
            count=written, threshold=f"{threshold:g}", levels=len(grid.z)))
        self.style_output(context, dest_id, voxel_styler(threshold, (*grid.pixel_size, grid.level_spacing)))
        return {"OUTPUT": dest_id, "VOXELS": written}
