"""Training: DANN-CTA and its ablations on source + target patches, or the random-forest baseline.

Target labels are never read here: the target cube contributes its evidence (unlabelled patches for
the domain loss, and its own standardisation statistics) and nothing else. A network's epoch is chosen
by the rule ``TrainConfig.selection`` names (core/selection.py); every rule's scores are kept per epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch.nn import functional as nnf

from .errors import Mpm3dError
from .grid import LABEL_BARREN, LABEL_ORE, Cube
from .metrics import roc_auc
from .model import (
    METHODS,
    ForestArrays,
    ProspectivityNet,
    TrainedModel,
    autocast_for,
    config_for_method,
    domain_discriminator,
    resolve_device,
)
from .novelty import source_sample
from .sampling import (
    N_TRANSFORMS,
    PatchGatherer,
    SourceSplit,
    cube_stats,
    draw_source_epoch,
    padded_standardised,
    spatial_block_split,
    standardise,
)
from .selection import SELECTION_RULES, averaged_epochs, chosen_epoch
from .selection_scores import average_states, embed_and_score, epoch_scores, selection_probe

MAX_VALIDATION_VOXELS = 20_000
# The discriminator must keep up with the features it judges, or in a run of a few hundred steps it never
# tells the domains apart and the reversed gradient carries no signal.
DISCRIMINATOR_LR_FACTOR = 10.0
PROGRESS_CALLS_PER_EPOCH = 20
MEMBER_SEED_STRIDE = 1000


@dataclass
class TrainConfig:
    """Everything that decides a training run; with the seed and the data it decides the weights."""

    method: str = "dann_cta"
    patch_size: int = 9
    epochs: int = 20
    batch_size: int = 128  # per step: B labelled source patches, and B source + B target for the domain loss
    learning_rate: float = 1e-3
    negative_ratio: float = 1.0
    lambda_max: float = 1.0
    weight_decay: float = 1e-4
    device: str = "auto"
    seed: int = 0
    val_fraction: float = 0.25
    # "own": each deposit standardised by its own statistics; "source": the target by the source's (an ablation)
    target_normalisation: str = "own"
    # networks trained from their own seeds; their spread is the map's uncertainty (the forest's are its trees)
    members: int = 1
    # how a network's weights are chosen among its epochs, without target labels: core/selection.py
    selection: str = "source_val"


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
) -> TrainResult:
    """Train ``config.method`` on the labelled ``source`` and the unlabelled ``target``.

    ``on_epoch_end(epoch, net)`` sees a network after each epoch, in eval mode, before training
    goes on; the benchmark traces diagnostics with it. It must not change the network.
    """
    _check_inputs(source, target, config)
    device = resolve_device(config.device)
    source_stats = _domain_stats(source, "SOURCE")
    target_stats = source_stats if config.target_normalisation == "source" else _domain_stats(target, "TARGET")
    normalisation = {"source": source_stats.to_dict(), "target": target_stats.to_dict()}
    n_members = 1 if config.method == "rf" else config.members
    models, runs = [], []
    for member in range(n_members):
        member_config = replace(config, seed=member_seed(config.seed, member))
        split, validation, rng = source_samples(source, member_config)
        _check_batch(split, config)
        member_progress = None if on_progress is None else (
            lambda event, member=member: on_progress({**event, "member": member + 1, "members": n_members}))
        if config.method == "rf":
            model, history = _train_forest(source, source_stats, split, validation, member_config, rng)
            run = MemberRun(member_config.seed, history, 1, history[0]["val_auc"])
        else:
            model, run = _train_network(
                source, target, source_stats, target_stats, split, validation, member_config, device, rng,
                member_progress, on_epoch_end,
            )
        models.append(model)
        runs.append(run)
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
    return result


def _check_batch(split: SourceSplit, config: TrainConfig) -> None:
    n_barren = int(round(len(split.train_ore) * config.negative_ratio))
    if n_barren > len(split.train_barren):
        most = len(split.train_barren) / max(len(split.train_ore), 1)
        raise Mpm3dError(
            f"NEGATIVE_RATIO {config.negative_ratio:g} asks for {n_barren} barren samples per epoch, but the source "
            f"has only {len(split.train_barren)} barren voxels for training ({len(split.train_ore)} ore): give a "
            f"ratio of at most {most:.3g}")
    n_samples = int(round(len(split.train_ore) * (1 + config.negative_ratio)))
    if config.batch_size > n_samples:
        raise Mpm3dError(
            f"the batch size {config.batch_size} is larger than the {n_samples} training samples per epoch "
            f"({len(split.train_ore)} ore voxels outside the validation blocks, {config.negative_ratio:g} "
            f"barren per ore); lower the batch size (BATCH_SIZE) to at most {n_samples}"
        )


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    found = {"mpm3d": __version__, "torch": torch.__version__, "numpy": np.__version__}
    try:
        found["scikit-learn"] = version("scikit-learn")
    except PackageNotFoundError:
        found["scikit-learn"] = "not installed"
    return found


def _check_inputs(source: Cube, target: Cube, config: TrainConfig) -> None:
    if config.method not in METHODS:
        raise Mpm3dError(f"unknown method '{config.method}'; choose one of {', '.join(METHODS)}")
    p = config.patch_size
    for role, cube in (("source", source), ("target", target)):
        if min(cube.grid.shape) < 3:
            raise Mpm3dError(f"the {role} cube ({role.upper()}) {cube.grid.shape} (z, y, x) is too small: a 3D "
                             "patch needs at least 3 voxels along z, y and x; stack more levels or larger slices")
    if p < 3 or p % 2 == 0:
        raise Mpm3dError(f"the patch size (PATCH_SIZE) must be odd and at least 3, got {p}; use 3, 5, 7 or 9")
    for role, cube in (("source", source), ("target", target)):
        if p > min(cube.grid.shape):
            raise Mpm3dError(f"the patch size {p} (PATCH_SIZE) is larger than the {role} cube ({role.upper()}) "
                             f"{cube.grid.shape} (z, y, x); choose an odd patch size of at most {min(cube.grid.shape)}")
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
    if config.members < 1:
        raise Mpm3dError(f"an ensemble needs at least one member (ENSEMBLE_MEMBERS), got {config.members}")
    if config.batch_size < 2:
        raise Mpm3dError(f"the batch size (BATCH_SIZE) must be at least 2, got {config.batch_size}")
    if not config.negative_ratio > 0:
        raise Mpm3dError(f"the negative ratio (NEGATIVE_RATIO) must be positive, got {config.negative_ratio}")
    if config.target_normalisation not in ("own", "source"):
        raise Mpm3dError(f"the target normalisation must be 'own' or 'source', not '{config.target_normalisation}'")
    if not 0 <= config.val_fraction < 1:
        raise Mpm3dError(f"the validation fraction must be in [0, 1), got {config.val_fraction}")
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


def _train_forest(source, source_stats, split, validation, config, rng):
    """Random forest on the centre voxel's standardised evidence, sampled like the networks' patches."""
    from sklearn.ensemble import RandomForestClassifier

    started = time.perf_counter()
    voxels, labels = draw_source_epoch(split, config.negative_ratio, rng)
    flat = source.features.reshape(len(source.feature_names), -1)
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=2, random_state=config.seed)
    forest.fit(standardise(flat[:, voxels], source_stats).T, labels)
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


def _train_network(source, target, source_stats, target_stats, split, validation, config, device, rng,
                   on_progress, on_epoch_end):
    """Minibatch training; each step sees B labelled source patches and B + B unlabelled ones.

    The label loss uses the class-balanced labelled patches. The domain loss compares B source and B
    target patches drawn uniformly over each cube's valid voxels: were the balanced labelled batch used
    (half ore) against a target batch that is mostly barren, the easiest way to fool the discriminator
    would be to blur ore against barren, and adaptation would destroy the label signal.
    All 3B patches go through the network as one batch for every method, so BatchNorm sees the same
    mixture everywhere and the methods differ only in attention and the domain loss. Without a domain
    head a probe discriminator learns on detached features, so ``disc_acc`` still measures how
    separable the domains are, without the probe shaping them.
    """
    torch.manual_seed(config.seed)
    half = config.patch_size // 2
    net = ProspectivityNet(config_for_method(config.method, len(source.feature_names), config.patch_size))
    net.to(device)
    has_domain_head = net.domain_head is not None
    probe = None if has_domain_head else domain_discriminator(net.config.n_embedding).to(device)
    discriminator = probe if probe is not None else net.domain_head
    in_discriminator = {id(q) for q in discriminator.parameters()}
    groups = [{"params": [q for q in net.parameters() if id(q) not in in_discriminator], "lr_factor": 1.0},
              {"params": list(discriminator.parameters()), "lr_factor": DISCRIMINATOR_LR_FACTOR}]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)

    source_patches = PatchGatherer(padded_standardised(source, source_stats, half), config.patch_size, device)
    target_patches = PatchGatherer(padded_standardised(target, target_stats, half), config.patch_size, device)
    source_voxels, target_voxels = np.flatnonzero(source.valid), np.flatnonzero(target.valid)
    val_voxels, val_labels = validation
    val_centres = source_patches.centre_index(val_voxels)

    batch = config.batch_size
    n_per_epoch = int(round(len(split.train_ore) * (1 + config.negative_ratio)))
    steps = n_per_epoch // batch
    total_steps = steps * config.epochs
    domain_targets = torch.cat([torch.zeros(batch), torch.ones(batch)]).to(device)
    report_every = max(1, steps // PROGRESS_CALLS_PER_EPOCH)
    selection_samples = selection_probe(split, val_labels, source_patches, target_patches, target_voxels,
                                        np.random.default_rng([config.seed, 3]))
    history, states = [], []
    with _deterministic(device):
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            voxels, labels = draw_source_epoch(split, config.negative_ratio, rng)
            n_used = steps * batch
            labelled = _augmented(source_patches, voxels[:n_used], rng)
            source_labels = torch.from_numpy(labels[:n_used]).to(device)
            unlabelled_source = _augmented(source_patches, rng.choice(source_voxels, n_used), rng)
            unlabelled_target = _augmented(target_patches, rng.choice(target_voxels, n_used), rng)
            sums = torch.zeros(3, device=device)  # label loss, domain loss, discriminator hits
            net.train()
            for step in range(steps):
                progress = ((epoch - 1) * steps + step) / total_steps
                lr = annealed_learning_rate(progress, config.learning_rate)
                lambda_ = grl_lambda(progress, config.lambda_max)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group["lr_factor"]
                window = slice(step * batch, (step + 1) * batch)
                x = torch.cat([labelled(window), unlabelled_source(window), unlabelled_target(window)])
                with autocast_for(device):
                    embedding = net.embed(x)
                    label_logits = net.label_head(embedding[:batch]).flatten().float()
                    domain_embedding = embedding[batch:]
                    if has_domain_head:
                        domain_logits = net.domain_logits(domain_embedding, lambda_)
                    else:
                        domain_logits = probe(domain_embedding.detach())
                    domain_logits = domain_logits.flatten().float()
                loss_label = nnf.binary_cross_entropy_with_logits(label_logits, source_labels[window])
                loss_domain = nnf.binary_cross_entropy_with_logits(domain_logits, domain_targets)
                optimizer.zero_grad(set_to_none=True)
                (loss_label + loss_domain).backward()
                optimizer.step()
                with torch.no_grad():
                    hits = ((domain_logits > 0).float() == domain_targets).float().mean()
                    sums += torch.stack([loss_label.detach(), loss_domain.detach(), hits])
                if on_progress is not None and (step + 1) % report_every == 0 and step + 1 < steps:
                    on_progress({"stage": "train", "epoch": epoch, "epochs": config.epochs,
                                 "step": step + 1, "steps": steps})
            train_seconds = time.perf_counter() - started
            mean_label, mean_domain, disc_acc = (sums / steps).tolist()
            if not (math.isfinite(mean_label) and math.isfinite(mean_domain)):
                raise Mpm3dError(
                    f"training diverged in epoch {epoch}: the loss became {mean_label + mean_domain} (label loss "
                    f"{mean_label}, domain loss {mean_domain}), so the weights are no longer numbers and no model "
                    "was written. Lower LEARNING_RATE or LAMBDA_MAX, and check the evidence for extreme values "
                    "(undeclared nodata such as -9999 or -3.4e38)")
            scores = epoch_scores(net, selection_samples, source_patches, target_patches, val_centres, val_labels,
                                  device)
            states.append({k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()})
            entry = {
                "epoch": epoch,
                "loss_label": mean_label,
                "loss_domain": mean_domain,
                "lambda": lambda_ if has_domain_head else None,
                "lr": lr,
                **scores,
                "disc_acc": disc_acc,
                "patches_per_s": 3 * steps * batch / train_seconds,
                "seconds": time.perf_counter() - started,
            }
            history.append(entry)
            if on_epoch_end is not None:
                with torch.inference_mode():
                    on_epoch_end(epoch, net)
            if on_progress is not None:
                on_progress({"stage": "train", "epochs": config.epochs, "step": steps, "steps": steps,
                             **entry})
    if config.selection == "average":
        averaged = averaged_epochs(config.epochs)
        net.load_state_dict(average_states([states[epoch - 1] for epoch in averaged]))
        val_auc = _auc(embed_and_score(net, source_patches, val_centres, device)[1], val_labels)
        return net.cpu().eval(), MemberRun(config.seed, history, averaged[-1], val_auc, averaged)
    best = chosen_epoch(history, config.selection)
    net.load_state_dict(states[best - 1])
    return net.cpu().eval(), MemberRun(config.seed, history, best, history[best - 1]["val_auc"])


def _augmented(patches: PatchGatherer, voxels: np.ndarray, rng: np.random.Generator):
    """Centres moved to the device once per epoch, each with a random rotation/flip; a window -> patches."""
    centres = patches.centre_index(voxels)
    transforms = torch.from_numpy(rng.integers(0, N_TRANSFORMS, len(voxels))).to(patches.device)
    return lambda window: patches.gather(centres[window], transforms[window])
