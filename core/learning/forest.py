"""The random-forest baseline: fitted on the centre voxel's standardised evidence, sampled as the networks'
patches are, and stored as plain arrays (core.learning.model.ForestArrays)."""

from __future__ import annotations

import time

import numpy as np

from ..results.metrics import labelled_auc
from .model import ForestArrays
from .sampling import draw_source_epoch, ore_cycle, standardise


def train_forest(source, source_stats, split, validation, config, rng, target, target_stats, holes):
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
    val_auc = labelled_auc(arrays.predict(standardise(flat[:, val_voxels], source_stats).T), val_labels)
    seconds = time.perf_counter() - started
    history = [{
        "epoch": 1, "loss_label": None, "loss_domain": None, "lambda": None, "lr": None,
        "val_auc": val_auc, "disc_acc": None, "patches_per_s": len(voxels) / seconds, "seconds": seconds,
        "trees": arrays.n_trees, "feature_importance": [float(v) for v in forest.feature_importances_],
    }]
    return arrays, history
