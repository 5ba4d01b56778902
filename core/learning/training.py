"""Training: DANN-CTA and its ablations on source + target patches, or the random-forest baseline.

The target cube's labels are never read here: it contributes its evidence (unlabelled patches for the
domain loss, and its own standardisation statistics). Target drill holes come apart, as a label cube of
voxelised holes, and only in the mode ``TrainConfig.target_labels`` names:

- ``ignore``: not read (label-free adaptation).
- ``validate``: all holes choose the epoch (rule ``target_holes``) and give a target AUC with a bootstrap
  interval over holes; they never reach a loss, so every epoch's weights are those of ``ignore``.
- ``train``: the holes are dealt into folds; fold 0 validates as above, the others' voxels join the label
  loss. The scheme is the simplest semi-supervised adaptation that works with few labels: the training
  holes' patches are added to every labelled batch (class-balanced, a quarter of the batch) and their loss
  is added with a weight, on top of the source label loss and the domain loss ("supervised DA" as in
  Saenko et al. 2010 and the S+T baseline of Saito et al. 2019). MME (Saito et al. 2019) needs a cosine
  classifier and an entropy game tuned per data set, and fine-tuning on a handful of holes overfits them
  and forgets the source; adding them to the batch keeps one training, one schedule and one network.

A network's epoch is otherwise chosen by the rule ``TrainConfig.selection`` names (core/learning/selection.py);
every rule's scores are kept per epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch.nn import functional as nnf

from ..choices import METHODS, TRAINING_DEFAULTS
from ..data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Cube
from ..data.voxelise import hole_folds, hole_groups, near_labels
from ..errors import Mpm3dError
from ..results.metrics import hole_auc, roc_auc
from .members import MemberStack, TrainingHeads
from .model import (
    ForestArrays,
    ProspectivityNet,
    TrainedModel,
    autocast_for,
    config_for_method,
    domain_discriminator,
    resolve_device,
)
from .novelty import source_sample
from .predict import CHUNK_VOXELS, predict_patches
from .sampling import (
    N_TRANSFORMS,
    OreCycle,
    PatchGatherer,
    SourceSplit,
    barren_count,
    cube_stats,
    draw_source_epoch,
    epoch_ore_count,
    padded_standardised,
    spatial_block_split,
    standardise,
)
from .selection import (
    HOLE_RULE,
    HOLE_SCORE,
    SELECTION_RULES,
    TARGET_LABEL_MODES,
    averaged_epochs,
    chosen_epoch,
)
from .selection_scores import (
    EVAL_BATCH,
    SelectionProbe,
    average_states,
    embed_and_score,
    epoch_scores,
    hole_epoch_score,
    selection_probe,
)

MAX_VALIDATION_VOXELS = 20_000
# The discriminator must keep up with the features it judges, or in a run of a few hundred steps it never
# tells the domains apart and the reversed gradient carries no signal.
DISCRIMINATOR_LR_FACTOR = 10.0
PROGRESS_CALLS_PER_EPOCH = 20
MEMBER_SEED_STRIDE = 1000
HOLE_BATCH_SHARE = 4  # train mode: one hole patch per 4 source patches in each labelled batch
MEMORY_SHARE = 0.8  # of the memory available at the start: the default limit of the memory check
GB = 1024**3


@dataclass
class TrainConfig:
    """Everything that decides a training run; with the seed and the data it decides the weights."""

    method: str = TRAINING_DEFAULTS["method"]
    patch_size: int = TRAINING_DEFAULTS["patch_size"]
    epochs: int = TRAINING_DEFAULTS["epochs"]
    # per step: B labelled source patches, and B source + B target for the domain loss
    batch_size: int = TRAINING_DEFAULTS["batch_size"]
    learning_rate: float = TRAINING_DEFAULTS["learning_rate"]
    negative_ratio: float = TRAINING_DEFAULTS["negative_ratio"]
    lambda_max: float = TRAINING_DEFAULTS["lambda_max"]
    weight_decay: float = 1e-4
    device: str = "auto"
    seed: int = 0
    val_fraction: float = TRAINING_DEFAULTS["val_fraction"]
    # labelled samples (ore + barren) per epoch at most, ore voxels cycling over the epochs; 0: all ore each epoch
    samples_per_epoch: int = TRAINING_DEFAULTS["samples_per_epoch"]
    # memory training may use, in GB; 0: MEMORY_SHARE of the memory available when it starts (memory_limit())
    memory_limit_gb: float = 0.0
    # "own": each deposit standardised by its own statistics; "source": the target by the source's (an ablation)
    target_normalisation: str = "own"
    # networks trained from their own seeds; their spread is the map's uncertainty (the forest's are its trees)
    members: int = 1
    # members side by side as one stacked network (core/learning/members.py); None: on CUDA, where that costs little
    # more than one member
    members_together: bool | None = None
    # how a network's weights are chosen among its epochs, without target labels: core/learning/selection.py
    selection: str = "source_val"
    # target drill holes (a label cube given to train()): "ignore", "validate" or "train" (module docstring)
    target_labels: str = "ignore"
    target_label_weight: float = TRAINING_DEFAULTS["target_label_weight"]  # train mode: the holes' loss weight
    hole_folds: int = 3  # train mode: holes dealt into this many folds; fold 0 validates, the others train
    hole_cv: bool = False  # train mode: one training per fold, for a leave-holes-out AUC (folds x the cost)


@dataclass
class MemberRun:
    """One ensemble member's training: its seed, epochs, the epoch its selection rule chose (the last of
    the averaged ones for ``average``) and the source validation AUC of the weights it returned."""

    seed: int
    history: list[dict]
    best_epoch: int
    val_auc: float | None
    averaged_epochs: list[int] | None = None


@dataclass
class HoleSplit:
    """Target drill-hole voxels as one training reads them: flat indices into the target cube."""

    val_voxels: np.ndarray
    val_labels: np.ndarray
    val_holes: np.ndarray  # the hole of each validating voxel, for the bootstrap over holes
    train_voxels: np.ndarray  # train mode: training holes' voxels whose patches miss every validating voxel
    train_labels: np.ndarray
    summary: dict


@dataclass
class TrainResult:
    model: TrainedModel
    members: list[MemberRun]
    device: str
    target_holes: dict | None = None  # with holes: the validation AUC and interval, and the cross-validation

    @property
    def history(self) -> list[dict]:
        """The first member's epochs (a single model's, when there is one member)."""
        return self.members[0].history

    @property
    def best_epoch(self) -> int:
        return self.members[0].best_epoch

    @property
    def val_auc(self) -> float | None:
        """Mean source spatial-block validation AUC over the members that were validated."""
        scored = [m.val_auc for m in self.members if m.val_auc is not None]
        return float(np.mean(scored)) if scored else None


def default_members(device: torch.device) -> int:
    """5 members where a GPU makes them cheap, 3 on the CPU: enough for a spread, at three times one run."""
    return 5 if device.type == "cuda" else 3


def member_seed(seed: int, member: int) -> int:
    """Member 0 keeps the run's seed (one member is the single model of before); the others are far apart,
    so ensembles from neighbouring base seeds share no member."""
    return seed + MEMBER_SEED_STRIDE * member


def grl_lambda(progress: float, lambda_max: float = 1.0) -> float:
    """Gradient-reversal weight: 0 at the start, rising smoothly to ``lambda_max`` (Ganin & Lempitsky)."""
    return lambda_max * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)


def annealed_learning_rate(progress: float, initial: float) -> float:
    """mu_p = mu_0 / (1 + 10 p)^0.75: a decay that keeps the adversarial game stable late in training."""
    return initial / (1.0 + 10.0 * progress) ** 0.75


def train(
    source: Cube,
    target: Cube,
    config: TrainConfig,
    on_progress: Callable[[dict], None] | None = None,
    on_epoch_end: Callable[[int, ProspectivityNet], None] | None = None,
    target_holes: np.ndarray | None = None,
) -> TrainResult:
    """Train ``config.method`` on the labelled ``source`` and the unlabelled ``target``.

    ``target_holes`` is a label cube on the target's grid (1 ore, 0 barren, -1 elsewhere: voxelised drill
    holes), read only in the modes that use it (``config.target_labels``).
    ``on_epoch_end(epoch, net)`` sees a network after each epoch, in eval mode, before training
    goes on; the benchmark traces diagnostics with it. It must not change the network.
    """
    check_settings(source.grid.shape, target.grid.shape, config)
    _check_cubes(source, target)
    device = resolve_device(config.device)
    check_memory(training_memory(source.grid.shape, target.grid.shape, len(source.feature_names), config,
                                 device=device.type, loaded=True), config)
    source_stats = _domain_stats(source, "SOURCE")
    target_stats = source_stats if config.target_normalisation == "source" else _domain_stats(target, "TARGET")
    normalisation = {"source": source_stats.to_dict(), "target": target_stats.to_dict()}
    holes = None if config.target_labels == "ignore" else target_hole_split(target_holes, target.valid, config)
    n_runs = holes.summary["folds"] if config.hole_cv else 1

    def fit(fold_holes: HoleSplit | None, fold: int, hook):
        fold_progress = on_progress if on_progress is None or n_runs == 1 else (
            lambda event: on_progress({**event, "fold": fold + 1, "folds": n_runs}))
        return _fit_members(source, target, source_stats, target_stats, config, device, fold_holes, fold_progress,
                            hook)

    models, runs, split = fit(holes, 0, on_epoch_end)
    trained = TrainedModel(
        method=config.method,
        feature_names=list(source.feature_names),
        patch_size=config.patch_size,
        normalisation=normalisation,
        networks=models if config.method != "rf" else [],
        forest=models[0] if config.method == "rf" else None,
        provenance={
            "train_config": asdict(config),
            "seed": config.seed,
            "epochs": config.epochs,
            "best_epoch": runs[0].best_epoch,
            "device": str(device),
            "history": runs[0].history,
            "members": [asdict(run) for run in runs],
            "source_shape": list(source.grid.shape),
            "target_shape": list(target.grid.shape),
            "n_train_ore": len(split.train_ore),
            "n_val_ore": len(split.val_ore),
            "n_val_barren": len(split.val_barren),
            "versions": _versions(),
        },
    )
    trained.source_sample = source_sample(source, source_stats, np.random.default_rng([config.seed, 2]))
    result = TrainResult(trained, runs, str(device))
    trained.val_auc = result.val_auc
    if holes is not None:
        scored = [(_hole_probability(trained, target, holes, device), holes)]
        result.target_holes = {"mode": config.target_labels, **holes.summary,
                               "validation": hole_auc(scored[0][0], holes.val_labels, holes.val_holes, config.seed)}
        for fold in range(1, n_runs):
            fold_holes = target_hole_split(target_holes, target.valid, config, fold)
            fold_models, _, _ = fit(fold_holes, fold, None)
            fold_model = replace(trained, networks=fold_models if config.method != "rf" else [],
                                 forest=fold_models[0] if config.method == "rf" else None)
            scored.append((_hole_probability(fold_model, target, fold_holes, device), fold_holes))
        if n_runs > 1:
            result.target_holes["cross_validation"] = hole_auc(
                *(np.concatenate(parts) for parts in zip(*((p, h.val_labels, h.val_holes) for p, h in scored),
                                                          strict=True)), config.seed)
        trained.provenance["target_holes"] = result.target_holes
    return result


def _fit_members(source, target, source_stats, target_stats, config, device, holes, on_progress, on_epoch_end):
    """Every ensemble member (the forest alone), each from its own seed: (models, runs, the first's split).

    Networks train one after the other, or side by side as one stacked network where ``trains_together``.
    """
    n_members = 1 if config.method == "rf" else config.members
    member_configs = [replace(config, seed=member_seed(config.seed, member)) for member in range(n_members)]
    if config.method == "rf":
        split, validation, rng = source_samples(source, member_configs[0])
        _check_batch(split, config)
        forest, history = _train_forest(source, source_stats, split, validation, member_configs[0], rng, target,
                                        target_stats, holes)
        return [forest], [MemberRun(member_configs[0].seed, history, 1, history[0]["val_auc"])], split
    half = config.patch_size // 2
    patches = (PatchGatherer(padded_standardised(source, source_stats, half), config.patch_size, device),
               PatchGatherer(padded_standardised(target, target_stats, half), config.patch_size, device))
    together = trains_together(config, device)
    groups = [list(range(n_members))] if together else [[member] for member in range(n_members)]
    models, runs, first_split = [], [], None
    for group in groups:
        samples = [source_samples(source, member_configs[member]) for member in group]
        for split, _, _ in samples:
            _check_batch(split, config)
        first_split = samples[0][0] if first_split is None else first_split
        group_progress = None if on_progress is None else _member_progress(on_progress, group, n_members, together)
        for net, run in _train_networks(source, target, patches, [member_configs[m] for m in group], samples,
                                        device, group_progress, on_epoch_end, holes):
            models.append(net)
            runs.append(run)
    return models, runs, first_split


def _member_progress(on_progress, group: list[int], n_members: int, together: bool):
    """Progress events naming the member that trains, or, side by side, only how many train."""
    def report(event: dict) -> None:
        named = {} if together else {"member": group[0] + 1}  # together: one pace for all, no member to name
        on_progress({**event, **named, "members": n_members})

    return report


def trains_together(config: TrainConfig, device: torch.device) -> bool:
    """Whether the members of a network ensemble train side by side (``TrainConfig.members_together``)."""
    if config.method == "rf" or config.members < 2:
        return False
    return device.type == "cuda" if config.members_together is None else config.members_together


def target_hole_split(label: np.ndarray | None, valid: np.ndarray, config: TrainConfig, fold: int = 0) -> HoleSplit:
    """The holes of a label cube (whole holes: core.data.voxelise.hole_groups) split for ``config.target_labels``.

    validate: every hole validates. train: holes dealt into ``config.hole_folds`` folds (ore spread over
    them); ``fold`` validates, the rest train, less any training voxel whose patch would reach a validating
    voxel. Refused with the reason where the holes cannot do what the mode asks.
    """
    mode = config.target_labels
    if label is None:
        raise Mpm3dError(f"TARGET_LABELS '{mode}' needs the target's drill holes as a label cube (TARGET_HOLES), "
                         "e.g. from 'Voxelise drill-hole samples to labels'; without holes, use 'ignore'")
    label = np.asarray(label)
    if label.shape != valid.shape:
        raise Mpm3dError(f"the drill-hole label cube (TARGET_HOLES) has shape {label.shape}, the target cube "
                         f"{valid.shape} (z, y, x): voxelise the holes onto the TARGET cube's grid")
    outside = int(np.sum((label != LABEL_UNKNOWN) & ~valid))
    label = np.where(valid, label, LABEL_UNKNOWN)
    groups, n_holes = hole_groups(label)
    counts = {"ore_voxels": int(np.sum(label == LABEL_ORE)), "barren_voxels": int(np.sum(label == LABEL_BARREN))}
    if n_holes == 0:
        raise Mpm3dError(f"the drill-hole label cube (TARGET_HOLES) marks no voxel where the target has evidence "
                         f"({outside} labelled voxels lie in its nodata): the holes are outside the target cube")
    if not counts["ore_voxels"] or not counts["barren_voxels"]:
        missing = "ore (1)" if not counts["ore_voxels"] else "barren (0)"
        raise Mpm3dError(f"the {n_holes} target drill hole(s) (TARGET_HOLES) hold no {missing} voxel "
                         f"({counts['ore_voxels']} ore, {counts['barren_voxels']} barren): they can neither score "
                         "nor choose a model; TARGET_LABELS 'ignore' trains without them")
    summary = {"holes": n_holes, **counts, "outside_evidence": outside, "folds": 1}
    flat_groups = groups.ravel()
    if mode == "validate":
        voxels = np.flatnonzero(flat_groups)
        return HoleSplit(voxels, (label.ravel()[voxels] == LABEL_ORE).astype(np.float32), flat_groups[voxels],
                         np.zeros(0, np.int64), np.zeros(0, np.float32), {**summary, "validating_holes": n_holes,
                                                                          "training_holes": 0})
    folds = min(config.hole_folds, n_holes)
    ore_holes = len(np.unique(groups[label == LABEL_ORE]))
    if n_holes < 2 or ore_holes < 2:
        raise Mpm3dError(f"TARGET_LABELS 'train' needs at least 2 drill holes that cut ore, one to validate and one "
                         f"to train; the {n_holes} hole(s) given hold ore in {ore_holes}. Use 'validate', or add "
                         "holes")
    fold_of = hole_folds(groups, n_holes, label, folds, config.seed)[flat_groups]
    labelled = flat_groups > 0
    validating = labelled & (fold_of == fold)
    near = near_labels(np.where(validating.reshape(label.shape), label, LABEL_UNKNOWN), config.patch_size // 2)
    training = labelled & (fold_of != fold) & ~near.ravel()
    flat_label = label.ravel()
    for role, mask in (("validating", validating), ("training", training)):
        if not np.any(flat_label[mask] == LABEL_ORE) or not np.any(flat_label[mask] == LABEL_BARREN):
            raise Mpm3dError(f"the {role} drill holes of fold {fold + 1} of {folds} hold "
                             f"{int(np.sum(flat_label[mask] == LABEL_ORE))} ore and "
                             f"{int(np.sum(flat_label[mask] == LABEL_BARREN))} barren voxels; each side needs "
                             "both. Use fewer folds (HOLE_FOLDS), 'validate', or more holes")
    val_voxels, train_voxels = np.flatnonzero(validating), np.flatnonzero(training)
    return HoleSplit(val_voxels, (flat_label[val_voxels] == LABEL_ORE).astype(np.float32), flat_groups[val_voxels],
                     train_voxels, (flat_label[train_voxels] == LABEL_ORE).astype(np.float32),
                     {**summary, "folds": folds, "validating_holes": len(np.unique(flat_groups[val_voxels])),
                      "training_holes": len(np.unique(flat_groups[labelled & (fold_of != fold)])),
                      "training_voxels_near_validation": int(np.sum(labelled & (fold_of != fold) & near.ravel()))})


def training_memory(source_shape: tuple[int, int, int], target_shape: tuple[int, int, int], n_features: int,
                    config: TrainConfig, device: str = "cpu", report: bool = False,
                    loaded: bool = False) -> dict[str, int]:
    """Bytes of host memory a training run needs at its peak, by what needs them (an estimate, from the shapes).

    The cubes as read (float32 evidence, labels, masks); each standardised cube padded by half a patch (on the
    GPU where training runs there, so not counted); index lists of the valid and labelled voxels; one step's
    patches and the network's activations for them (3 x BATCH_SIZE patches, for each member where members train
    side by side, with each member's own voxel lists); the network's weights, optimiser
    state and the kept weights of every epoch; the forest and its samples; with a report, the target's dense
    prediction. ``loaded``: the cubes are in memory already and are left out.
    """
    check_settings(source_shape, target_shape, config)  # the estimate builds the network: a bad patch size first
    p, half = config.patch_size, config.patch_size // 2
    voxels = [int(np.prod(shape)) for shape in (source_shape, target_shape)]
    padded = [int(np.prod([n + 2 * half for n in shape])) for shape in (source_shape, target_shape)]
    parts = {}
    if not loaded:
        parts["cubes"] = sum(n * (4 * n_features + 2) for n in voxels)  # evidence, label, valid mask
    # valid and labelled voxel indices (int64), the split's masks, and the masks and copies made while reading and
    # splitting (measured: training's peak grows by ~215 bytes a voxel pair, the parts here add up to ~210)
    parts["voxel lists and masks"] = 8 * (2 * voxels[0] + voxels[1]) + 4 * voxels[0] + 24 * sum(voxels)
    if config.method == "rf":
        samples = min(config.samples_per_epoch or voxels[0], voxels[0])
        nodes = 200 * 2 * samples // 5  # trees x nodes (min_samples_leaf 5)
        parts["forest"] = samples * n_features * 12 + nodes * 60
    else:
        model = config_for_method(config.method, n_features, p)
        sizes = [p - 2 * (i + 1) for i in range(model.n_conv)]
        per_patch = 4 * n_features * p**3 + sum(3 * c * n**3 for c, n in zip(model.channels, sizes, strict=False))
        patches = 3 * min(config.batch_size, voxels[0])  # a batch larger than the source is refused later, by name
        parts["standardised padded copies"] = 4 * n_features * sum(padded) if device == "cpu" else 0
        # a training step keeps its activations for the backward pass; the epoch's scoring runs EVAL_BATCH
        # patches without; PyTorch's own working memory (kernels, thread buffers) comes on top (measured ~250 MB)
        side_by_side = config.members if trains_together(config, torch.device(device)) else 1
        parts["batches and activations"] = side_by_side * (
            patches * (4 * per_patch + 12 * p**3) + 48 * min(config.samples_per_epoch or voxels[0], voxels[0])
        ) + EVAL_BATCH * 2 * per_patch
        if side_by_side > 1:  # each member's own split of the source: its voxel lists
            parts["other members' voxel lists"] = 8 * voxels[0] * (side_by_side - 1)
        parts["PyTorch working memory"] = 256 * 2**20
        n_weights = sum(q.numel() for q in ProspectivityNet(model).parameters())
        parts["network"] = 4 * n_weights * (4 + config.epochs) * config.members
        if report and config.members > 1:  # the report maps the members' spread over the target
            parts["report's target prediction"] = 12 * voxels[1] + _dense_chunk_memory(target_shape, model)
    return parts


def _dense_chunk_memory(shape: tuple[int, int, int], model) -> int:
    """Bytes of one CPU dense-prediction chunk at its largest layer: the layer's input, and its output three times
    (convolution, batch norm, attention), over the tile (measured: 1.3 GB for a 1-million-voxel chunk, estimated
    1.2)."""
    n_levels, n_rows, n_cols = shape
    half = model.patch_size // 2
    depth = max(1, min(n_levels, CHUNK_VOXELS["cpu"] // (n_rows * n_cols)))
    rows = n_rows if depth > 1 or CHUNK_VOXELS["cpu"] >= n_rows * n_cols else max(1, CHUNK_VOXELS["cpu"] // n_cols)
    extent = [depth + 2 * half, rows + 2 * half, n_cols + 2 * half]
    sizes = [4 * model.n_features * int(np.prod(extent))] + [
        4 * channels * int(np.prod([n - 2 * (i + 1) for n in extent]))
        for i, channels in enumerate(model.channels[:model.n_conv])]
    return max(before + 3 * after for before, after in zip(sizes, sizes[1:], strict=False))


def memory_limit(config: TrainConfig) -> int | None:
    """Bytes training may use: ``config.memory_limit_gb``, or MEMORY_SHARE of the memory available now (None
    where the system does not say)."""
    if config.memory_limit_gb > 0:
        return int(config.memory_limit_gb * GB)
    available = available_memory()
    return None if available is None else int(MEMORY_SHARE * available)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation without swapping: Linux's MemAvailable, else free pages."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(parts: dict[str, int], config: TrainConfig) -> None:
    """Refuse, before any long work, a run whose estimated memory exceeds the limit, naming what to lower."""
    limit = memory_limit(config)
    need = sum(parts.values())
    if limit is None or need <= limit:
        return
    shown = ", ".join(f"{name} {size / GB:.2f} GB" for name, size in sorted(parts.items(), key=lambda kv: -kv[1]))
    given = (f"the memory limit of {config.memory_limit_gb:g} GB" if config.memory_limit_gb > 0 else
             f"{MEMORY_SHARE:.0%} of the {available_memory() / GB:.1f} GB of memory available")
    raise Mpm3dError(
        f"training would need about {need / GB:.1f} GB of memory ({shown}), more than {given}. Lower what "
        "dominates: the cube extent (crop the slices or stack fewer levels, or coarser voxels), the patch size "
        "(PATCH_SIZE), the batch size (BATCH_SIZE), the samples per epoch (SAMPLES_PER_EPOCH, for the forest) or "
        "the ensemble members (ENSEMBLE_MEMBERS); close other programs, or set the limit (--memory-limit, in GB) "
        "where the estimate is too careful")


def _hole_probability(model: TrainedModel, target: Cube, holes: HoleSplit, device: torch.device) -> np.ndarray:
    """The model's ore probability at the validating hole voxels, as prediction computes it."""
    indices = np.stack(np.unravel_index(holes.val_voxels, target.grid.shape), axis=1)
    return predict_patches(model, target, indices, device=str(device), normalisation="target")


def ore_cycle(split: SourceSplit, config: TrainConfig) -> OreCycle:
    """The ore voxels each epoch trains on: all, or under the samples-per-epoch budget a cycling share."""
    per_epoch = epoch_ore_count(len(split.train_ore), config.negative_ratio, config.samples_per_epoch)
    return OreCycle(split.train_ore, per_epoch, np.random.default_rng([config.seed, 5]))


def _check_batch(split: SourceSplit, config: TrainConfig) -> None:
    n_ore = epoch_ore_count(len(split.train_ore), config.negative_ratio, config.samples_per_epoch)
    n_barren = barren_count(n_ore, config.negative_ratio)
    if n_barren > len(split.train_barren):
        most = len(split.train_barren) / max(len(split.train_ore), 1)
        raise Mpm3dError(
            f"NEGATIVE_RATIO {config.negative_ratio:g} asks for {n_barren} barren samples per epoch, but the source "
            f"has only {len(split.train_barren)} barren voxels for training ({len(split.train_ore)} ore): give a "
            f"ratio of at most {most:.3g}")
    n_samples = n_ore + n_barren
    if config.batch_size > n_samples:
        budget = (f", SAMPLES_PER_EPOCH {config.samples_per_epoch} allowing {n_ore}"
                  if n_ore < len(split.train_ore) else "")
        raise Mpm3dError(
            f"the batch size {config.batch_size} is larger than the {n_samples} training samples per epoch "
            f"({len(split.train_ore)} ore voxels outside the validation blocks{budget}, {config.negative_ratio:g} "
            f"barren per ore); lower the batch size (BATCH_SIZE) to at most {n_samples}"
        )


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {"mpm3d": __version__, "torch": torch.__version__, "numpy": np.__version__}
    try:
        found["scikit-learn"] = version("scikit-learn")
    except PackageNotFoundError:
        found["scikit-learn"] = "not installed"
    return found


def check_settings(source_shape: tuple[int, int, int], target_shape: tuple[int, int, int],
                   config: TrainConfig) -> None:
    """Refuse settings that cannot train on cubes of these shapes, naming the parameter: before the memory
    estimate and before any cube is read."""
    if config.method not in METHODS:
        raise Mpm3dError(f"unknown method '{config.method}'; choose one of {', '.join(METHODS)}")
    p = config.patch_size
    for role, shape in (("source", source_shape), ("target", target_shape)):
        if min(shape) < 3:
            raise Mpm3dError(f"the {role} cube ({role.upper()}) {tuple(shape)} (z, y, x) is too small: a 3D "
                             "patch needs at least 3 voxels along z, y and x; stack more levels or larger slices")
    if p < 3 or p % 2 == 0:
        raise Mpm3dError(f"the patch size (PATCH_SIZE) must be odd and at least 3, got {p}; use 3, 5, 7 or 9")
    for role, shape in (("source", source_shape), ("target", target_shape)):
        if p > min(shape):
            raise Mpm3dError(f"the patch size {p} (PATCH_SIZE) is larger than the {role} cube ({role.upper()}) "
                             f"{tuple(shape)} (z, y, x); choose an odd patch size of at most {min(shape)}")
    for name, parameter in (("learning_rate", "LEARNING_RATE"), ("negative_ratio", "NEGATIVE_RATIO"),
                            ("lambda_max", "LAMBDA_MAX"), ("val_fraction", "VALIDATION_FRACTION"),
                            ("weight_decay", "weight decay")):
        if not math.isfinite(getattr(config, name)):
            raise Mpm3dError(f"{parameter} must be a finite number, got {getattr(config, name)}")
    if config.lambda_max < 0:
        raise Mpm3dError(f"LAMBDA_MAX must be 0 or more (0: no adaptation), got {config.lambda_max}")
    if not 0 <= config.seed < 2**32:
        raise Mpm3dError(f"SEED must be a whole number from 0 to {2**32 - 1}, got {config.seed}")
    if not config.learning_rate > 0:
        raise Mpm3dError(f"the learning rate (LEARNING_RATE) must be positive, got {config.learning_rate}")
    if config.epochs < 1:
        raise Mpm3dError(f"at least one epoch is needed (EPOCHS), got {config.epochs}")
    if config.selection not in SELECTION_RULES:
        raise Mpm3dError(f"unknown epoch selection rule (SELECTION) '{config.selection}'; choose one of "
                         f"{', '.join(SELECTION_RULES)}")
    if config.target_labels not in TARGET_LABEL_MODES:
        raise Mpm3dError(f"unknown target label mode (TARGET_LABELS) '{config.target_labels}'; choose one of "
                         f"{', '.join(TARGET_LABEL_MODES)}")
    if not (math.isfinite(config.target_label_weight) and config.target_label_weight >= 0):
        raise Mpm3dError(f"the weight of the target holes' loss (TARGET_LABEL_WEIGHT) must be a finite number of "
                         f"at least 0, got {config.target_label_weight}")
    if config.hole_folds < 2:
        raise Mpm3dError(f"the drill holes need at least 2 folds (HOLE_FOLDS), one to validate and one to train; "
                         f"got {config.hole_folds}")
    if config.hole_cv and config.target_labels != "train":
        raise Mpm3dError("the leave-holes-out cross-validation (HOLE_CROSS_VALIDATION) scores training on holes: it "
                         f"needs TARGET_LABELS 'train', not '{config.target_labels}'")
    if config.members < 1:
        raise Mpm3dError(f"an ensemble needs at least one member (ENSEMBLE_MEMBERS), got {config.members}")
    if config.samples_per_epoch < 0:
        raise Mpm3dError(f"the samples per epoch (SAMPLES_PER_EPOCH) must be 0 (every ore voxel each epoch) or "
                         f"more, got {config.samples_per_epoch}")
    if config.batch_size < 2:
        raise Mpm3dError(f"the batch size (BATCH_SIZE) must be at least 2, got {config.batch_size}")
    if not config.negative_ratio > 0:
        raise Mpm3dError(f"the negative ratio (NEGATIVE_RATIO) must be positive, got {config.negative_ratio}")
    if config.target_normalisation not in ("own", "source"):
        raise Mpm3dError(f"the target normalisation must be 'own' or 'source', not '{config.target_normalisation}'")
    if not 0 <= config.val_fraction < 1:
        raise Mpm3dError(f"the validation fraction must be in [0, 1), got {config.val_fraction}")


def _check_cubes(source: Cube, target: Cube) -> None:
    """Refuse cubes that cannot train together (features, source labels, target evidence), naming the cube."""
    if list(source.feature_names) != list(target.feature_names):
        raise Mpm3dError(
            "the SOURCE and TARGET cubes must have the same features in the same order; "
            f"source: {list(source.feature_names)}, target: {list(target.feature_names)}; stack both deposits from "
            "slices with the same bands in the same order"
        )
    if source.label is None:
        raise Mpm3dError("the source cube (SOURCE) has no labels; training needs ore (1) and barren (0) voxels: "
                         "stack it with its label slices (LABELS)")
    valid = source.valid
    for value, name in ((LABEL_ORE, "ore (1)"), (LABEL_BARREN, "barren (0)")):
        if not np.any((source.label == value) & valid):
            raise Mpm3dError(f"the source cube (SOURCE) has no {name} voxel with valid evidence; training needs "
                             "both: check its label slices (LABELS) and their nodata value")
    if not np.any(target.valid):
        raise Mpm3dError("the target cube (TARGET) has no voxel where every feature is valid; check the nodata "
                         "values of its slices")


def _domain_stats(cube: Cube, parameter: str):
    """Standardisation statistics of one domain; a cube that has none is named."""
    try:
        return cube_stats(cube)
    except Mpm3dError as exc:
        raise Mpm3dError(f"{parameter} cube: {exc}") from exc


def source_samples(
    source: Cube, config: TrainConfig
) -> tuple[SourceSplit, tuple[np.ndarray, np.ndarray], np.random.Generator]:
    """The spatial-block split, the fixed validation set, and the generator that then draws the epochs.

    One place for the order of these draws, so the benchmark's peer method gets the samples train() gets.
    """
    split = spatial_block_split(source.label, source.valid, config.patch_size // 2, config.val_fraction, config.seed)
    rng = np.random.default_rng([config.seed, 1])
    return split, _validation_set(split, rng), rng


def _validation_set(split: SourceSplit, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Held-out voxels (all ore, barren thinned to a cap) and their labels, fixed for all epochs."""
    ore = split.val_ore
    if len(ore) > MAX_VALIDATION_VOXELS // 2:
        ore = np.sort(rng.choice(ore, MAX_VALIDATION_VOXELS // 2, replace=False))
    barren = split.val_barren
    if len(barren) > MAX_VALIDATION_VOXELS - len(ore):
        barren = np.sort(rng.choice(barren, MAX_VALIDATION_VOXELS - len(ore), replace=False))
    return np.concatenate([ore, barren]), np.concatenate([np.ones(len(ore)), np.zeros(len(barren))])


def _auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    return float(roc_auc(scores[labels == 1], scores[labels == 0]))


def _train_forest(source, source_stats, split, validation, config, rng, target, target_stats, holes):
    """Random forest on the centre voxel's standardised evidence, sampled like the networks' patches.

    Train mode adds the training holes' voxels, weighted so that they weigh ``target_label_weight`` times
    the source samples together, each class half of that (the networks' balanced hole batches).
    """
    from sklearn.ensemble import RandomForestClassifier

    started = time.perf_counter()
    voxels, labels = draw_source_epoch(split, config.negative_ratio, rng, ore_cycle(split, config).next_epoch())
    flat = source.features.reshape(len(source.feature_names), -1)
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=2, random_state=config.seed)
    samples, weights = standardise(flat[:, voxels], source_stats).T, None
    if holes is not None and len(holes.train_voxels):
        on_target = standardise(target.features.reshape(len(target.feature_names), -1)[:, holes.train_voxels],
                                target_stats).T
        per_class = np.bincount(holes.train_labels.astype(int), minlength=2)
        weights = np.concatenate([np.ones(len(voxels)), config.target_label_weight * len(voxels) / 2
                                  / per_class[holes.train_labels.astype(int)]])
        samples, labels = np.concatenate([samples, on_target]), np.concatenate([labels, holes.train_labels])
    forest.fit(samples, labels, sample_weight=weights)
    arrays = ForestArrays.from_sklearn(forest)
    val_voxels, val_labels = validation
    val_auc = _auc(arrays.predict(standardise(flat[:, val_voxels], source_stats).T), val_labels)
    seconds = time.perf_counter() - started
    history = [{
        "epoch": 1, "loss_label": None, "loss_domain": None, "lambda": None, "lr": None,
        "val_auc": val_auc, "disc_acc": None, "patches_per_s": len(voxels) / seconds, "seconds": seconds,
        "trees": arrays.n_trees, "feature_importance": [float(v) for v in forest.feature_importances_],
    }]
    return arrays, history


@contextlib.contextmanager
def _deterministic(device: torch.device):
    """Deterministic kernels on the CPU for the length of a run; the global switch is restored after."""
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn_only)


@dataclass
class _Member:
    """One member's own part of a training run: its network, its draws and what its epochs recorded."""

    config: TrainConfig
    split: SourceSplit
    val_labels: np.ndarray
    val_centres: torch.Tensor
    rng: np.random.Generator
    hole_rng: np.random.Generator
    cycle: OreCycle
    probe_samples: SelectionProbe
    heads: TrainingHeads
    history: list[dict] = field(default_factory=list)
    states: list[dict] = field(default_factory=list)

    @property
    def net(self) -> ProspectivityNet:
        return self.heads.net


def _start_member(config, samples, patches, n_features, target_voxels, device) -> _Member:
    """A member's network from its seed, and the generators its epochs draw from."""
    split, (val_voxels, val_labels), rng = samples
    source_patches, target_patches = patches
    torch.manual_seed(config.seed)
    net = ProspectivityNet(config_for_method(config.method, n_features, config.patch_size))
    probe = None if net.domain_head is not None else domain_discriminator(net.config.n_embedding)
    return _Member(
        config, split, val_labels, source_patches.centre_index(val_voxels), rng,
        np.random.default_rng([config.seed, 4]), ore_cycle(split, config),
        selection_probe(split, val_labels, source_patches, target_patches, target_voxels,
                        np.random.default_rng([config.seed, 3])),
        TrainingHeads(net, probe).to(device))


def _train_networks(source, target, patches, configs, samples, device, on_progress, on_epoch_end, holes=None):
    """Minibatch training of one or more members side by side; each step sees, per member, B labelled source
    patches and B + B unlabelled ones. Returns each member's (network, MemberRun).

    The label loss uses the class-balanced labelled patches. The domain loss compares B source and B
    target patches drawn uniformly over each cube's valid voxels: were the balanced labelled batch used
    (half ore) against a target batch that is mostly barren, the easiest way to fool the discriminator
    would be to blur ore against barren, and adaptation would destroy the label signal.
    All 3B patches go through the network as one batch for every method, so BatchNorm sees the same
    mixture everywhere and the methods differ only in attention and the domain loss. Without a domain
    head a probe discriminator learns on detached features, so ``disc_acc`` still measures how
    separable the domains are, without the probe shaping them.
    With target ``holes`` (HoleSplit) the validating holes' AUC is scored every epoch and chooses it; in
    train mode the training holes' patches join each labelled batch (module docstring). Their draws come
    from a generator of their own, and nothing else changes, so without training holes the weights of
    every epoch are those of a run without holes.
    Several members (core/learning/members.py) share the steps' schedule: each epoch takes as many steps as the member
    with the fewest training samples allows; each keeps its own seed, draws, weights and chosen epoch.
    """
    config = configs[0]  # the settings the members share; only their seeds differ
    source_patches, target_patches = patches
    target_voxels = np.flatnonzero(target.valid)
    source_voxels = np.flatnonzero(source.valid)
    members = [_start_member(member_config, member_samples, patches, len(source.feature_names), target_voxels,
                             device) for member_config, member_samples in zip(configs, samples, strict=True)]
    stack = MemberStack([member.heads for member in members])
    optimizer = torch.optim.AdamW(stack.param_groups(DISCRIMINATOR_LR_FACTOR), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    n_members = len(members)
    has_domain_head = members[0].net.domain_head is not None
    batch = config.batch_size
    steps = min(member.cycle.per_epoch + barren_count(member.cycle.per_epoch, config.negative_ratio)
                for member in members) // batch
    n_used = steps * batch
    total_steps = steps * config.epochs
    domain_targets = torch.cat([torch.zeros(batch), torch.ones(batch)]).to(device).expand(n_members, -1)
    report_every = max(1, steps // PROGRESS_CALLS_PER_EPOCH)
    rule = config.selection if holes is None else HOLE_RULE
    hole_batch = max(2, batch // HOLE_BATCH_SHARE) if holes is not None and len(holes.train_voxels) else 0
    hole_centres = None if holes is None else target_patches.centre_index(holes.val_voxels)
    with _deterministic(device):
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            draws = [_epoch_draws(member, patches, source_voxels, target_voxels, n_used, holes,
                                  steps * hole_batch) for member in members]
            parts = {name: tuple(torch.stack([d[0][name][i] for d in draws]) for i in (0, 1)) for name in draws[0][0]}
            labels = torch.stack([d[1] for d in draws])
            hole_labels = torch.stack([d[2] for d in draws]) if hole_batch else None
            sums = torch.zeros(n_members, 3, device=device)  # label loss, domain loss, discriminator hits
            hole_loss_sum = torch.zeros(n_members, device=device)
            stack.train()
            for step in range(steps):
                progress = ((epoch - 1) * steps + step) / total_steps
                lr = annealed_learning_rate(progress, config.learning_rate)
                lambda_ = grl_lambda(progress, config.lambda_max)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group["lr_factor"]
                window = slice(step * batch, (step + 1) * batch)
                hole_window = slice(step * hole_batch, (step + 1) * hole_batch)
                windows = {"labelled": window, "holes": hole_window, "source": window, "target": window}
                x = torch.cat([_gather(patches, name, parts[name], windows[name]) for name in parts], dim=1)
                with autocast_for(device):
                    label_logits, domain_logits = stack(x, batch + hole_batch, lambda_)
                loss_label = _member_bce(label_logits[:, :batch], labels[:, window])
                loss_domain = _member_bce(domain_logits, domain_targets)
                loss = loss_label + loss_domain
                if hole_batch:
                    loss_holes = _member_bce(label_logits[:, batch:], hole_labels[:, hole_window])
                    loss = loss + config.target_label_weight * loss_holes
                    hole_loss_sum += loss_holes.detach()
                optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimizer.step()
                with torch.no_grad():
                    hits = ((domain_logits > 0).float() == domain_targets).float().mean(dim=1)
                    sums += torch.stack([loss_label.detach(), loss_domain.detach(), hits], dim=1)
                if on_progress is not None and (step + 1) % report_every == 0 and step + 1 < steps:
                    on_progress({"stage": "train", "epoch": epoch, "epochs": config.epochs,
                                 "step": step + 1, "steps": steps})
            train_seconds = time.perf_counter() - started
            stack.sync()
            entries = []
            for member, (mean_label, mean_domain, disc_acc), holes_loss in zip(
                    members, (sums / steps).tolist(), (hole_loss_sum / steps).tolist(), strict=True):
                _check_finite(epoch, mean_label, mean_domain, member, n_members)
                scores = epoch_scores(member.net, member.probe_samples, source_patches, target_patches,
                                      member.val_centres, member.val_labels, device)
                if holes is not None:
                    scores[HOLE_SCORE] = hole_epoch_score(member.net, target_patches, hole_centres, holes.val_labels,
                                                          device)
                if hole_batch:
                    scores["loss_holes"] = holes_loss
                member.states.append({k: v.detach().to("cpu", copy=True) for k, v in member.net.state_dict().items()})
                entry = {
                    "epoch": epoch,
                    "loss_label": mean_label,
                    "loss_domain": mean_domain,
                    "lambda": lambda_ if has_domain_head else None,
                    "lr": lr,
                    **scores,
                    "disc_acc": disc_acc,
                    # patches of every member trained in this epoch, per second of its training steps
                    "patches_per_s": 3 * n_members * steps * batch / train_seconds,
                    "seconds": time.perf_counter() - started,
                }
                member.history.append(entry)
                entries.append(entry)
                if on_epoch_end is not None:
                    with torch.inference_mode():
                        on_epoch_end(epoch, member.net)
            if on_progress is not None:
                on_progress({"stage": "train", "epochs": config.epochs, "step": steps, "steps": steps,
                             **_mean_entry(entries)})
    return [_chosen_weights(member, rule, source_patches, device) for member in members]


def _epoch_draws(member: _Member, patches, source_voxels, target_voxels, n_used, holes, n_holes):
    """One member's epoch: each part's (centres, transforms) on the device, its labels and its holes' labels.

    The draws come from the member's generators in a fixed order, so a member draws the same whether it trains
    alone or beside others.
    """
    source_patches, target_patches = patches
    voxels, labels = draw_source_epoch(member.split, member.config.negative_ratio, member.rng,
                                       member.cycle.next_epoch())
    labelled = _augmented(source_patches, voxels[:n_used], member.rng)
    source = _augmented(source_patches, member.rng.choice(source_voxels, n_used), member.rng)
    target = _augmented(target_patches, member.rng.choice(target_voxels, n_used), member.rng)
    parts, hole_labels = {"labelled": labelled}, None
    if n_holes:  # from the holes' own generator: the other draws stay those of a run without holes
        hole_voxels, hole_labels = _balanced_draw(holes.train_voxels, holes.train_labels, n_holes, member.hole_rng)
        parts["holes"] = _augmented(target_patches, hole_voxels, member.hole_rng)
        hole_labels = torch.from_numpy(hole_labels).to(source_patches.device)
    return ({**parts, "source": source, "target": target}, torch.from_numpy(labels[:n_used]).to(source_patches.device),
            hole_labels)


def _gather(patches, part: str, drawn: tuple[torch.Tensor, torch.Tensor], window: slice) -> torch.Tensor:
    """One part of a step's batch for every member in one gather: (members, n, F, p, p, p)."""
    gatherer = patches[0] if part in ("labelled", "source") else patches[1]
    centres, transforms = (values[:, window] for values in drawn)
    batch = gatherer.gather(centres.reshape(-1), transforms.reshape(-1))
    return batch.view(*centres.shape, *batch.shape[1:])


def _member_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each member's mean binary cross-entropy: (members,)."""
    return nnf.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=1)


def _check_finite(epoch: int, mean_label: float, mean_domain: float, member: _Member, n_members: int) -> None:
    if math.isfinite(mean_label) and math.isfinite(mean_domain):
        return
    which = f" (ensemble member with seed {member.config.seed})" if n_members > 1 else ""
    raise Mpm3dError(
        f"training diverged in epoch {epoch}{which}: the loss became {mean_label + mean_domain} (label loss "
        f"{mean_label}, domain loss {mean_domain}), so the weights are no longer numbers and no model "
        "was written. Lower LEARNING_RATE or LAMBDA_MAX, and check the evidence for extreme values "
        "(undeclared nodata such as -9999 or -3.4e38)")


def _mean_entry(entries: list[dict]) -> dict:
    """The members' epoch entries as one: the mean of each number (the one entry of a single member)."""
    if len(entries) == 1:
        return entries[0]
    return {key: float(np.mean([e[key] for e in entries])) if all(isinstance(e[key], float) for e in entries)
            else entries[0][key] for key in entries[0]}


def _chosen_weights(member: _Member, rule: str, source_patches, device):
    """The member's network with the weights its rule chose, and its MemberRun."""
    net, config, history = member.net, member.config, member.history
    if rule == "average":
        averaged = averaged_epochs(config.epochs)
        net.load_state_dict(average_states([member.states[epoch - 1] for epoch in averaged]))
        val_auc = _auc(embed_and_score(net, source_patches, member.val_centres, device)[1], member.val_labels)
        return net.cpu().eval(), MemberRun(config.seed, history, averaged[-1], val_auc, averaged)
    best = chosen_epoch(history, rule)
    net.load_state_dict(member.states[best - 1])
    return net.cpu().eval(), MemberRun(config.seed, history, best, history[best - 1]["val_auc"])


def _balanced_draw(voxels: np.ndarray, labels: np.ndarray, n: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` voxels drawn with replacement, half ore and half barren, shuffled: (voxels, float32 labels)."""
    n_ore = n // 2
    drawn = np.concatenate([rng.choice(voxels[labels == 1], n_ore), rng.choice(voxels[labels == 0], n - n_ore)])
    targets = np.concatenate([np.ones(n_ore), np.zeros(n - n_ore)]).astype(np.float32)
    order = rng.permutation(n)
    return drawn[order], targets[order]


def _augmented(patches: PatchGatherer, voxels: np.ndarray, rng: np.random.Generator):
    """The voxels' patch centres on the device, each with a random rotation/flip: (centres, transforms)."""
    centres = patches.centre_index(voxels)
    return centres, torch.from_numpy(rng.integers(0, N_TRANSFORMS, len(voxels))).to(patches.device)
