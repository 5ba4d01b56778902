"""Export block model: a cube (evidence, labels, prospectivity, uncertainty, novelty) -> a block-model file."""

import os

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from ..runtime.i18n import tr
from ..runtime.worker import run_core
from .base import Mpm3dAlgorithm


class ExportBlockModel(Mpm3dAlgorithm):
    NAME = "export_block_model"
    DISPLAY = "Export block model"
    GROUP = "Data"
    SUMMARY = (
        "Writes a cube file as a block model for 3D modelling software: a CSV of block centres and sizes with one "
        "column per variable, a VTK image (.vti) or rectilinear grid (.vtr), an OMF file or a geoh5 workspace, "
        "chosen by the file's extension. Every feature, the labels and the prospectivity, uncertainty and novelty "
        "maps the cube holds are written, or the variables named."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("CUBE", "Cube file", extension="nc"),
                 "A cube file made by mpm3d: stacked or imported evidence, or a prediction.")
        self.add(QgsProcessingParameterString("VARIABLES", "Variables (optional)", optional=True),
                 "Names separated by commas (features, label, prospectivity, uncertainty, novelty). Empty: all.")
        self.add(QgsProcessingParameterBoolean("KEEP_NODATA", "CSV: keep blocks without data", defaultValue=False),
                 "Also write the blocks where no variable has a value (air, outside the model); left out by default.")
        self.add(QgsProcessingParameterString("NODATA", "CSV: nodata text (optional)", optional=True),
                 "What a CSV holds for a missing value, e.g. -99; empty fields by default.")
        self.add(QgsProcessingParameterFileDestination(
            "OUTPUT", "Block model", "CSV (*.csv);;VTK image (*.vti);;VTK rectilinear grid (*.vtr);;OMF (*.omf);;"
            "geoh5 (*.geoh5)"),
            "The file to write; its extension picks the format.")
        self.addOutput(QgsProcessingOutputNumber("BLOCKS", "Blocks written"))

    def execute(self, parameters, context, feedback):
        output = self.output_file(parameters, "OUTPUT", context)
        arguments = ["--json-lines", "export-blocks", "--cube",
                     os.path.abspath(self.parameterAsFile(parameters, "CUBE", context)), "--out", output]
        variables = self.parameterAsString(parameters, "VARIABLES", context).strip()
        if variables:
            arguments += ["--variables", variables]
        if self.parameterAsBoolean(parameters, "KEEP_NODATA", context):
            arguments.append("--keep-nodata")
        nodata = self.parameterAsString(parameters, "NODATA", context).strip()
        if nodata:
            arguments += ["--nodata", nodata]
        result = run_core(arguments, feedback, outputs=[output])
        feedback.pushInfo(tr("Wrote {blocks} blocks ({variables}) to {path}").format(
            blocks=result["BLOCKS"], variables=", ".join(result["VARIABLES"]), path=output))
        return {"OUTPUT": output, "BLOCKS": result["BLOCKS"]}
