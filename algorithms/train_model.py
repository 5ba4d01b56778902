"""Train prospectivity model: DANN-CTA or a baseline, in the worker process."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ..core.choices import METHOD_LABELS, METHODS
from ..core.choices import TRAINING_DEFAULTS as DEFAULTS
from ..core.learning.selection import SELECTION_LABELS, SELECTION_RULES, TARGET_LABEL_LABELS, TARGET_LABEL_MODES
from ..provider.i18n import tr
from ..provider.worker import run_core
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
        self.add(QgsProcessingParameterEnum("TARGET_LABELS", "Target drill holes",
                                            [TARGET_LABEL_LABELS[mode] for mode in TARGET_LABEL_MODES],
                                            defaultValue=0),
                 "What training does with the target's drill holes (TARGET_HOLES). Ignore: nothing, the label-free "
                 "adaptation. Validate: the holes choose each network's epoch (SELECTION is then not used) and give "
                 "a target AUC with a 95 % interval over holes; they never reach a loss. Train: the holes are dealt "
                 "into folds (HOLE_FOLDS, whole holes, ore spread over them); one fold validates as above, the "
                 "others join the label loss, weighted by TARGET_LABEL_WEIGHT; training holes within half a patch "
                 "of a validating one are left out. Validate and train need holes with ore and barren voxels.")
        self.add(QgsProcessingParameterFile("TARGET_HOLES", "Target drill holes as a label cube (optional)",
                                            extension="nc", optional=True),
                 "The target's drill-hole samples voxelised onto the TARGET cube's grid by 'Voxelise drill-hole "
                 "samples to labels' (1 ore, 0 barren, unknown elsewhere). A hole is a connected run of labelled "
                 "voxels; holes that touch count as one. Read only when TARGET_LABELS is validate or train.")
        self.add(QgsProcessingParameterNumber("TARGET_LABEL_WEIGHT", "Weight of the drill holes' label loss",
                                              QgsProcessingParameterNumber.Double,
                                              DEFAULTS["target_label_weight"], minValue=0.0, maxValue=1000.0),
                 "Train mode: each labelled batch carries one class-balanced hole patch per 4 source patches, and "
                 "their loss counts this many times the source's (1: as much as the whole source; the random "
                 "forest weighs the holes' voxels likewise).", advanced=True)
        self.add(QgsProcessingParameterNumber("HOLE_FOLDS", "Drill-hole folds", QgsProcessingParameterNumber.Integer,
                                              3, minValue=2, maxValue=100),
                 "Train mode: the holes are dealt into this many folds (at most one per hole); the first validates, "
                 "the others train. More folds: more holes train, fewer score.", advanced=True)
        self.add(QgsProcessingParameterBoolean("HOLE_CROSS_VALIDATION", "Leave-holes-out cross-validation",
                                               defaultValue=False),
                 "Train mode: train once more per other fold, each time holding that fold's holes out, and score "
                 "every hole with the model that never saw it: an honest target AUC of training on holes. Costs "
                 "HOLE_FOLDS times one training; the model written is the first fold's.")
        self.add(QgsProcessingParameterEnum("METHOD", "Method", [METHOD_LABELS[m] for m in METHODS],
                                            defaultValue=METHODS.index(DEFAULTS["method"])),
                 "DANN-CTA is the method of the paper; the others are its baselines and ablations.")
        self.add(QgsProcessingParameterNumber("EPOCHS", "Epochs", QgsProcessingParameterNumber.Integer,
                                              DEFAULTS["epochs"], minValue=1, maxValue=10000),
                 "Passes over the source samples (all ore voxels and the sampled barren ones).")
        self.add(QgsProcessingParameterNumber("PATCH_SIZE", "Patch size (voxels, odd)",
                                              QgsProcessingParameterNumber.Integer, DEFAULTS["patch_size"], minValue=3,
                                              maxValue=31),
                 "Edge length of the cubic neighbourhood the network sees around each voxel.", advanced=True)
        self.add(QgsProcessingParameterNumber("BATCH_SIZE", "Batch size (per deposit)",
                                              QgsProcessingParameterNumber.Integer, DEFAULTS["batch_size"], minValue=2),
                 "Source patches per step; as many target patches join them. Lower it if memory runs out.",
                 advanced=True)
        self.add(QgsProcessingParameterNumber("LEARNING_RATE", "Learning rate",
                                              QgsProcessingParameterNumber.Double, DEFAULTS["learning_rate"],
                                              minValue=1e-6),
                 "Initial learning rate mu0, annealed as mu0 / (1 + 10 p)^0.75 over training progress p.",
                 advanced=True)
        self.add(QgsProcessingParameterNumber("NEGATIVE_RATIO", "Barren samples per ore sample",
                                              QgsProcessingParameterNumber.Double, DEFAULTS["negative_ratio"],
                                              minValue=0.01, maxValue=1000.0),
                 "Barren voxels drawn anew each epoch for every ore voxel.", advanced=True)
        self.add(QgsProcessingParameterNumber("SAMPLES_PER_EPOCH", "Samples per epoch (0 = every ore voxel)",
                                              QgsProcessingParameterNumber.Integer, DEFAULTS["samples_per_epoch"],
                                              minValue=0),
                 "Labelled patches (ore and barren) one epoch trains on at most; the default keeps an epoch on a "
                 "large deposit to minutes on a CPU. Where the source has more ore than that holds, each epoch takes "
                 "the next share of its ore voxels (with their barren partners), so every ore voxel is seen over the "
                 "epochs and an epoch's time no longer grows with the deposit; smaller deposits train on every ore "
                 "voxel each epoch. Lower it for quicker epochs on a large deposit on the CPU; raise it (or give 0) "
                 "to see every ore voxel each epoch where time allows, e.g. on a GPU. The random forest is fitted on "
                 "one epoch's samples.", advanced=True)
        self.add(QgsProcessingParameterNumber("LAMBDA_MAX", "Domain adaptation weight (lambda max)",
                                              QgsProcessingParameterNumber.Double, DEFAULTS["lambda_max"],
                                              minValue=0.0),
                 "Final weight of the reversed domain gradient; it rises as 2/(1+exp(-10 p)) - 1.", advanced=True)
        self.add(QgsProcessingParameterNumber("VALIDATION_FRACTION", "Validation fraction (source x-y blocks)",
                                              QgsProcessingParameterNumber.Double, DEFAULTS["val_fraction"],
                                              minValue=0.0, maxValue=0.9),
                 "Share of the source's 4 x 4 x-y blocks held out (whole columns, with a buffer) to choose the best "
                 "epoch. 0 trains on every labelled voxel and keeps the last epoch: use it when the ore is too "
                 "concentrated to be split into blocks.", advanced=True)
        self.add(QgsProcessingParameterEnum("SELECTION", "Epoch choice (no target labels)",
                                            [SELECTION_LABELS[rule] for rule in SELECTION_RULES], defaultValue=0),
                 "Which epoch's weights each network keeps. Every rule's score is computed each epoch and shown in "
                 "the training report. The source validation AUC cannot see adaptation; the others read the "
                 "unlabelled target: entropy prefers confident target maps, DEV weights the source validation "
                 "loss by how target-like each voxel is, MixVal checks predictions on blends of target patches. "
                 "The project's benchmark (bench/selection) says which helps on its synthetic pair. Does not apply "
                 "to the random forest.", advanced=True)
        self.add(QgsProcessingParameterNumber("ENSEMBLE_MEMBERS", "Ensemble members (0 = automatic)",
                                              QgsProcessingParameterNumber.Integer, 0, minValue=0, maxValue=50),
                 "Networks trained from their own seeds (own weights, barren draws and augmentation); prediction "
                 "maps their mean as prospectivity and their spread as uncertainty. 0: 5 on CUDA, where the members "
                 "train side by side (5 cost about 4 times one), 3 on the CPU, where each member costs one training "
                 "run (3 members take three times as long). 1: a single "
                 "network, no uncertainty. The random forest's members are its 200 trees; this does not apply "
                 "to it.")
        self.add_device_parameter()
        self.add(QgsProcessingParameterNumber("SEED", "Random seed", QgsProcessingParameterNumber.Integer, 0,
                                              minValue=0), "Same seed and data, same model on the CPU.", advanced=True)
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
            "--method", METHODS[self.parameterAsEnum(parameters, "METHOD", context)],
            "--epochs", self.parameterAsInt(parameters, "EPOCHS", context),
            "--patch-size", self.parameterAsInt(parameters, "PATCH_SIZE", context),
            "--batch-size", self.parameterAsInt(parameters, "BATCH_SIZE", context),
            "--learning-rate", self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            "--negative-ratio", self.parameterAsDouble(parameters, "NEGATIVE_RATIO", context),
            "--samples-per-epoch", self.parameterAsInt(parameters, "SAMPLES_PER_EPOCH", context),
            "--lambda-max", self.parameterAsDouble(parameters, "LAMBDA_MAX", context),
            "--val-fraction", self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            "--device", self.device_argument(parameters, context),
            "--seed", self.parameterAsInt(parameters, "SEED", context),
            "--members", self.parameterAsInt(parameters, "ENSEMBLE_MEMBERS", context),
            "--selection", SELECTION_RULES[self.parameterAsEnum(parameters, "SELECTION", context)],
            "--target-labels", TARGET_LABEL_MODES[self.parameterAsEnum(parameters, "TARGET_LABELS", context)],
            "--target-label-weight", self.parameterAsDouble(parameters, "TARGET_LABEL_WEIGHT", context),
            "--hole-folds", self.parameterAsInt(parameters, "HOLE_FOLDS", context),
        ]
        holes = self.parameterAsFile(parameters, "TARGET_HOLES", context)
        if holes:
            arguments += ["--target-holes", holes]
        if self.parameterAsBoolean(parameters, "HOLE_CROSS_VALIDATION", context):
            arguments.append("--hole-cv")
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
