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

from ..data.grid import LABEL_BARREN, LABEL_ORE, Cube
from ..errors import Mpm3dError
from ..results.metrics import hole_auc, labelled_auc
from ..settings import TrainConfig, check_settings, resolved, training_mode_for
from .alignment import aligned_cube, reference_summary
from .blocks import MemberBlocks, block_losses
from .class_confusion import MCC_WEIGHT, minimum_class_confusion
from .domain import (
    DISCRIMINATOR_LR_FACTOR,
    annealed_learning_rate,
    domain_discriminator,
    domain_labels,
    domain_loss,
    grl_lambda,
)
from .forest import train_forest
from .holes import HoleSplit, balanced_draw, hole_probability, target_hole_split
from .members import MemberStack, TrainingHeads, member_seed, trains_together, with_members
from .memory import check_memory, training_memory
from .model import ProspectivityNet, TrainedModel, autocast_for, config_for_method, resolve_device
from .novelty import source_sample
from .sampling import (
    N_TRANSFORMS,
    OreCycle,
    PatchGatherer,
    SourceSplit,
    barren_count,
    check_batch,
    cube_stats,
    draw_source_epoch,
    ore_cycle,
    padded_standardised,
    source_samples,
)
from .selection import HOLE_RULE, HOLE_SCORE, averaged_epochs, chosen_epoch
from .selection_scores import SelectionProbe, average_states, epoch_scores, hole_epoch_score, selection_probe
from .voxel_outputs import EVAL_BATCH, VoxelOutputs

__all__ = ["TrainConfig", "TrainResult", "MemberRun", "train"]

PROGRESS_CALLS_PER_EPOCH = 20
# The share of an epoch its steps take before the first epoch has measured it; the rest goes to scoring the epoch
# (each member's selection scores). At real size block training spends about a third of an epoch in its steps.
FIRST_STEP_SHARE = 0.5
ADABN_PATCHES = 8192  # target patches the batch-norm statistics are measured on (TARGET_BATCH_NORM)
HOLE_BATCH_SHARE = 4  # train mode: one hole patch per 4 source patches in each labelled batch


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
    config = resolved(config)  # INPUT_ALIGNMENT auto -> the method's own: recorded so in the model file
    _check_cubes(source, target)
    device = resolve_device(config.device)
    config = with_members(replace(config, training_mode=training_mode_for(config, device.type)), device)
    check_memory(training_memory(source.grid.shape, target.grid.shape, len(source.feature_names), config,
                                 device=device.type, loaded=True), config)
    # the target's evidence mapped onto the source's first, if asked: everything after sees only the aligned target
    alignment = reference_summary(config.input_alignment, source, config.seed)
    target = aligned_cube(alignment, target, config.seed)
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
        alignment=alignment,
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
        scored = [(hole_probability(trained, target, holes, device), holes)]
        result.target_holes = {"mode": config.target_labels, **holes.summary,
                               "validation": hole_auc(scored[0][0], holes.val_labels, holes.val_holes, config.seed)}
        for fold in range(1, n_runs):
            fold_holes = target_hole_split(target_holes, target.valid, config, fold)
            fold_models, _, _ = fit(fold_holes, fold, None)
            fold_model = replace(trained, networks=fold_models if config.method != "rf" else [],
                                 forest=fold_models[0] if config.method == "rf" else None)
            scored.append((hole_probability(fold_model, target, fold_holes, device), fold_holes))
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
        check_batch(split, config, batches=False)  # BATCH_SIZE is a network's: it never refuses a forest
        forest, history = train_forest(source, source_stats, split, validation, member_configs[0], rng, target,
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
            check_batch(split, config)
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


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {"mpm3d": __version__, "torch": torch.__version__, "numpy": np.__version__}
    try:
        found["scikit-learn"] = version("scikit-learn")
    except PackageNotFoundError:
        found["scikit-learn"] = "not installed"
    return found


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
    validation: VoxelOutputs
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
    net = ProspectivityNet(config_for_method(config.method, n_features, config.patch_size, config.discriminator))
    probe = None if net.domain_head is not None else domain_discriminator(net.config.n_embedding,
                                                                          config.discriminator)
    return _Member(
        config, split, val_labels, VoxelOutputs(source_patches, val_voxels), rng,
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
    domain_steps = config.domain_steps if has_domain_head else 0
    steps = min(member.cycle.per_epoch + barren_count(member.cycle.per_epoch, config.negative_ratio)
                for member in members) // batch
    n_used = steps * batch
    # block mode (core/learning/blocks.py): as many steps, on blocks, within the epoch's budget
    blocks = None if config.training_mode != "block" else [
        MemberBlocks(source_patches, target_patches, m.split.train_ore, m.split.train_barren) for m in members]
    if blocks is not None:
        steps = blocks[0].steps_for(steps, config.samples_per_epoch)
    samples_per_step = 3 * batch if blocks is None else blocks[0].outputs_per_step
    total_steps = steps * config.epochs
    domain_targets = domain_labels(batch, n_members, device)
    report_every = max(1, steps // PROGRESS_CALLS_PER_EPOCH)
    step_share = FIRST_STEP_SHARE  # "done" in the progress events: the epoch's share done, scoring included
    rule = config.selection if holes is None else HOLE_RULE
    hole_batch = max(2, batch // HOLE_BATCH_SHARE) if holes is not None and len(holes.train_voxels) else 0
    hole_outputs = None if holes is None else VoxelOutputs(target_patches, holes.val_voxels)
    n_target_scored = batch if config.target_loss == "mcc" else 0  # the step's uniform target patches
    with _deterministic(device):
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            if blocks is None:
                draws = [_epoch_draws(member, patches, source_voxels, target_voxels, n_used, holes,
                                      steps * hole_batch, domain_steps) for member in members]
                parts = {name: tuple(torch.stack([d[0][name][i] for d in draws]) for i in (0, 1))
                         for name in draws[0][0]}
                labels = torch.stack([d[1] for d in draws])
                hole_labels = torch.stack([d[2] for d in draws]) if hole_batch else None
            else:
                block_draws = [b.epoch_draws(m.rng, source_voxels, target_voxels, steps)
                               for b, m in zip(blocks, members, strict=True)]
            sums = torch.zeros(n_members, 3, device=device)  # label loss, domain loss, discriminator hits
            hole_loss_sum = torch.zeros(n_members, device=device)
            target_loss_sum = torch.zeros(n_members, device=device)
            stack.train()
            for step in range(steps):
                progress = ((epoch - 1) * steps + step) / total_steps
                lr = annealed_learning_rate(progress, config.learning_rate)
                lambda_ = grl_lambda(progress, config.lambda_max)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group["lr_factor"]
                if blocks is not None:
                    with autocast_for(device):
                        loss_label, loss_domain, hits = block_losses(stack, blocks, block_draws, step, lambda_)
                    loss = loss_label + loss_domain
                else:
                    window = slice(step * batch, (step + 1) * batch)
                    hole_window = slice(step * hole_batch, (step + 1) * hole_batch)
                    domain_window = _domain_window(step * (1 + domain_steps), batch)
                    windows = {"labelled": window, "holes": hole_window, "source": domain_window,
                               "target": domain_window}
                    x = torch.cat([_gather(patches, name, parts[name], windows[name]) for name in parts], dim=1)
                    with autocast_for(device):
                        label_logits, domain_logits = stack(x, batch + hole_batch, lambda_, n_target_scored)
                    loss_label = _member_bce(label_logits[:, :batch], labels[:, window])
                    loss_domain, hits = domain_loss(domain_logits, domain_targets)
                    loss = loss_label + loss_domain
                    if n_target_scored:  # TARGET_LOSS mcc on the unlabelled target patches of the domain batch
                        loss_target = minimum_class_confusion(label_logits[:, batch + hole_batch:])
                        loss = loss + MCC_WEIGHT * loss_target
                        target_loss_sum += loss_target.detach()
                if hole_batch:
                    loss_holes = _member_bce(label_logits[:, batch:batch + hole_batch], hole_labels[:, hole_window])
                    loss = loss + config.target_label_weight * loss_holes
                    hole_loss_sum += loss_holes.detach()
                optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimizer.step()
                sums += torch.stack([loss_label.detach(), loss_domain.detach(), hits], dim=1)
                for extra in range(1, domain_steps + 1):  # the adversary alone, on fresh unlabelled patches
                    extra_window = _domain_window(step * (1 + domain_steps) + extra, batch)
                    x = torch.cat([_gather(patches, name, parts[name], extra_window) for name in ("source", "target")],
                                  dim=1)
                    with autocast_for(device):
                        _, domain_logits = stack(x, 0, lambda_)
                    loss_domain_only, _ = domain_loss(domain_logits, domain_targets)
                    optimizer.zero_grad(set_to_none=True)
                    loss_domain_only.sum().backward()
                    optimizer.step()
                if on_progress is not None and (step + 1) % report_every == 0 and step + 1 < steps:
                    on_progress({"stage": "train", "epoch": epoch, "epochs": config.epochs,
                                 "step": step + 1, "steps": steps, "done": step_share * (step + 1) / steps})
            train_seconds = time.perf_counter() - started
            stack.sync()
            entries = []
            for scored, (member, (mean_label, mean_domain, disc_acc), holes_loss, target_loss) in enumerate(zip(
                    members, (sums / steps).tolist(), (hole_loss_sum / steps).tolist(),
                    (target_loss_sum / steps).tolist(), strict=True)):
                _check_finite(epoch, mean_label, mean_domain, member, n_members)
                scores = epoch_scores(member.net, member.probe_samples, member.validation, member.val_labels, device)
                if holes is not None:
                    scores[HOLE_SCORE] = hole_epoch_score(member.net, hole_outputs, holes.val_labels, device)
                if hole_batch:
                    scores["loss_holes"] = holes_loss
                if n_target_scored:
                    scores["loss_target"] = target_loss
                member.states.append({k: v.detach().to("cpu", copy=True) for k, v in member.net.state_dict().items()})
                entry = {
                    "epoch": epoch,
                    "loss_label": mean_label,
                    "loss_domain": mean_domain,
                    "lambda": lambda_ if has_domain_head else None,
                    "lr": lr,
                    **scores,
                    "disc_acc": disc_acc,
                    # patches (block mode: block outputs) of every member trained in this epoch, per second of its
                    # training steps
                    "patches_per_s": samples_per_step * n_members * steps / train_seconds,
                    "seconds": time.perf_counter() - started,
                }
                member.history.append(entry)
                entries.append(entry)
                if on_epoch_end is not None:
                    with torch.inference_mode():
                        on_epoch_end(epoch, member.net)
                if on_progress is not None and scored + 1 < n_members:
                    on_progress({"stage": "train", "epoch": epoch, "epochs": config.epochs, "step": steps,
                                 "steps": steps, "done": step_share + (1 - step_share) * (scored + 1) / n_members})
            if on_progress is not None:
                on_progress({"stage": "train", "epochs": config.epochs, "step": steps, "steps": steps, "done": 1.0,
                             **_mean_entry(entries)})
            step_share = train_seconds / (time.perf_counter() - started)
    chosen = [_chosen_weights(member, rule, device) for member in members]
    if config.target_batch_norm:
        voxels = adabn_voxels(target_voxels, config.seed)
        for net, _ in chosen:
            target_batch_norm(net.to(device), target_patches, voxels).cpu()
    return chosen


def adabn_voxels(target_voxels: np.ndarray, seed: int) -> np.ndarray:
    """The target voxels whose patches TARGET_BATCH_NORM measures: at most ADABN_PATCHES, drawn from the seed."""
    rng = np.random.default_rng([seed, 5])
    return rng.choice(target_voxels, min(len(target_voxels), ADABN_PATCHES), replace=False)


def target_batch_norm(net: ProspectivityNet, target_patches: PatchGatherer, voxels: np.ndarray) -> ProspectivityNet:
    """AdaBN (Li et al. 2016): the feature extractor's batch-norm statistics measured anew on the target patches
    centred on ``voxels`` alone (a plain average over the batches), the weights unchanged. Returns ``net``, in eval
    mode."""
    norms = [module for module in net.convs.modules() if isinstance(module, torch.nn.BatchNorm3d)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average, not a running one
    centres = target_patches.centre_index(voxels)
    net.train()
    with torch.no_grad():  # batches of (nearly) equal size, so the average of their means is the patches' mean
        for batch in torch.tensor_split(centres, -(-len(centres) // EVAL_BATCH)):
            net.embed(target_patches.gather(batch))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return net.eval()


def _domain_window(index: int, batch: int) -> slice:
    """The index-th batch of an epoch's unlabelled source and target draws."""
    return slice(index * batch, (index + 1) * batch)


def _epoch_draws(member: _Member, patches, source_voxels, target_voxels, n_used, holes, n_holes, domain_steps=0):
    """One member's epoch: each part's (centres, transforms) on the device, its labels and its holes' labels.

    The draws come from the member's generators in a fixed order, so a member draws the same whether it trains
    alone or beside others.
    """
    source_patches, target_patches = patches
    voxels, labels = draw_source_epoch(member.split, member.config.negative_ratio, member.rng,
                                       member.cycle.next_epoch())
    labelled = _augmented(source_patches, voxels[:n_used], member.rng)
    n_domain = n_used * (1 + domain_steps)  # each labelled step's domain batch, and those of its extra steps
    source = _augmented(source_patches, member.rng.choice(source_voxels, n_domain), member.rng)
    target = _augmented(target_patches, member.rng.choice(target_voxels, n_domain), member.rng)
    parts, hole_labels = {"labelled": labelled}, None
    if n_holes:  # from the holes' own generator: the other draws stay those of a run without holes
        hole_voxels, hole_labels = balanced_draw(holes.train_voxels, holes.train_labels, n_holes, member.hole_rng)
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


def _chosen_weights(member: _Member, rule: str, device):
    """The member's network with the weights its rule chose, and its MemberRun."""
    net, config, history = member.net, member.config, member.history
    if rule == "average":
        averaged = averaged_epochs(config.epochs)
        net.load_state_dict(average_states([member.states[epoch - 1] for epoch in averaged]))
        val_auc = labelled_auc(member.validation.embed_and_score(net, device)[1], member.val_labels)
        return net.cpu().eval(), MemberRun(config.seed, history, averaged[-1], val_auc, averaged)
    best = chosen_epoch(history, rule)
    net.load_state_dict(member.states[best - 1])
    return net.cpu().eval(), MemberRun(config.seed, history, best, history[best - 1]["val_auc"])


def _augmented(patches: PatchGatherer, voxels: np.ndarray, rng: np.random.Generator):
    """The voxels' patch centres on the device, each with a random rotation/flip: (centres, transforms)."""
    centres = patches.centre_index(voxels)
    return centres, torch.from_numpy(rng.integers(0, N_TRANSFORMS, len(voxels))).to(patches.device)
