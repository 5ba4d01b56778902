"""Train prospectivity model: DANN-CTA or a baseline, in the worker process."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
)

from ..core.settings import TRAINING
from ..runtime.i18n import tr
from ..runtime.worker import run_core
from .base import WorkerAlgorithm

MODEL_EXTENSION = ".safetensors"

# outputs that only a run with target drill holes gives: (name, description)
HOLE_OUTPUTS = [("TARGET_AUC", "Target AUC on the validating drill holes"),
                ("TARGET_AUC_LOW", "Lower end of its 95 % interval (bootstrap over holes)"),
                ("TARGET_AUC_HIGH", "Upper end of its 95 % interval (bootstrap over holes)"),
                ("HOLES_VALIDATING", "Drill holes that chose the epoch and scored"),
                ("HOLES_TRAINING", "Drill holes that trained"),
                ("TARGET_CV_AUC", "Leave-holes-out cross-validated target AUC")]


class TrainModel(WorkerAlgorithm):
    NAME = "train_model"
    DISPLAY = "Train prospectivity model"
    GROUP = "Modelling"
    SUMMARY = (
        "Trains a 3D prospectivity model on the labelled source cube and adapts it, without labels, to the "
        "target cube (DANN-CTA: a domain-adversarial 3D CNN with feature, channel and spatial attention). "
        "The target cube's labels are never read. A few target drill holes, voxelised into a label cube, can "
        "choose the epoch and score the model (TARGET_LABELS validate) or also train it (train). "
        "Runs in a separate Python process with PyTorch, on CUDA when available."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("SOURCE", "Source cube (labelled)", extension="nc"),
                 "Cube of the well-drilled deposit, with a label variable (1 ore, 0 barren).")
        self.add(QgsProcessingParameterFile("TARGET", "Target cube (unlabelled)", extension="nc"),
                 "Cube of the under-explored deposit with the same features in the same order. Any labels it "
                 "holds are ignored by training.")
        for entry in (entry for entry in TRAINING if entry.in_qgis):
            self.add_setting(entry)
            if entry.name == "TARGET_LABELS":  # the holes beside the mode that reads them
                self.add(QgsProcessingParameterFile("TARGET_HOLES", "Target drill holes as a label cube (optional)",
                                                    extension="nc", optional=True),
                         "The target's drill-hole samples voxelised onto the TARGET cube's grid by 'Voxelise "
                         "drill-hole samples to labels' (1 ore, 0 barren, unknown elsewhere). A hole is a connected "
                         "run of labelled voxels; holes that touch count as one. Read only when TARGET_LABELS is "
                         "validate or train.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT_MODEL", "Model file",
                                                       "mpm3d model (*.safetensors)"),
                 "Weights and metadata (features, normalisation, provenance); loads without running code.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT_REPORT", "Training report", "HTML files (*.html)",
                                                       optional=True, createByDefault=True),
                 "Loss curves, lambda schedule, source-validation AUC and discriminator accuracy per epoch.")
        self.addOutput(QgsProcessingOutputNumber("VAL_AUC", "Source spatial-block validation AUC"))
        self.addOutput(QgsProcessingOutputNumber("BEST_EPOCH", "Best epoch"))
        self.addOutput(QgsProcessingOutputString("DEVICE_USED", "Device used"))
        self.addOutput(QgsProcessingOutputNumber("MEMBERS", "Ensemble members (trees for the random forest)"))
        for name, description in HOLE_OUTPUTS:
            self.addOutput(QgsProcessingOutputNumber(name, description))

    def parameterAsFileOutput(self, parameters, name, context):  # noqa: N802 - QGIS API
        """The model file always ends in .safetensors, so that it is recognised for what it is."""
        path = super().parameterAsFileOutput(parameters, name, context)
        if name == "OUTPUT_MODEL" and path and not path.lower().endswith(MODEL_EXTENSION):
            path += MODEL_EXTENSION
        return path

    def execute(self, parameters, context, feedback):
        model = self.output_file(parameters, "OUTPUT_MODEL", context)
        if model != super().parameterAsFileOutput(parameters, "OUTPUT_MODEL", context):
            feedback.pushInfo(tr("OUTPUT_MODEL had no {extension} extension: the model is written to {path}").format(
                extension=MODEL_EXTENSION, path=model))
        report = self.output_file(parameters, "OUTPUT_REPORT", context)
        arguments = [
            "--json-lines", "train",
            "--source", self.parameterAsFile(parameters, "SOURCE", context),
            "--target", self.parameterAsFile(parameters, "TARGET", context),
            "--out", model,
            *self.setting_arguments(TRAINING, parameters, context),
        ]
        holes = self.parameterAsFile(parameters, "TARGET_HOLES", context)
        if holes:
            arguments += ["--target-holes", holes]
        if report:
            arguments += ["--report", report]
        result = run_core(arguments, feedback, outputs=[model, report],
                          memory_hint=tr("Lower BATCH_SIZE or PATCH_SIZE."))
        feedback.pushInfo(tr("Best epoch {epoch}, source validation AUC {auc}").format(epoch=result["BEST_EPOCH"],
                                                                                        auc=result["VAL_AUC"]))
        outputs = {"OUTPUT_MODEL": model, "VAL_AUC": result["VAL_AUC"], "BEST_EPOCH": result["BEST_EPOCH"],
                   "DEVICE_USED": result["DEVICE"], "MEMBERS": result["MEMBERS"]}
        if report:
            outputs["OUTPUT_REPORT"] = report
        if "TARGET_AUC" in result:
            outputs.update({name: result.get(name) for name, _ in HOLE_OUTPUTS})
            interval = f"{result['TARGET_AUC_LOW']:.3f}-{result['TARGET_AUC_HIGH']:.3f}"
            cross = tr(", leave-holes-out {auc}").format(auc=f"{result['TARGET_CV_AUC']:.3f}") \
                if "TARGET_CV_AUC" in result else ""
            feedback.pushInfo(tr("Target AUC on {holes} drill holes {auc} (95 % interval over holes {interval}){cross}")
                              .format(holes=result["HOLES_VALIDATING"], auc=f"{result['TARGET_AUC']:.3f}",
                                      interval=interval, cross=cross))
        return outputs
