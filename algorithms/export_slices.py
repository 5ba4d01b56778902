"""Export cube to depth slices: the way back from a cube file to one raster per level."""

from qgis.core import (
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ..core import jobs
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm, folder_parameter_value


class ExportSlices(Mpm3dAlgorithm):
    NAME = "export_slices"
    DISPLAY = "Export cube to depth slices"
    GROUP = "Data"
    SUMMARY = ("Writes a cube file back to GeoTIFF depth slices named by elevation: the evidence features as one "
               "multi-band raster per level, and the label and prospectivity variables (where present) as "
               "single-band rasters per level.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("CUBE", "Cube file", extension="nc"), "A cube file made by mpm3d.")
        self.add(QgsProcessingParameterString("PREFIX", "File name prefix", optional=True),
                 "Start of every file name; empty: the cube's file name.")
        self.add(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"),
                 "Folder that receives the slices.")
        self.addOutput(QgsProcessingOutputMultipleLayers("OUTPUT_LAYERS", "Slices"))

    def folder_outputs(self, parameters, context):
        folder = self.folder_value(parameters, "OUTPUT_FOLDER", context)
        cube = self.parameterAsFile(parameters, "CUBE", context)
        prefix = self.parameterAsString(parameters, "PREFIX", context)
        return {"OUTPUT_FOLDER": [jobs.export_pattern(cube, folder, prefix)] if folder else []}

    def execute(self, parameters, context, feedback):
        folder = folder_parameter_value(self, parameters, "OUTPUT_FOLDER", context)
        result = jobs.export(self.parameterAsFile(parameters, "CUBE", context), folder,
                             self.parameterAsString(parameters, "PREFIX", context), None, self.progress(feedback))
        for warning in result["WARNINGS"]:
            feedback.pushWarning(warning)
        feedback.pushInfo(tr("Wrote {count} rasters to {folder}").format(count=len(result["OUTPUT_LAYERS"]),
                                                                         folder=folder))
        return {"OUTPUT_FOLDER": folder, "OUTPUT_LAYERS": result["OUTPUT_LAYERS"]}
