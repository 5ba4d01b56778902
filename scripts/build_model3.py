"""Writes models/prospectivity_chain.model3: stack source -> stack target -> train -> predict -> evaluate.

The Model Designer file is generated from this script so that it stays in step with the
algorithms' parameter names; run it again after changing them (`python scripts/build_model3.py`).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from project import PLUGIN_DIR, _qgis  # noqa: E402

MODEL_PATH = os.path.join(PLUGIN_DIR, "models", "prospectivity_chain.model3")


def build() -> str:
    _qgis()
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterEnum,
        QgsProcessingParameterMultipleLayers,
        QgsProcessingParameterNumber,
    )
    from qgis.core import (
        QgsProcessingModelChildParameterSource as Source,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm("Prospectivity chain (DANN-CTA)", "Workflows", "prospectivity_chain")
    model.setHelpContent({"ALG_DESC": (
        "Stacks the source (with labels) and target depth slices into cubes, trains a prospectivity model on the "
        "source and adapts it to the target without labels, predicts the target's prospectivity per level and "
        "scores it against the target label slices (used for scoring only).")})
    inputs = [
        QgsProcessingParameterMultipleLayers("source_evidence", "Source evidence slices", QgsProcessing.TypeRaster),
        QgsProcessingParameterMultipleLayers("source_labels", "Source label slices", QgsProcessing.TypeRaster),
        QgsProcessingParameterMultipleLayers("target_evidence", "Target evidence slices", QgsProcessing.TypeRaster),
        QgsProcessingParameterMultipleLayers("target_labels", "Target label slices (scoring only)",
                                             QgsProcessing.TypeRaster),
        QgsProcessingParameterEnum("method", "Method", ["dann_cta", "dann", "cta", "cnn", "rf"], defaultValue=0),
        QgsProcessingParameterNumber("epochs", "Epochs", QgsProcessingParameterNumber.Integer, 20, minValue=1),
        QgsProcessingParameterNumber("patch_size", "Patch size (voxels, odd)", QgsProcessingParameterNumber.Integer,
                                     9, minValue=3, maxValue=31),
    ]
    for row, parameter in enumerate(inputs):
        model.addModelParameter(parameter, QgsProcessingModelParameter(parameter.name()))
        model.parameterComponent(parameter.name()).setPosition(QPointF(100 + 180 * row, 60))

    def child(child_id, algorithm, sources, outputs, x, y):
        step = QgsProcessingModelChildAlgorithm(algorithm)
        step.setChildId(child_id)
        step.setDescription(child_id.replace("_", " ").capitalize())
        step.setPosition(QPointF(x, y))
        for name, source in sources.items():
            step.addParameterSources(name, [source])
        kept = {}
        for output_name, label in outputs.items():
            output = QgsProcessingModelOutput(label)
            output.setChildOutputName(output_name)
            output.setChildId(child_id)
            kept[label] = output
        step.setModelOutputs(kept)
        model.addChildAlgorithm(step)

    child("stack_source", "mpm3d:stack_slices", {"EVIDENCE": Source.fromModelParameter("source_evidence"),
                                                  "LABELS": Source.fromModelParameter("source_labels")}, {}, 200, 200)
    child("stack_target", "mpm3d:stack_slices", {"EVIDENCE": Source.fromModelParameter("target_evidence")},
          {}, 500, 200)
    child("train", "mpm3d:train_model", {"SOURCE": Source.fromChildOutput("stack_source", "OUTPUT"),
                                         "TARGET": Source.fromChildOutput("stack_target", "OUTPUT"),
                                         "METHOD": Source.fromModelParameter("method"),
                                         "EPOCHS": Source.fromModelParameter("epochs"),
                                         "PATCH_SIZE": Source.fromModelParameter("patch_size")},
          {"OUTPUT_MODEL": "Model file", "OUTPUT_REPORT": "Training report"}, 350, 320)
    child("predict", "mpm3d:predict_prospectivity", {"MODEL": Source.fromChildOutput("train", "OUTPUT_MODEL"),
                                                     "CUBE": Source.fromChildOutput("stack_target", "OUTPUT")},
          {"OUTPUT_CUBE": "Prospectivity cube", "OUTPUT_FOLDER": "Prospectivity levels"}, 350, 440)
    child("evaluate", "mpm3d:evaluate_prospectivity",
          {"PROSPECTIVITY": Source.fromChildOutput("predict", "OUTPUT_CUBE"),
           "LABEL_SLICES": Source.fromModelParameter("target_labels")},
          {"OUTPUT_REPORT": "Evaluation report", "OUTPUT_JSON": "Metrics"}, 350, 560)
    os.makedirs(os.path.dirname(MODEL_PATH), exist_ok=True)
    if not model.toFile(MODEL_PATH):
        raise RuntimeError(f"could not write {MODEL_PATH}")
    return MODEL_PATH


if __name__ == "__main__":
    print(build())
