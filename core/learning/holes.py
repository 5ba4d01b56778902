"""Target drill holes in training: split into validating and training folds, drawn class-balanced, scored.

Holes reach training only in the modes TARGET_LABELS names (core/learning/training.py's docstring); a hole is a
connected run of labelled voxels (core.data.voxelise.hole_groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN, Cube
from ..data.voxelise import hole_folds, hole_groups, near_labels
from ..errors import Mpm3dError
from ..settings import TrainConfig
from .model import TrainedModel
from .predict import predict_patches


@dataclass
class HoleSplit:
    """Target drill-hole voxels as one training reads them: flat indices into the target cube."""

    val_voxels: np.ndarray
    val_labels: np.ndarray
    val_holes: np.ndarray  # the hole of each validating voxel, for the bootstrap over holes
    train_voxels: np.ndarray  # train mode: training holes' voxels whose patches miss every validating voxel
    train_labels: np.ndarray
    summary: dict


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
    if n_holes == 0 and outside == 0:
        raise Mpm3dError("the drill-hole label cube (TARGET_HOLES) has no labelled voxel at all (every voxel is "
                         "unknown): voxelise the drill-hole samples onto the TARGET cube again and check their "
                         "coordinates, CRS and ore field, or use TARGET_LABELS 'ignore'")
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


def hole_probability(model: TrainedModel, target: Cube, holes: HoleSplit, device: torch.device) -> np.ndarray:
    """The model's ore probability at the validating hole voxels, as prediction computes it."""
    indices = np.stack(np.unravel_index(holes.val_voxels, target.grid.shape), axis=1)
    return predict_patches(model, target, indices, device=str(device), normalisation="target")


def balanced_draw(voxels: np.ndarray, labels: np.ndarray, n: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` voxels drawn with replacement, half ore and half barren, shuffled: (voxels, float32 labels)."""
    n_ore = n // 2
    drawn = np.concatenate([rng.choice(voxels[labels == 1], n_ore), rng.choice(voxels[labels == 0], n - n_ore)])
    targets = np.concatenate([np.ones(n_ore), np.zeros(n - n_ore)]).astype(np.float32)
    order = rng.permutation(n)
    return drawn[order], targets[order]
