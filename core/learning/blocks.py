"""Block training: the label loss on blocks of the cube, run convolutionally as prediction runs the network, instead
of once per patch; the domain loss on patches.

Per patch, a network of valid 3 x 3 x 3 convolutions recomputes for every sample what its neighbours' patches
compute too. A block of (e + p - 1) voxels a side gives e^3 outputs in one pass, each exactly the network's
output for the patch around that voxel (the network is fully convolutional), for about a thirtieth of the
operations per output at e = 8 and p = 9. The price: the outputs of one block are neighbours, so a step's
labelled voxels are correlated; one block centred on an ore voxel and one on a barren voxel per step keep both
classes in every step, and the label loss weighs the ore and the barren voxels of a step half each, as the
per-patch mode's balanced draws do.

The domain loss needs places more than voxels: taken on two blocks a deposit per step, the adversary barely moved
the target AUC (bench/blocks' defaults profile, seeds 0 and 5: 0.880 and 0.864 with it, 0.881 and 0.837 with
LAMBDA_MAX 0, where per patch it lifts 0.860 to 0.905 and 0.878 to 0.921). So each step's domain batch is
DOMAIN_PATCHES patches around uniformly drawn voxels of each deposit, as per patch but a quarter as many: about as
many operations as two blocks a deposit, from 32 places instead of 2. The labelled blocks and the domain patches
run as two passes (their shapes differ), so batch norm measures each on its own.

BLOCK_EDGE = 8: 512 outputs a block (16^3 input voxels at patch 9), small enough that two labelled blocks per
step still come from different places, large enough that a step's operations per labelled voxel fall by about
30 against patches. Augmentation as per patch: a quarter turn about the vertical and a flip, applied to the whole
block and its labels together.

An epoch takes as many steps as the per-patch epoch (``MemberBlocks.steps_for``) until SAMPLES_PER_EPOCH, counted
in labelled block outputs, bounds it: on a large deposit an epoch then takes an eighth of the per-patch steps.
(An epoch of as many labelled outputs as patches, on every deposit, trained too few steps on a small one: target
AUC 0.792 against 0.905 per patch at every default, seed 0 of bench/blocks' defaults profile.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as nnf

from ..data.grid import LABEL_UNKNOWN
from .domain import domain_labels, domain_loss
from .sampling import N_TRANSFORMS, PatchGatherer

BLOCK_EDGE = 8
LABELLED_BLOCKS = 2  # per step: one centred on a training ore voxel, one on a training barren voxel
DOMAIN_PATCHES = 32  # per deposit and step, around uniformly drawn valid voxels


class BlockGatherer:
    """Labelled blocks of a padded standardised cube (the one its PatchGatherer holds), with their labels."""

    def __init__(self, patches: PatchGatherer, labels: np.ndarray) -> None:
        self.patch_size = patches.patch_size
        self.shape = patches.shape
        self.padded = patches.padded
        side = min(BLOCK_EDGE, self.shape[1], self.shape[2])  # square in x-y, so a quarter turn keeps its shape
        self.edge = (min(BLOCK_EDGE, self.shape[0]), side, side)
        self.labels = torch.from_numpy(np.ascontiguousarray(labels)).to(patches.device)

    def corners(self, voxels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) corners of blocks that hold the flat ``voxels``, each at a random place within its block."""
        at = np.stack(np.unravel_index(voxels, self.shape), axis=1)
        edge, shape = np.array(self.edge), np.array(self.shape)
        return np.clip(at - rng.integers(0, edge, size=at.shape), 0, shape - edge)

    def gather(self, corners: np.ndarray, transforms: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs (n, F, ez + p - 1, e + p - 1, e + p - 1), labels (n, ez, e, e) float, -1 unknown), each block
        turned and flipped by its transform (the per-patch tables' order)."""
        grow = self.patch_size - 1
        ez, ey, ex = self.edge
        inputs, labels = [], []
        for (z, y, x), transform in zip(corners.tolist(), transforms.tolist(), strict=True):
            inputs.append(_turned(self.padded[:, z:z + ez + grow, y:y + ey + grow, x:x + ex + grow], transform))
            labels.append(_turned(self.labels[None, z:z + ez, y:y + ey, x:x + ex], transform)[0])
        return torch.stack(inputs), torch.stack(labels).float()


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


class MemberBlocks:
    """One member's block sources: its labelled source blocks (its own training labels), and the source's and
    the target's patches for the domain loss."""

    def __init__(self, source_patches: PatchGatherer, target_patches: PatchGatherer, train_ore: np.ndarray,
                 train_barren: np.ndarray) -> None:
        labels = np.full(source_patches.shape, LABEL_UNKNOWN, np.int8)
        labels.flat[train_barren] = 0
        labels.flat[train_ore] = 1
        self.labelled = BlockGatherer(source_patches, labels)
        self.domain = {"source": source_patches, "target": target_patches}
        self.train_ore, self.train_barren = train_ore, train_barren

    def epoch_draws(self, rng: np.random.Generator, source_voxels: np.ndarray, target_voxels: np.ndarray,
                    steps: int) -> dict[str, tuple]:
        """The labelled blocks' (corners, transforms) and each deposit's domain patches' (centres, transforms)
        for an epoch of ``steps`` steps, in a fixed order from ``rng``."""
        labelled = np.stack([rng.choice(self.train_ore, steps), rng.choice(self.train_barren, steps)], axis=1).ravel()
        draws = {"labelled": (self.labelled.corners(labelled, rng), rng.integers(0, N_TRANSFORMS, len(labelled)))}
        for name, voxels in (("source", source_voxels), ("target", target_voxels)):
            patches = self.domain[name]
            drawn = rng.choice(voxels, DOMAIN_PATCHES * steps)
            draws[name] = (patches.centre_index(drawn),
                           torch.from_numpy(rng.integers(0, N_TRANSFORMS, len(drawn))).to(patches.device))
        return draws

    def step(self, draws: dict, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's labelled blocks (n, F, ...), their outputs' labels (flat), and its domain patches: source's,
        then target's (2 DOMAIN_PATCHES, F, p, p, p)."""
        corners, transforms = draws["labelled"]
        window = slice(step * LABELLED_BLOCKS, (step + 1) * LABELLED_BLOCKS)
        blocks, labels = self.labelled.gather(corners[window], transforms[window])
        window = slice(step * DOMAIN_PATCHES, (step + 1) * DOMAIN_PATCHES)
        domain = torch.cat([self.domain[name].gather(draws[name][0][window], draws[name][1][window])
                            for name in ("source", "target")])
        return blocks, labels.flatten(), domain

    @property
    def outputs_per_step(self) -> int:
        return LABELLED_BLOCKS * int(np.prod(self.labelled.edge)) + 2 * DOMAIN_PATCHES

    def steps_for(self, patch_steps: int, samples_per_epoch: int) -> int:
        """Steps of a block epoch: as many as the per-patch epoch's ``patch_steps``, each training on its labelled
        blocks' outputs, but no more than SAMPLES_PER_EPOCH (``samples_per_epoch``, 0: no budget) counts in
        labelled outputs, as the per-patch mode counts it in patches."""
        if samples_per_epoch <= 0:
            return patch_steps
        per_step = LABELLED_BLOCKS * int(np.prod(self.labelled.edge))
        return max(1, min(patch_steps, math.ceil(samples_per_epoch / per_step)))


def block_losses(stack, members: list[MemberBlocks], draws: list[dict], step: int,
                 lambda_: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each member's (label loss, domain loss, discriminator accuracy) of one block step, (members,) each: the
    label loss over the labelled blocks' outputs, weighted by balanced_label_weights; the domain loss over the
    domain patches, as per patch."""
    steps = [blocks.step(member_draws, step) for blocks, member_draws in zip(members, draws, strict=True)]
    x, labels, domain_x = (torch.stack(parts) for parts in zip(*steps, strict=True))
    label_logits, _ = stack(x, LABELLED_BLOCKS, lambda_)
    label_loss = (nnf.binary_cross_entropy_with_logits(label_logits, labels.clamp(min=0), reduction="none")
                  * balanced_label_weights(labels)).sum(dim=1)
    _, domain_logits = stack(domain_x, 0, lambda_)
    domain, accuracy = domain_loss(domain_logits, domain_labels(DOMAIN_PATCHES, len(members), domain_logits.device))
    return label_loss, domain, accuracy
