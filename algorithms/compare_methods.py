"""Compare prospectivity methods: several predictions of one deposit scored against the same labels, one report.

An algorithm of its own rather than several cubes in 'Evaluate prospectivity': Evaluate's outputs (AUC and
captures as numbers) are one cube's, and Model Designer chains and scripts read them as such; a comparison
has one row per method instead, and refuses what a single evaluation cannot see (one cube, cubes on
different grids).
"""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
)

from ..core.jobs import compare_job
from .base import Mpm3dAlgorithm
from .qgis_enums import SOURCE_FILE


class CompareMethods(Mpm3dAlgorithm):
    NAME = "compare_methods"
    DISPLAY = "Compare prospectivity methods"
    GROUP = "Modelling"
    SUMMARY = (
        "Scores several prospectivity cubes of the same deposit (one per method, e.g. DANN-CTA, CNN and random "
        "forest) against the same known ore labels and writes one report: the ROC and success-rate curves of all "
        "methods on one plot each, a table with a row per method (ROC AUC, share of ore captured in the top 5, 10 "
        "and 20 % of the volume, P-V threshold and, where the predictions have them, mean uncertainty and the AUC "
        "in the halves the uncertainty and novelty maps trust and distrust), and the AUC level by level. Labels "
        "are used here only to score."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterMultipleLayers("PROSPECTIVITY", "Prospectivity cubes (one per method)",
                                                      SOURCE_FILE),
                 "Two or more cubes written by 'Predict prospectivity' on the same cube. Each is named in the report "
                 "by its model's method; two of one method by their folder and file name.")
        self.add_label_parameters()
        self.add(QgsProcessingParameterFileDestination("OUTPUT_REPORT", "Comparison report", "HTML files (*.html)"),
                 "The methods' curves on one plot each and their scores side by side.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT_JSON", "Metrics of every method (JSON)",
                                                       "JSON files (*.json)", optional=True, createByDefault=True),
                 "Every method's numbers and curves, for scripts.")
        self.addOutput(QgsProcessingOutputNumber("METHODS", "Number of methods compared"))
        self.addOutput(QgsProcessingOutputString("AUCS", "ROC AUC of each method"))

    def execute(self, parameters, context, feedback):
        cubes = self.file_list(parameters, "PROSPECTIVITY", context)
        label_cube, slices = self.labels_given(parameters, context, feedback)
        report = self.output_file(parameters, "OUTPUT_REPORT", context)
        json_path = self.output_file(parameters, "OUTPUT_JSON", context) or None
        outputs = compare_job(cubes, label_cube, report, json_path, self.progress(feedback), slices)
        feedback.pushInfo(f"ROC AUC: {outputs['AUCS']}")
        return outputs
