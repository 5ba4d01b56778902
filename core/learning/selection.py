"""Choosing a network's epoch without target labels.

The source's spatial-block validation AUC cannot see adaptation: it is high whatever happens on the
target. The other rules read the unlabelled target (and, for DEV, the source labels); none reads a
target label. Every network epoch is scored by all of them, so the report and the benchmark can say
what each rule would have chosen; ``TrainConfig.selection`` says which one returns the weights.

- ``source_val``: the highest source validation AUC (the rule of earlier versions).
- ``entropy``: the lowest mean prediction entropy on a fixed target sample (Morerio et al. 2018).
- ``dev``: Deep Embedded Validation (You et al. 2019): the source validation loss, each voxel weighted
  by how target-like its embedding is (a domain classifier on source training vs target embeddings),
  with DEV's control variate. Lowest wins.
- ``mixval``: MixVal (Hu et al. 2023): target patches mixed 55:45, scored against the dominant patch's
  pseudo-label, the mean of the same-class and cross-class accuracies. Highest wins.
- ``average``: no epoch chosen; the mean of the weights of the last quarter of the epochs.

Where the user gives target drill holes and a mode that reads them (TARGET_LABEL_MODES), the rule is
``target_holes`` instead: the highest AUC on the validating holes' voxels, whatever SELECTION says.
"""

from __future__ import annotations

import math

SELECTION_RULES = ("source_val", "entropy", "dev", "mixval", "average")
SELECTION_LABELS = {
    "source_val": "Best source validation AUC (spatial blocks)",
    "entropy": "Lowest prediction entropy on the target",
    "dev": "Deep embedded validation (DEV): source loss weighted towards the target",
    "mixval": "MixVal: consistency on mixed target patches",
    "average": "Average of the last quarter of the epochs' weights",
}
# The epoch scores each label-free rule reads, and whether the rule keeps the highest.
RULE_SCORES = {"source_val": ("val_auc", True), "entropy": ("entropy", False), "dev": ("dev", False),
               "mixval": ("mixval", True)}
HOLE_RULE = "target_holes"
HOLE_SCORE = "target_holes_auc"  # the AUC on the validating target drill holes' voxels, highest wins
# What training does with target drill holes (a label cube of voxelised holes): nothing, choose, or learn.
TARGET_LABEL_MODES = ("ignore", "validate", "train")
TARGET_LABEL_LABELS = {
    "ignore": "Ignore: never read target holes (label-free adaptation)",
    "validate": "Validate: the holes choose the epoch and score the model, never train it",
    "train": "Train: some holes join the label loss, the others choose and score",
}


def chosen_epoch(history: list[dict], rule: str) -> int:
    """The epoch ``rule`` keeps (the earliest of ties); the last epoch where its score is missing."""
    key, higher = (HOLE_SCORE, True) if rule == HOLE_RULE else RULE_SCORES[rule]
    scored = [h for h in history if h.get(key) is not None]
    if not scored:
        return history[-1]["epoch"]
    best = max(scored, key=lambda h: h[key]) if higher else min(scored, key=lambda h: h[key])
    return best["epoch"]


def averaged_epochs(epochs: int) -> list[int]:
    """The last quarter of the epochs (at least one), whose weights ``average`` takes."""
    n = max(1, math.ceil(epochs / 4))
    return list(range(epochs - n + 1, epochs + 1))
