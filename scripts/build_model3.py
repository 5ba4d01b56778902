"""Writes models/prospectivity_chain.model3: stack source -> stack target -> train -> predict -> evaluate.

The Model Designer file is generated from this script so that it stays in step with the
algorithms' parameter names and method list; run it again after changing them
(`python scripts/build_model3.py`). The target's labels are optional: without them the chain trains,
adapts and predicts as usual and the evaluation step ends saying that nothing was scored (QGIS 3.22
models cannot test a layer-list input in a conditional branch, so the step itself knows).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from project import PLUGIN_DIR, _qgis  # noqa: E402

MODEL_PATH = os.path.join(PLUGIN_DIR, "models", "prospectivity_chain.model3")
MODEL_NAME = "prospectivity_chain"  # the algorithm id is mpm3d:prospectivity_chain

DESCRIPTION = (
    "Prospectivity chain (DANN-CTA): stacks the source deposit's depth slices (with its ore labels) and the "
    "target deposit's (without) into cubes, trains a prospectivity model on the source and adapts it to the "
    "target without target labels, and predicts the target's prospectivity, uncertainty and novelty per level. "
    "Target labels, where you have them, are used only to score the prediction at the end; without them the "
    "chain runs all the same and the evaluation step says that nothing was scored.")

PARAMETER_HELP = {
    "source_evidence": "The source (well-drilled) deposit's evidence rasters, one per depth level, all on one grid, "
                       "bands = evidence features named by their band descriptions. The elevation of each comes from "
                       "the last number in its file name (evidence_z-0450.tif is -450 m).",
    "source_labels": "The source deposit's ore labels, one single-band raster per evidence slice, same grid and "
                     "order: 1 ore, 0 barren, nodata unknown.",
    "target_evidence": "The target (under-explored) deposit's evidence rasters, with the same bands in the same "
                       "order as the source's. Its labels are never used for training.",
    "target_labels": "Optional. The target deposit's known ore labels (1 ore, 0 barren, nodata unknown), one per "
                     "target slice, to score the prediction at the end (ROC AUC, capture in the top of the volume). "
                     "Leave empty for an unlabelled target: the chain still trains, adapts and predicts.",
}
# The chain's settings, named in lower case; their bounds, defaults and help are the table's (core/settings.py).
CHAIN_SETTINGS = ("METHOD", "EPOCHS", "PATCH_SIZE")

# (child, child output, model output name, description) of the chain's results.
OUTPUTS = [
    ("train", "OUTPUT_MODEL", "model", "Trained model (.safetensors)"),
    ("train", "OUTPUT_REPORT", "training_report", "Training report (HTML)"),
    ("predict", "OUTPUT_CUBE", "prospectivity_cube", "Prospectivity cube (NetCDF)"),
    ("predict", "OUTPUT_FOLDER", "prospectivity_levels", "Folder of prospectivity level rasters"),
    ("evaluate", "OUTPUT_REPORT", "evaluation_report", "Evaluation report against the target labels (HTML)"),
    ("evaluate", "OUTPUT_JSON", "metrics", "Evaluation metrics (JSON)"),
]

OUTPUT_HELP = {
    "model": "Weights and metadata of the trained model, for 'Predict prospectivity' on other cubes.",
    "training_report": "Losses, source validation, and how the target differs from the source feature by feature.",
    "prospectivity_cube": "The target's prospectivity (0-1), uncertainty and novelty as one NetCDF cube, for "
                          "'Extract exploration targets' and 'Prospectivity voxels for 3D view'.",
    "prospectivity_levels": "One styled GeoTIFF per level for each of prospectivity, uncertainty and novelty.",
    "evaluation_report": "ROC, success-rate and P-V curves against the target labels; not written without them.",
    "metrics": "The evaluation's numbers and curves for scripts; not written without target labels.",
}


def parameter_help() -> dict[str, str]:
    """Help of each of the chain's inputs: its own for the slices, the settings table's for the settings."""
    from mpm3d.core.settings import setting

    return {**PARAMETER_HELP, **{name.lower(): setting(name).help for name in CHAIN_SETTINGS}}


def build(path: str = MODEL_PATH) -> str:
    """Write the chain to ``path`` (the shipped file by default) and return the path."""
    _qgis()
    from mpm3d.algorithms.base import settings_parameter
    from mpm3d.algorithms.qgis_enums import SOURCE_RASTER
    from mpm3d.core.settings import setting
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterMultipleLayers,
    )
    from qgis.core import (
        QgsProcessingModelChildParameterSource as Source,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm(MODEL_NAME, "Workflows", "workflows")
    inputs = [
        QgsProcessingParameterMultipleLayers("source_evidence", "Source evidence slices", SOURCE_RASTER),
        QgsProcessingParameterMultipleLayers("source_labels", "Source label slices", SOURCE_RASTER),
        QgsProcessingParameterMultipleLayers("target_evidence", "Target evidence slices", SOURCE_RASTER),
        QgsProcessingParameterMultipleLayers("target_labels", "Target label slices (optional, scoring only)",
                                             SOURCE_RASTER, optional=True),
        *(settings_parameter(setting(name)) for name in CHAIN_SETTINGS),
    ]
    help_text = parameter_help()
    for parameter in inputs[-3:]:  # the chain's own inputs are named in lower case
        parameter.setName(parameter.name().lower())
    for row, parameter in enumerate(inputs):
        parameter.setHelp(help_text[parameter.name()])
        model.addModelParameter(parameter, QgsProcessingModelParameter(parameter.name()))
        model.parameterComponent(parameter.name()).setPosition(QPointF(100 + 180 * row, 60))
    model.setParameterOrder([parameter.name() for parameter in inputs])
    model.setHelpContent({"ALG_DESC": DESCRIPTION, **help_text,
                          **{f"{output_child}:{name}": OUTPUT_HELP[name] for output_child, _, name, _ in OUTPUTS}})

    def child(child_id, algorithm, sources, x, y):
        step = QgsProcessingModelChildAlgorithm(algorithm)
        step.setChildId(child_id)
        step.setDescription(child_id.replace("_", " ").capitalize())
        step.setPosition(QPointF(x, y))
        for name, source in sources.items():
            step.addParameterSources(name, [source])
        kept = {}
        for output_child, output_name, name, description in OUTPUTS:
            if output_child == child_id:
                output = QgsProcessingModelOutput(name, description)
                output.setChildOutputName(output_name)
                output.setChildId(child_id)
                kept[name] = output
        step.setModelOutputs(kept)
        model.addChildAlgorithm(step)

    child("stack_source", "mpm3d:stack_slices", {"EVIDENCE": Source.fromModelParameter("source_evidence"),
                                                  "LABELS": Source.fromModelParameter("source_labels")}, 200, 200)
    child("stack_target", "mpm3d:stack_slices", {"EVIDENCE": Source.fromModelParameter("target_evidence")}, 500, 200)
    child("train", "mpm3d:train_model", {"SOURCE": Source.fromChildOutput("stack_source", "OUTPUT"),
                                         "TARGET": Source.fromChildOutput("stack_target", "OUTPUT"),
                                         "METHOD": Source.fromModelParameter("method"),
                                         "EPOCHS": Source.fromModelParameter("epochs"),
                                         "PATCH_SIZE": Source.fromModelParameter("patch_size")}, 350, 320)
    child("predict", "mpm3d:predict_prospectivity", {"MODEL": Source.fromChildOutput("train", "OUTPUT_MODEL"),
                                                     "CUBE": Source.fromChildOutput("stack_target", "OUTPUT")},
          350, 440)
    child("evaluate", "mpm3d:evaluate_prospectivity",
          {"PROSPECTIVITY": Source.fromChildOutput("predict", "OUTPUT_CUBE"),
           "LABEL_SLICES": Source.fromModelParameter("target_labels"),
           "ALLOW_NO_LABELS": Source.fromStaticValue(True)}, 350, 560)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not model.toFile(path):
        raise RuntimeError(f"could not write {path}")
    return path


if __name__ == "__main__":
    print(build())
