"""Evaluate prospectivity: ROC AUC, success-rate and P-V curves, capture in the top of the volume."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
)

from ..core.commands import evaluate_job
from ..core.cubefile import CubeReader
from .base import Mpm3dAlgorithm


class EvaluateProspectivity(Mpm3dAlgorithm):
    NAME = "evaluate_prospectivity"
    DISPLAY = "Evaluate prospectivity"
    GROUP = "Modelling"
    SUMMARY = (
        "Scores a prospectivity cube against known ore labels, the way prospectivity modellers do: ROC AUC and "
        "curve, success-rate (capture-efficiency) curve, prediction-volume (P-V) plot, the share of ore captured "
        "in the top 5, 10 and 20 % of the volume, and the same per level. Labels are used here only to score. "
        "To set several methods' predictions side by side, use 'Compare prospectivity methods'."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity'.")
        add_label_parameters(self)
        self.add(QgsProcessingParameterFileDestination("OUTPUT_REPORT", "Evaluation report", "HTML files (*.html)"),
                 "ROC, success-rate and P-V plots and a per-level table.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT_JSON", "Metrics (JSON)", "JSON files (*.json)",
                                                       optional=True, createByDefault=True),
                 "All numbers and curves, for scripts.")
        self.add(QgsProcessingParameterBoolean("ALLOW_NO_LABELS", "Without labels, end without scoring",
                                               defaultValue=False),
                 "For a chain that may run on an unlabelled target: where no labels are given and the PROSPECTIVITY "
                 "cube has none, the step ends saying so, scores nothing and writes no report, instead of failing.",
                 advanced=True)
        for key, label in (("AUC", "ROC AUC"), ("CAPTURE_TOP5", "Ore captured in the top 5 % of the volume"),
                           ("CAPTURE_TOP10", "Ore captured in the top 10 % of the volume"),
                           ("CAPTURE_TOP20", "Ore captured in the top 20 % of the volume")):
            self.addOutput(QgsProcessingOutputNumber(key, label))

    def execute(self, parameters, context, feedback):
        prospectivity = self.parameterAsFile(parameters, "PROSPECTIVITY", context)
        label_cube, slices = labels_given(self, parameters, context, feedback)
        report = self.output_file(parameters, "OUTPUT_REPORT", context)
        json_path = self.output_file(parameters, "OUTPUT_JSON", context) or None
        if self.parameterAsBoolean(parameters, "ALLOW_NO_LABELS", context) and not label_cube and not slices \
                and not CubeReader(prospectivity, "PROSPECTIVITY").has("label"):
            feedback.pushInfo("No labels: nothing scored (no LABEL_CUBE or LABEL_SLICES given, none in the "
                              "PROSPECTIVITY cube); no report written.")
            return {}
        outputs = evaluate_job(prospectivity, label_cube, report, json_path, self.progress(feedback), slices)
        feedback.pushInfo(f"ROC AUC {outputs['AUC']:.4f}; ore captured in the top 10 % of the volume: "
                          f"{outputs['CAPTURE_TOP10']:.1%}")
        return outputs


def add_label_parameters(algorithm: Mpm3dAlgorithm) -> None:
    """LABEL_CUBE or LABEL_SLICES: the known labels that score predictions, the same wherever predictions are scored."""
    algorithm.add(QgsProcessingParameterFile("LABEL_CUBE", "Cube with labels (optional)", extension="nc",
                                             optional=True),
                  "A cube on the same grid with a label variable, e.g. the target cube stacked with its labels.")
    algorithm.add(QgsProcessingParameterMultipleLayers("LABEL_SLICES", "Label slices (optional)",
                                                       QgsProcessing.TypeRaster, optional=True),
                  "Alternatively, label rasters (1 ore, 0 barren, nodata unknown) named by elevation.")


def labels_given(algorithm: Mpm3dAlgorithm, parameters, context, feedback) -> tuple[str | None, list[str]]:
    """(label cube or None, label slice files) as the core's scoring jobs take them."""
    label_cube = algorithm.parameterAsFile(parameters, "LABEL_CUBE", context) or None
    return label_cube, algorithm.layer_files(parameters, "LABEL_SLICES", context, feedback)
