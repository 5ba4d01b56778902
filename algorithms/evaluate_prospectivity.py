"""Evaluate prospectivity: ROC AUC, success-rate and P-V curves, capture in the top of the volume."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ..core.data.cubefile import CubeReader
from ..core.jobs import DEFAULT_HOLE_BUFFER, evaluate_job
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm
from .qgis_enums import NUMBER_INTEGER


class EvaluateProspectivity(Mpm3dAlgorithm):
    NAME = "evaluate_prospectivity"
    DISPLAY = "Evaluate prospectivity"
    GROUP = "Modelling"
    SUMMARY = (
        "Scores a prospectivity cube against known ore labels, the way prospectivity modellers do: ROC AUC and "
        "curve, success-rate (capture-efficiency) curve, prediction-volume (P-V) plot, the share of ore captured "
        "in the top 5, 10 and 20 % of the volume, and the same per level. Labels are used here only to score. "
        "Given the drill holes that trained or chose the model (HOLES), only voxels away from them are scored. "
        "To set several methods' predictions side by side, use 'Compare prospectivity methods'."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity'.")
        self.add_label_parameters()
        self.add(QgsProcessingParameterFile("HOLES", "Drill holes used by training (optional)", extension="nc",
                                            optional=True),
                 "The label cube of the target drill holes given to 'Train prospectivity model' in validate or train "
                 "mode (on this cube's grid). Every voxel within HOLE_BUFFER voxels of a hole is left out of the "
                 "scores, so the holes that trained or chose the model do not flatter it.")
        self.add(QgsProcessingParameterNumber("HOLE_BUFFER", "Buffer around the drill holes (voxels)",
                                              NUMBER_INTEGER, DEFAULT_HOLE_BUFFER, minValue=1,
                                              maxValue=1000),
                 "At least the model's patch size - 1 (8 for the default 9-voxel patch): half a patch for the scored "
                 "voxel's own patch plus half a patch for the holes' influence, the patches they trained or chose "
                 "on. Used only with HOLES.")
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
                           ("CAPTURE_TOP20", "Ore captured in the top 20 % of the volume"),
                           ("N_HOLES", "Drill holes kept away from (with HOLES)"),
                           ("SCORED_VOXELS", "Voxels with a prediction away from the holes (with HOLES)"),
                           ("EXCLUDED_VOXELS", "Voxels with a prediction left out near the holes (with HOLES)")):
            self.addOutput(QgsProcessingOutputNumber(key, label))

    def execute(self, parameters, context, feedback):
        prospectivity = self.parameterAsFile(parameters, "PROSPECTIVITY", context)
        label_cube, slices = self.labels_given(parameters, context, feedback)
        report = self.output_file(parameters, "OUTPUT_REPORT", context)
        json_path = self.output_file(parameters, "OUTPUT_JSON", context) or None
        if self.parameterAsBoolean(parameters, "ALLOW_NO_LABELS", context) and not label_cube and not slices \
                and not CubeReader(prospectivity, "PROSPECTIVITY").has("label"):
            feedback.pushInfo(tr("No labels: nothing scored (no LABEL_CUBE or LABEL_SLICES given, none in the "
                                 "PROSPECTIVITY cube); no report written."))
            return {}
        outputs = evaluate_job(prospectivity, label_cube, report, json_path, self.progress(feedback), slices,
                               self.parameterAsFile(parameters, "HOLES", context) or None,
                               self.parameterAsInt(parameters, "HOLE_BUFFER", context))
        if "N_HOLES" in outputs:
            feedback.pushInfo(tr("Scored {scored} voxels more than {buffer} voxels from the {holes} drill holes; "
                                 "{excluded} voxels near them left out.").format(
                scored=outputs["SCORED_VOXELS"], buffer=self.parameterAsInt(parameters, "HOLE_BUFFER", context),
                holes=outputs["N_HOLES"], excluded=outputs["EXCLUDED_VOXELS"]))
        feedback.pushInfo(tr("ROC AUC {auc}; ore captured in the top 10 % of the volume: {capture}").format(
            auc=f"{outputs['AUC']:.4f}", capture=f"{outputs['CAPTURE_TOP10']:.1%}"))
        return outputs
