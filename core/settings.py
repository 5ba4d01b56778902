"""Every training and prediction setting, declared once: name, command-line flag, config field, type, default,
bounds, label and help.

The Train and Predict algorithms build their QGIS parameters from these tables, the command line builds its
options from them, TrainConfig is made from TRAINING, and ``check`` refuses a bad value with the parameter's
name, so a setting's bounds and default cannot differ between layers. Adding a setting is one entry here plus
its use. No torch: the QGIS side imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, make_dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from .errors import Mpm3dError
from .learning.selection import SELECTION_LABELS, SELECTION_RULES, TARGET_LABEL_LABELS, TARGET_LABEL_MODES

# Method name -> its label in every method list, in the order of those lists (an algorithm's enum index).
METHOD_LABELS = {
    "dann_cta": "DANN-CTA: domain adaptation with triple attention (the paper's method)",
    "dann": "DANN: domain adaptation, no attention",
    "cta": "CTA: triple attention, no domain adaptation",
    "cnn": "CNN: plain 3D CNN (source only)",
    "rf": "Random forest on the centre voxel (source only)",
}
METHODS = tuple(METHOD_LABELS)
NETWORK_METHODS = tuple(method for method in METHODS if method != "rf")
DOMAIN_HEAD_METHODS = ("dann_cta", "dann")  # the adapting ones: a domain head behind the reversed gradient

AUTOMATIC_DEVICE = "auto"  # CUDA where the worker's PyTorch sees a GPU, else the CPU
AUTOMATIC = "auto"  # a choice whose value follows METHOD (Setting.by_method), resolved when training starts
DEVICES = (AUTOMATIC_DEVICE, "cuda", "cpu")
# ENSEMBLE_MEMBERS 0: 5 where a GPU trains them side by side (5 cost about 4 times one), 3 on the CPU (each costs
# one training): enough for a spread.
AUTOMATIC_MEMBERS = {"cuda": 5, "cpu": 3}
# CHUNK_VOXELS 0: output voxels per forward pass by device.
AUTOMATIC_CHUNK_VOXELS = {"cpu": 1_000_000, "cuda": 8_000_000}
QGIS_MAX_INTEGER = 2**31 - 1  # a QGIS integer spin box holds a 32-bit number


@dataclass(frozen=True)
class Setting:
    """One user-facing setting. ``name`` is the QGIS parameter, ``field`` the TrainConfig field and the
    command line's destination, ``what`` the words an error message uses for it."""

    name: str
    field: str
    kind: str  # "int", "float", "bool", "str" or "choice"
    default: Any
    description: str
    what: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    labels: dict[str, str] | None = None  # choice: value -> its label in the QGIS list, in list order
    odd: bool = False
    advanced: bool = False
    flag: str = ""  # the command-line option; "" -> --field-with-hyphens
    in_qgis: bool = True  # False: a command-line option only (the worker's own concerns)
    by_method: dict[str, Any] | None = None  # choice AUTOMATIC: the value it stands for, per METHOD

    @property
    def option(self) -> str:
        return self.flag or "--" + self.field.replace("_", "-")

    @property
    def choices(self) -> tuple:
        return tuple(self.labels) if self.labels else ()

    def problem(self, value: Any) -> str:
        """'' if ``value`` is allowed, else what is wrong with it, naming the parameter."""
        if self.kind == "choice":
            if value in self.choices:
                return ""
            return f"unknown {self.what} ({self.name}) '{value}'; choose one of {', '.join(self.choices)}"
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{self.name} must be a number, got {value!r}"
            if not math.isfinite(value):
                return f"{self.name} must be a finite number, got {value}"
            whole = self.kind == "int"
            if whole and value != int(value):
                return f"{self.name} must be a whole number, got {value}"
            low = self.minimum is not None and value < self.minimum
            high = self.maximum is not None and value > self.maximum
            if low or high or (self.odd and int(value) % 2 == 0):
                kind = ("an odd whole number" if self.odd else "a whole number") if whole else "a number"
                span = (f"from {_number(self.minimum)} to {_number(self.maximum)}" if self.maximum is not None
                        else f"of at least {_number(self.minimum)}")
                return f"the {self.what} ({self.name}) must be {kind} {span}, got {_number(value)}"
        return ""


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


TRAINING: tuple[Setting, ...] = (
    Setting("TARGET_LABELS", "target_labels", "choice", "ignore", "Target drill holes", "target label mode",
            "What training does with the target's drill holes (TARGET_HOLES). Ignore: nothing, the label-free "
            "adaptation. Validate: the holes choose each network's epoch (SELECTION is then not used) and give a "
            "target AUC with a 95 % interval over holes; they never reach a loss. Train: the holes are dealt into "
            "folds (HOLE_FOLDS, whole holes, ore spread over them); one fold validates as above, the others join "
            "the label loss, weighted by TARGET_LABEL_WEIGHT; training holes within half a patch of a validating "
            "one are left out. Validate and train need holes with ore and barren voxels.",
            labels={mode: TARGET_LABEL_LABELS[mode] for mode in TARGET_LABEL_MODES}),
    # 0.3 was picked on seeds 0-4 over 0.3, 1 and 3 and confirmed on seeds 5-9 against the earlier 1
    # (bench/holes/results.md).
    Setting("TARGET_LABEL_WEIGHT", "target_label_weight", "float", 0.3, "Weight of the drill holes' label loss",
            "weight of the drill holes' label loss",
            "Train mode: each labelled batch carries one class-balanced hole patch per 4 source patches, and their "
            "loss counts this many times the source's (1: as much as the whole source; the random forest weighs "
            "the holes' voxels likewise).", minimum=0.0, maximum=1000.0, advanced=True),
    Setting("HOLE_FOLDS", "hole_folds", "int", 3, "Drill-hole folds", "number of drill-hole folds",
            "Train mode: the holes are dealt into this many folds (at most one per hole); the first validates, the "
            "others train. More folds: more holes train, fewer score.", minimum=2, maximum=100, advanced=True),
    Setting("HOLE_CROSS_VALIDATION", "hole_cv", "bool", False, "Leave-holes-out cross-validation",
            "leave-holes-out cross-validation",
            "Train mode: train once more per other fold, each time holding that fold's holes out, and score every "
            "hole with the model that never saw it: an honest target AUC of training on holes. Costs HOLE_FOLDS "
            "times one training; the model written is the first fold's."),
    Setting("METHOD", "method", "choice", "dann_cta", "Method", "method",
            "DANN-CTA is the method of the paper; the others are its baselines and ablations. The project's "
            "benchmark on synthetic deposits puts the random forest and DANN about level with or ahead of it, so "
            "compare them on your data.",
            labels=METHOD_LABELS),
    Setting("EPOCHS", "epochs", "int", 20, "Epochs", "number of epochs",
            "Passes over the source samples (all ore voxels and the sampled barren ones). More fits the source more "
            "closely, which does not always transfer better; 20 is a reasonable start.", minimum=1, maximum=10000),
    # The paper's patch (9); at most 31, where one patch of 8 features is 0.9 MB and an epoch on the CPU hours.
    Setting("PATCH_SIZE", "patch_size", "int", 9, "Patch size (voxels, odd)", "patch size",
            "Edge length of the cubic neighbourhood the network sees around each voxel. 9 as in the paper; 5 or 7 for "
            "small models or a quick look.", minimum=3, maximum=31,
            odd=True, advanced=True),
    Setting("BATCH_SIZE", "batch_size", "int", 128, "Batch size (per deposit)", "batch size",
            "Source patches per step; as many target patches join them. Lower it if memory runs out.", minimum=2,
            advanced=True),
    Setting("LEARNING_RATE", "learning_rate", "float", 1e-3, "Learning rate", "learning rate",
            "Initial learning rate mu0, annealed as mu0 / (1 + 10 p)^0.75 over training progress p.", minimum=1e-6,
            advanced=True),
    Setting("NEGATIVE_RATIO", "negative_ratio", "float", 1.0, "Barren samples per ore sample",
            "number of barren samples per ore sample", "Barren voxels drawn anew each epoch for every ore voxel.",
            minimum=0.01, maximum=1000.0, advanced=True),
    # 65,536 bounds an epoch on a real-size deposit (about 6 minutes on 2 CPU cores at patch 9) and is above the
    # largest epoch of the synthetic test, demo and bench deposits (about 62,000 samples: 30,886 training ore voxels
    # at most, seeds 0-9, negative ratio 1), which therefore train exactly as without a budget.
    Setting("SAMPLES_PER_EPOCH", "samples_per_epoch", "int", 65_536, "Samples per epoch (0 = every ore voxel)",
            "number of samples per epoch",
            "Labelled patches (ore and barren) one epoch trains on at most; the default keeps an epoch on a large "
            "deposit to minutes on a CPU. Where the source has more ore than that holds, each epoch takes the next "
            "share of its ore voxels (with their barren partners), so every ore voxel is seen over the epochs and "
            "an epoch's time no longer grows with the deposit; smaller deposits train on every ore voxel each "
            "epoch. Lower it for quicker epochs on a large deposit on the CPU; raise it (or give 0) to see every "
            "ore voxel each epoch where time allows, e.g. on a GPU. The random forest is fitted on one epoch's "
            "samples.", minimum=0, advanced=True),
    Setting("LAMBDA_MAX", "lambda_max", "float", 1.0, "Domain adaptation weight (lambda max)",
            "domain adaptation weight",
            "Final weight of the reversed domain gradient; it rises as 2/(1+exp(-10 p)) - 1.", minimum=0.0,
            advanced=True),
    Setting("TRAINING_MODE", "training_mode", "choice", AUTOMATIC, "Training mode (networks)", "training mode",
            "Patch: one 3D patch per labelled voxel, the paper's way. Block: the label loss on blocks of the cube, "
            "run as prediction runs the network (512 outputs a block, one block around an ore voxel and one "
            "around a barren voxel per step, the ore and barren voxels weighed half each), the domain loss on 32 "
            "patches of each deposit per step; as many steps as the patch mode, each for about a third of a patch "
            "step's work, until SAMPLES_PER_EPOCH (counted in labelled outputs) bounds the epoch. Automatic: block "
            "on the CPU, patch on a GPU (where block training has not been measured) and wherever block mode "
            "cannot take the other settings (training on target drill holes, DOMAIN_STEPS, TARGET_LOSS). On the "
            "project's benchmark block training matched patch training's target AUC at every default in less "
            "than half the time (bench/blocks).",
            labels={AUTOMATIC: "Automatic (block on the CPU)", "patch": "Patch (the paper's)",
                    "block": "Block (faster on the CPU)"}, advanced=True),
    Setting("DOMAIN_STEPS", "domain_steps", "int", 0, "Extra domain steps per labelled step",
            "number of extra domain steps per labelled step",
            "DANN and DANN-CTA: after each labelled step, this many steps on unlabelled source and target patches "
            "with the domain loss alone. The labelled steps follow the ore count (a few dozen per epoch on a small "
            "deposit); target patches are plentiful, so this lets the adversary play longer without repeating ore. "
            "Each extra step costs about two thirds of a labelled one.", minimum=0, maximum=20, advanced=True),
    Setting("DISCRIMINATOR", "discriminator", "choice", "small", "Domain discriminator", "domain discriminator",
            "DANN and DANN-CTA: the network that tells source from target patches. Small: one hidden layer of 64 "
            "units. Large: two of 1024 with batch norm, as Transfer-Learning-Library's DANN; it tells the deposits "
            "apart sooner, so the reversed gradient carries more signal.",
            labels={"small": "Small (64 units)", "large": "Large (1024-1024, batch norm)"}, advanced=True),
    # auto = quantile for the forest by THE FOREST'S RULE (bench/profiles.py, fresh seeds 10-19: +0.011 ± 0.005 on
    # fault_geometry, better on 10 of 10, no loss on the other profiles); none for the networks (THE RULE: no gain)
    Setting("INPUT_ALIGNMENT", "input_alignment", "choice", AUTOMATIC, "Input alignment (target onto source)",
            "input alignment",
            "Maps the evidence of the cube a model is applied to onto the source's before anything else, for every "
            "method, the random forest included; the model keeps the source's side and prediction measures the "
            "cube's own, as standardisation does. Quantile: each evidence layer through its own distribution onto "
            "the source's, which undoes any monotone rescaling of a layer (log units, other class cut points). "
            "CORAL: the standardised layers decorrelated and recoloured with the source's correlations, which also "
            "undoes a linear mix of layers. Neither can move ore that sits elsewhere relative to its evidence. "
            "Automatic: quantile for the random forest, none for the networks, because on the project's "
            "benchmark quantile mapping raised the forest's target AUC where a layer was exported on another "
            "scale and cost it nothing elsewhere, on seeds not seen when the choice was made, while the networks "
            "gained nothing from it (bench/profiles).",
            labels={"none": "None", "quantile": "Quantile mapping per layer", "coral": "CORAL (correlations)",
                    AUTOMATIC: "Automatic (quantile for the random forest, none for networks)"},
            by_method={"rf": "quantile", **{method: "none" for method in NETWORK_METHODS}}, advanced=True),
    Setting("TARGET_BATCH_NORM", "target_batch_norm", "bool", False, "Target batch-norm statistics (AdaBN)",
            "target batch-norm statistics",
            "Networks: after training, the batch norms' statistics are measured anew on target patches alone "
            "(AdaBN, Li et al. 2016), so the model is tuned to the target's evidence; predict the target with it. "
            "The source validation AUC in the report is that of the weights before."),
    Setting("TARGET_LOSS", "target_loss", "choice", "none", "Label-free target loss (networks)", "target loss",
            "Networks: a loss on the predictions for the unlabelled target patches of each step, added to the label "
            "(and domain) loss. MCC: Minimum Class Confusion (Jin et al. 2020), which makes the target's "
            "predictions less confused between ore and barren, each class weighed alike so a 1-2 % ore share "
            "still counts (core/learning/class_confusion.py). Patch training only; the random forest ignores it.",
            labels={"none": "None", "mcc": "MCC (minimum class confusion)"}, advanced=True),
    Setting("VALIDATION_FRACTION", "val_fraction", "float", 0.25, "Validation fraction (source x-y blocks)",
            "validation fraction",
            "Share of the source's 4 x 4 x-y blocks held out (whole columns, with a buffer) to choose the best "
            "epoch. 0 trains on every labelled voxel and keeps the last epoch: use it when the ore is too "
            "concentrated to be split into blocks.", minimum=0.0, maximum=0.9, advanced=True),
    Setting("SELECTION", "selection", "choice", "source_val", "Epoch choice (no target labels)",
            "epoch selection rule",
            "Which epoch's weights each network keeps. Every rule's score is computed each epoch and shown in the "
            "training report. The source validation AUC cannot see adaptation; the others read the unlabelled "
            "target: entropy prefers confident target maps, DEV weights the source validation loss by how "
            "target-like each voxel is, MixVal checks predictions on blends of target patches. The project's "
            "benchmark (bench/selection) says which helps on its synthetic pair. Does not apply to the random "
            "forest.", labels={rule: SELECTION_LABELS[rule] for rule in SELECTION_RULES}, advanced=True),
    Setting("ENSEMBLE_MEMBERS", "members", "int", 0, "Ensemble members (0 = automatic)", "number of ensemble members",
            "Networks trained from their own seeds (own weights, barren draws and augmentation); prediction maps "
            "their mean as prospectivity and their spread as uncertainty. 0: {cuda} on CUDA, where the members "
            "train side by side (5 cost about 4 times one), {cpu} on the CPU, where each member costs one training "
            "run (3 members take three times as long). 1: a single network, no uncertainty. The random forest's "
            "members are its 200 trees; this does not apply to it.".format(**AUTOMATIC_MEMBERS),
            minimum=0, maximum=50, flag="--members"),
    Setting("DEVICE", "device", "choice", AUTOMATIC_DEVICE, "Device", "device",
            "auto: CUDA when the worker's PyTorch sees a GPU, else the CPU.",
            labels={device: device for device in DEVICES}, advanced=True),
    Setting("SEED", "seed", "int", 0, "Random seed", "random seed", "Same seed and data, same model on the CPU.",
            minimum=0, maximum=2**32 - 1, advanced=True),
    Setting("MEMORY_LIMIT", "memory_limit_gb", "float", 0.0, "Memory limit (GB)", "memory limit",
            "GB of memory training may use; a run estimated to need more is refused before it starts (0: 80 % of "
            "the memory available when it starts).", minimum=0.0, flag="--memory-limit", in_qgis=False),
)

PREDICTION: tuple[Setting, ...] = (
    Setting("PREFIX", "prefix", "str", "prospectivity", "Layer and file name prefix", "prefix",
            "Start of the level raster names; also the name of the layer group."),
    next(entry for entry in TRAINING if entry.name == "DEVICE"),
    Setting("CHUNK_VOXELS", "chunk_voxels", "int", 0, "Voxels per chunk (0 = automatic)", "number of voxels per chunk",
            "Output voxels computed in one pass; bounds memory. 0: 1 million on the CPU, 8 million on CUDA. Lower it "
            "when memory runs out.", minimum=0, advanced=True),
    Setting("WHY_HERE", "why_here", "bool", False, "Dominant evidence per voxel (why here)", "dominant evidence",
            "Also writes, per level, which evidence layer the prospectivity of each voxel rests on most: the layer "
            "whose replacement by its source mean changes the voxel's prospectivity most (one class per layer, "
            "styled with a legend; 0 where no layer changes it), and that change (prospectivity minus the "
            "prediction without the layer: positive where the layer's value raises the prospectivity there). "
            "Exact: one more dense prediction per evidence layer, so it costs about as many predictions as there "
            "are layers. Extract targets then lists each target's top three layers."),
    Setting("GATE_WEIGHTS", "gate_weights", "bool", False, "Feature gate weights (DANN-CTA, CTA)",
            "feature gate weights",
            "Also writes the triple attention's feature gate into the prospectivity cube: one variable per evidence "
            "layer (gate_<layer>, 0-1), the weight the network gives that layer at each voxel (the members' mean), "
            "so you can see where it leans on which evidence. Export slices turns them into level rasters. Only "
            "for models with feature attention.", advanced=True),
)


def setting(name: str, table: tuple[Setting, ...] = TRAINING) -> Setting:
    """The entry of parameter ``name``."""
    return next(entry for entry in table if entry.name == name)


DEFAULTS: dict[str, Any] = {entry.field: entry.default for entry in TRAINING}

# Training's config: one field per TRAINING setting, and three that only scripts and tests set.
TrainConfig = make_dataclass(
    "TrainConfig",
    [(entry.field, type(entry.default), dataclass_field(default=entry.default)) for entry in TRAINING] + [
        ("weight_decay", float, dataclass_field(default=1e-4)),
        # "own": each deposit standardised by its own statistics; "source": the target by the source's (ablation)
        ("target_normalisation", str, dataclass_field(default="own")),
        # members side by side as one stacked network (core/learning/members.py); None: on CUDA, where that costs
        # little more than one member
        ("members_together", bool | None, dataclass_field(default=None)),
    ],
    frozen=True,
)
TrainConfig.__module__ = __name__  # make_dataclass's own argument for this needs Python 3.12
TrainConfig.__doc__ = ("Everything that decides a training run; with the seed and the data it decides the weights. "
                       "The fields are core/settings.py's TRAINING settings (members 0: automatic, resolved when "
                       "training starts) and weight_decay, target_normalisation and members_together.")
NORMALISATIONS = ("own", "source")


def resolved(config: Any) -> Any:
    """``config`` (a TrainConfig) with every AUTOMATIC choice replaced by what it stands for under its METHOD:
    what training uses, and what the model file and the training report record. TRAINING_MODE follows the device
    too: training_mode_for resolves it once the device is known."""
    fixed = {entry.field: entry.by_method[config.method] for entry in TRAINING
             if entry.by_method and getattr(config, entry.field) == AUTOMATIC}
    return replace(config, **fixed) if fixed else config


def training_mode_for(config: Any, device_type: str) -> str:
    """TRAINING_MODE as training takes it on ``device_type``: AUTOMATIC is block on the CPU where block training
    takes the other settings (block_refusal), else patch."""
    if config.training_mode != AUTOMATIC or config.method == "rf":  # the forest has no training steps
        return config.training_mode
    return "block" if device_type == "cpu" and not block_refusal(config) else "patch"


def block_refusal(config: Any) -> str:
    """What of ``config`` block training cannot do, in the words of an error message; '' if nothing."""
    asked = [words for asked, words in (
        (config.target_labels == "train", "training on target drill holes (TARGET_LABELS 'train')"),
        (config.domain_steps > 0, "extra domain steps (DOMAIN_STEPS)"),
        (config.target_loss != "none", f"a target loss (TARGET_LOSS '{config.target_loss}')")) if asked]
    return " or ".join(asked)


def check(values: Any, table: tuple[Setting, ...]) -> None:
    """Refuse the first value of ``values`` (a TrainConfig or parsed arguments) its setting does not allow."""
    for entry in table:
        problem = entry.problem(getattr(values, entry.field))
        if problem:
            raise Mpm3dError(problem)
    if table is TRAINING:
        if not math.isfinite(values.weight_decay):
            raise Mpm3dError(f"the weight decay must be a finite number, got {values.weight_decay}")
        if values.target_normalisation not in NORMALISATIONS:
            raise Mpm3dError(f"the target normalisation must be 'own' or 'source', not "
                             f"'{values.target_normalisation}'")


def check_settings(source_shape: tuple[int, int, int], target_shape: tuple[int, int, int], config: Any) -> None:
    """Refuse settings that cannot train on cubes of these shapes, naming the parameter: before the memory
    estimate and before any cube is read."""
    check(config, TRAINING)
    for role, shape in (("source", source_shape), ("target", target_shape)):
        if min(shape) < 3:
            raise Mpm3dError(f"the {role} cube ({role.upper()}) {tuple(shape)} (z, y, x) is too small: a 3D "
                             "patch needs at least 3 voxels along z, y and x; stack more levels or larger slices")
    for role, shape in (("source", source_shape), ("target", target_shape)):
        if config.patch_size > min(shape):
            raise Mpm3dError(f"the patch size {config.patch_size} (PATCH_SIZE) is larger than the {role} cube "
                             f"({role.upper()}) {tuple(shape)} (z, y, x); choose an odd patch size of at most "
                             f"{min(shape)}")
    refusal = block_refusal(config)
    if config.training_mode == "block" and config.method != "rf" and refusal:
        raise Mpm3dError(f"block training (TRAINING_MODE 'block') does not take {refusal}; choose TRAINING_MODE "
                         "'patch' for it")
    if config.hole_cv and config.target_labels != "train":
        raise Mpm3dError("the leave-holes-out cross-validation (HOLE_CROSS_VALIDATION) scores training on holes: it "
                         f"needs TARGET_LABELS 'train', not '{config.target_labels}'")
