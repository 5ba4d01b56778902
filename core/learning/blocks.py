"""Block training: the network run convolutionally on blocks of the cube, as prediction runs it, instead of once
per patch.

Per patch, a network of valid 3 x 3 x 3 convolutions recomputes for every sample what its neighbours' patches
compute too. A block of (e + p - 1) voxels a side gives e^3 outputs in one pass, each exactly the network's
output for the patch around that voxel (the network is fully convolutional), for about a thirtieth of the
operations per output at e = 8 and p = 9. The price: the outputs of one block are neighbours, so a step's
labelled voxels are correlated; one block centred on an ore voxel and one on a barren voxel per step keep both
classes in every step, and the label loss weighs the ore and the barren voxels of a step half each, as the
per-patch mode's balanced draws do.

BLOCK_EDGE = 8: 512 outputs a block (16^3 input voxels at patch 9), small enough that two labelled blocks per
step still come from different places, large enough that a step's operations per labelled voxel fall by about
30 against patches. Augmentation as per patch: a quarter turn about the vertical and a flip, applied to the whole
block and its labels together.

An epoch takes as many steps as the per-patch epoch (``MemberBlocks.steps_for``), each on about a thousand
labelled outputs where a per-patch step trains BATCH_SIZE patches, for about a third of its operations at patch 9
and batch 128 (bench/cpu_step), until SAMPLES_PER_EPOCH, counted in labelled block outputs, bounds it: on a large
deposit an epoch then takes an eighth of the per-patch steps. (An epoch of as many labelled outputs as patches,
on every deposit, trained too few steps on a small one: target AUC 0.792 against 0.905 per patch at every
default, seed 0 of bench/blocks' defaults profile.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as nnf

from ..data.grid import LABEL_UNKNOWN
from .sampling import N_TRANSFORMS, PatchGatherer

BLOCK_EDGE = 8
LABELLED_BLOCKS = 2  # per step: one centred on a training ore voxel, one on a training barren voxel
DOMAIN_BLOCKS = 2  # per deposit and step, centred on uniformly drawn valid voxels


class BlockGatherer:
    """Blocks of a padded standardised cube (the one its PatchGatherer holds), with their labels and valid masks."""

    def __init__(self, patches: PatchGatherer, valid: np.ndarray, labels: np.ndarray | None = None) -> None:
        self.patch_size = patches.patch_size
        self.shape = patches.shape
        self.padded = patches.padded
        side = min(BLOCK_EDGE, self.shape[1], self.shape[2])  # square in x-y, so a quarter turn keeps its shape
        self.edge = (min(BLOCK_EDGE, self.shape[0]), side, side)
        self.valid = torch.from_numpy(np.ascontiguousarray(valid)).to(patches.device)
        label_cube = np.full(self.shape, LABEL_UNKNOWN, np.int8) if labels is None else labels
        self.labels = torch.from_numpy(np.ascontiguousarray(label_cube)).to(patches.device)

    def corners(self, voxels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) corners of blocks that hold the flat ``voxels``, each at a random place within its block."""
        at = np.stack(np.unravel_index(voxels, self.shape), axis=1)
        edge, shape = np.array(self.edge), np.array(self.shape)
        return np.clip(at - rng.integers(0, edge, size=at.shape), 0, shape - edge)

    def gather(self, corners: np.ndarray, transforms: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs (n, F, ez + p - 1, e + p - 1, e + p - 1), labels (n, ez, e, e) float, -1 unknown, valid (n, ez,
        e, e)), each block turned and flipped by its transform (the per-patch tables' order)."""
        grow = self.patch_size - 1
        inputs, labels, valid = [], [], []
        for (z, y, x), transform in zip(corners.tolist(), transforms.tolist(), strict=True):
            ez, ey, ex = self.edge
            block = self.padded[:, z:z + ez + grow, y:y + ey + grow, x:x + ex + grow]
            parts = [_turned(block, transform)]
            for cube in (self.labels, self.valid):
                parts.append(_turned(cube[None, z:z + ez, y:y + ey, x:x + ex], transform)[0])
            inputs.append(parts[0])
            labels.append(parts[1])
            valid.append(parts[2])
        return torch.stack(inputs), torch.stack(labels).float(), torch.stack(valid)


def _turned(block: torch.Tensor, transform: int) -> torch.Tensor:
    """A (C, Z, Y, X) block flipped along x (transforms 4-7) and then turned ``transform % 4`` quarter turns in
    y-x, as core.learning.sampling's offset tables turn a patch."""
    if transform >= N_TRANSFORMS // 2:
        block = torch.flip(block, dims=(3,))
    return torch.rot90(block, transform % 4, dims=(2, 3))


def balanced_label_weights(labels: torch.Tensor) -> torch.Tensor:
    """Each member's weights (members, n) for the labelled outputs of a step: the ore voxels half and the barren
    voxels half (all of it to the one class present), unknown voxels nothing; each member's weights sum to 1."""
    ore, barren = labels == 1, labels == 0
    n_ore, n_barren = ore.sum(dim=1, keepdim=True), barren.sum(dim=1, keepdim=True)
    share = torch.where((n_ore > 0) & (n_barren > 0), 0.5, 1.0)
    return ore * share / n_ore.clamp(min=1) + barren * share / n_barren.clamp(min=1)


def domain_weights(valid: torch.Tensor, n_source: int) -> torch.Tensor:
    """Each member's weights (members, n) for the domain outputs: the valid voxels of the source blocks (the
    first ``n_source``) half, the target's half; each member's weights sum to 1."""
    source, target = valid.clone(), valid.clone()
    source[:, n_source:] = False
    target[:, :n_source] = False
    return (source / source.sum(dim=1, keepdim=True).clamp(min=1)
            + target / target.sum(dim=1, keepdim=True).clamp(min=1)) * 0.5


class MemberBlocks:
    """One member's block sources: its labelled source blocks (its own training labels), and the source's and
    the target's blocks for the domain loss."""

    def __init__(self, source_patches: PatchGatherer, target_patches: PatchGatherer, source_valid: np.ndarray,
                 target_valid: np.ndarray, train_ore: np.ndarray, train_barren: np.ndarray) -> None:
        labels = np.full(source_patches.shape, LABEL_UNKNOWN, np.int8)
        labels.flat[train_barren] = 0
        labels.flat[train_ore] = 1
        self.parts = {"labelled": BlockGatherer(source_patches, source_valid, labels),
                      "source": BlockGatherer(source_patches, source_valid),
                      "target": BlockGatherer(target_patches, target_valid)}
        self.train_ore, self.train_barren = train_ore, train_barren

    def epoch_draws(self, rng: np.random.Generator, source_voxels: np.ndarray, target_voxels: np.ndarray,
                    steps: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each part's (corners, transforms) for an epoch of ``steps`` steps, in a fixed order from ``rng``."""
        labelled = np.stack([rng.choice(self.train_ore, steps), rng.choice(self.train_barren, steps)], axis=1)
        voxels = {"labelled": labelled.ravel(), "source": rng.choice(source_voxels, DOMAIN_BLOCKS * steps),
                  "target": rng.choice(target_voxels, DOMAIN_BLOCKS * steps)}
        return {name: (self.parts[name].corners(v, rng), rng.integers(0, N_TRANSFORMS, len(v)))
                for name, v in voxels.items()}

    def step(self, draws: dict, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's blocks (labelled, source, target: (n, F, ...)), labelled outputs' labels and the domain
        blocks' valid masks, both flat."""
        gathered = {}
        for name, per_step in (("labelled", LABELLED_BLOCKS), ("source", DOMAIN_BLOCKS), ("target", DOMAIN_BLOCKS)):
            corners, transforms = draws[name]
            window = slice(step * per_step, (step + 1) * per_step)
            gathered[name] = self.parts[name].gather(corners[window], transforms[window])
        inputs = torch.cat([gathered[name][0] for name in ("labelled", "source", "target")])
        valid = torch.cat([gathered["source"][2], gathered["target"][2]]).flatten()
        return inputs, gathered["labelled"][1].flatten(), valid

    @property
    def outputs_per_step(self) -> int:
        return (LABELLED_BLOCKS + 2 * DOMAIN_BLOCKS) * int(np.prod(self.parts["source"].edge))

    def steps_for(self, patch_steps: int, samples_per_epoch: int) -> int:
        """Steps of a block epoch: as many as the per-patch epoch's ``patch_steps``, each training on its labelled
        blocks' outputs, but no more than SAMPLES_PER_EPOCH (``samples_per_epoch``, 0: no budget) counts in
        labelled outputs, as the per-patch mode counts it in patches."""
        if samples_per_epoch <= 0:
            return patch_steps
        per_step = LABELLED_BLOCKS * int(np.prod(self.parts["labelled"].edge))
        return max(1, min(patch_steps, math.ceil(samples_per_epoch / per_step)))


def block_losses(stack, members: list[MemberBlocks], draws: list[dict], step: int,
                 lambda_: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each member's (label loss, domain loss, discriminator accuracy) of one block step, (members,) each: the
    label loss weighted by balanced_label_weights, the domain loss and accuracy by domain_weights."""
    steps = [blocks.step(member_draws, step) for blocks, member_draws in zip(members, draws, strict=True)]
    x = torch.stack([inputs for inputs, _, _ in steps])
    labels = torch.stack([labels for _, labels, _ in steps])
    valid = torch.stack([valid for _, _, valid in steps])
    label_logits, domain_logits = stack(x, LABELLED_BLOCKS, lambda_)
    label_loss = (nnf.binary_cross_entropy_with_logits(label_logits, labels.clamp(min=0), reduction="none")
                  * balanced_label_weights(labels)).sum(dim=1)
    n_source = valid.shape[1] // 2
    domains = torch.zeros_like(domain_logits)
    domains[:, n_source:] = 1.0
    weights = domain_weights(valid, n_source)
    domain = (nnf.binary_cross_entropy_with_logits(domain_logits, domains, reduction="none") * weights).sum(dim=1)
    with torch.no_grad():
        accuracy = (((domain_logits > 0).float() == domains).float() * weights).sum(dim=1)
    return label_loss, domain, accuracy
