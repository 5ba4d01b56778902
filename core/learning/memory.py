"""How much memory a training run needs, estimated from the shapes before any cube is read, and the limit it
is held to: a run too large for the machine is refused by name instead of swapping for hours."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import Mpm3dError
from ..settings import TrainConfig, check_settings, resolved
from .members import trains_together, with_members
from .model import ProspectivityNet, config_for_method
from .predict import CHUNK_VOXELS
from .voxel_outputs import EVAL_BATCH

MEMORY_SHARE = 0.8  # of the memory available at the start: the default limit of the memory check

GB = 1024**3


def training_memory(source_shape: tuple[int, int, int], target_shape: tuple[int, int, int], n_features: int,
                    config: TrainConfig, device: str = "cpu", report: bool = False,
                    loaded: bool = False) -> dict[str, int]:
    """Bytes of host memory a training run needs at its peak, by what needs them (an estimate, from the shapes).

    The cubes as read (float32 evidence, labels, masks); each standardised cube padded by half a patch (on the
    GPU where training runs there, so not counted); index lists of the valid and labelled voxels; one step's
    patches and the network's activations for them (3 x BATCH_SIZE patches, for each member where members train
    side by side, with each member's own voxel lists); the network's weights, optimiser
    state and the kept weights of every epoch; the forest and its samples; with a report, the target's dense
    prediction; with an input alignment, the aligned copy of the target's evidence. ``loaded``: the cubes are in
    memory already and are left out.
    """
    check_settings(source_shape, target_shape, config)  # the estimate builds the network: a bad patch size first
    config = resolved(with_members(config, torch.device(device)))
    p, half = config.patch_size, config.patch_size // 2
    voxels = [int(np.prod(shape)) for shape in (source_shape, target_shape)]
    padded = [int(np.prod([n + 2 * half for n in shape])) for shape in (source_shape, target_shape)]
    parts = {}
    if not loaded:
        parts["cubes"] = sum(n * (4 * n_features + 2) for n in voxels)  # evidence, label, valid mask
    # valid and labelled voxel indices (int64), the split's masks, and the masks and copies made while reading and
    # splitting (measured: training's peak grows by ~215 bytes a voxel pair, the parts here add up to ~210)
    if config.input_alignment != "none":  # the aligned target is a copy of its evidence, mapped in float64 slabs
        parts["aligned target evidence"] = 4 * n_features * voxels[1] + 16 * n_features * min(voxels[1], 2**22)
    parts["voxel lists and masks"] = 8 * (2 * voxels[0] + voxels[1]) + 4 * voxels[0] + 24 * sum(voxels)
    if config.method == "rf":
        samples = min(config.samples_per_epoch or voxels[0], voxels[0])
        nodes = 200 * 2 * samples // 5  # trees x nodes (min_samples_leaf 5)
        parts["forest"] = samples * n_features * 12 + nodes * 60
    else:
        model = config_for_method(config.method, n_features, p, config.discriminator)
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
            parts["report's target prediction"] = 12 * voxels[1] + dense_chunk_memory(target_shape, model)
    return parts


def dense_chunk_memory(shape: tuple[int, int, int], model) -> int:
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
