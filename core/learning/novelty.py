"""Extrapolation map: where a cube holds evidence the labelled source deposit never showed.

No labels are used. A domain classifier learns to tell a sample of the source's evidence from a
same-size sample of the cube's; with the two classes weighted equally, its calibrated probability
p = P(cube | x) gives the density ratio r = p_cube(x) / p_source(x) = p / (1 - p), and the novelty
clip((r - 1) / (r + 1), 0, 1) = clip(2p - 1, 0, 1) is 0 where such evidence is at least as common in
the source as in the cube and tends to 1 where the source never had it: there the model extrapolates.

Why each choice:
- Features are the centre voxel's, standardised per deposit with the deposit's own statistics,
  because that is what the network sees. A consequence to read the map with: a shift confined to
  part of a cube also moves the cube's mean and spread, so after standardisation the rest of the
  cube differs from the source as well, and is flagged: the network sees it squeezed too.
- Neighbouring voxels are near-duplicates, so held-out data are whole x-y blocks of columns (the
  source's blocks for the source sample, the cube's for the cube's), never random voxels; otherwise
  the held-out scores, and so the calibration and the AUC, would be optimistic.
- Gradient-boosted shallow trees (scikit-learn's HistGradientBoostingClassifier) with large leaves
  and few rounds: fast on millions of voxels, invariant to monotone rescaling of a feature, and too
  coarse to memorise a deposit voxel by voxel. Fitted without early stopping, so nothing is random.
- Block cross-fitting gives every sampled voxel a held-out score; isotonic regression on those
  scores (classes weighted equally) is the calibration, their AUC the separability of the deposits,
  and the AUC lost when one feature is permuted in the held-out blocks its importance. Isotonic,
  not Platt: a shift far outside the source gives two clusters of scores that no sigmoid fits
  (measured: Platt put 0.59-0.89 where isotonic put 0.96-1.00 on evidence the source never had).
- The dense map uses one classifier fitted on all blocks, through that calibration (scikit-learn's
  CalibratedClassifierCV with ensemble=False does the same). A classifier that never saw a block
  cannot flag novelty confined to that block, so scoring each voxel out-of-block would miss local
  anomalies (measured: 0.42 instead of 0.99 on a shifted strip three columns wide). On the source
  itself the fitted-on-all classifier still gives a mean novelty below 0.01.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from threadpoolctl import threadpool_limits

from ..data.grid import Cube
from ..errors import Mpm3dError
from ..results.metrics import roc_auc
from .sampling import SPLIT_TILES, FeatureStats, ReadSlab, SlabSource, column_blocks, cube_slab_reader, standardise

SAMPLE_SIZE = 20_000  # per domain; measured held-out AUC on a 1 M-voxel target: 0.91 at 2,000, 0.925-0.93 from 5,000
MIN_VOXELS = 200  # per domain; fewer leave too little for held-out calibration
TILES = SPLIT_TILES  # the x-y plane is cut into TILES x TILES blocks, as in the source's validation split
FOLDS = 4  # cross-fitting folds of blocks
SLAB_VOXELS = 1_000_000  # voxels read and scored at once
PERMUTATION_REPEATS = 2
CLASSIFIER = {"max_iter": 50, "learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 100}


class SourceSample(NamedTuple):
    """A uniform sample of the source's valid voxels, kept in the model file as two plain arrays.

    ``features`` (n, F) float32 holds the centre voxels standardised with the source's own statistics;
    ``blocks`` (n,) int16 the x-y block (row block * TILES + column block) each voxel lies in, so held-out
    calibration can leave out whole blocks of the source too.
    """

    features: np.ndarray
    blocks: np.ndarray


def source_sample(
    cube: Cube | SlabSource, stats: FeatureStats, rng: np.random.Generator, n: int = SAMPLE_SIZE
) -> SourceSample:
    """At most ``n`` valid voxels of the source drawn uniformly without replacement, standardised with ``stats``."""
    read_slab, shape, _ = _reader(cube)
    features, blocks, _ = _uniform_sample(read_slab, shape, stats, rng, n, None)
    return SourceSample(features, blocks)


def evidence_sample(cube: Cube | SlabSource, rng: np.random.Generator, n: int) -> np.ndarray:
    """At most ``n`` valid voxels' evidence (m, F) as it is, drawn uniformly without replacement."""
    read_slab, shape, names = _reader(cube)
    identity = FeatureStats(mean=np.zeros(len(names)), std=np.ones(len(names)))
    return _uniform_sample(read_slab, shape, identity, rng, n, None)[0].astype(np.float64)


def novelty_map(
    sample: SourceSample,
    cube: Cube | SlabSource,
    stats: FeatureStats,
    seed: int = 0,
    on_progress: Callable[[dict], None] | None = None,
    slab_voxels: int = SLAB_VOXELS,
) -> tuple[np.ndarray, dict]:
    """Novelty (Z, Y, X) float32 in [0, 1], NaN at nodata voxels, and a summary of the domain classifier.

    ``sample`` is the training source's ``source_sample``; ``stats`` are the cube's own statistics (the
    standardisation its prediction uses). The cube is read ``slab_voxels`` at a time, three times: to
    count its valid voxels, to sample them, and to score them. The summary holds ``share_above_half``
    and ``mean`` over the valid volume, ``domain_auc`` (held-out, 0.5: the deposits cannot be told
    apart), ``importance`` (held-out AUC lost when a feature is permuted, largest first), the sample
    sizes, the number of folds and a ``note``. With fewer than MIN_VOXELS valid voxels in either domain,
    or valid voxels in fewer than two x-y blocks, the map is NaN throughout and the note says why.
    """
    read_slab, shape, names = _reader(cube)
    source_features = np.asarray(sample.features, dtype=np.float32)
    if source_features.ndim != 2 or source_features.shape[1] != len(names):
        raise Mpm3dError(
            f"the novelty sample has {source_features.shape[-1]} features, the cube {len(names)} ({', '.join(names)}); "
            "novelty needs the cube stacked with the model's bands in the same order")
    if len(sample.blocks) != len(source_features):
        raise Mpm3dError(f"the novelty sample has {len(source_features)} voxels but {len(sample.blocks)} block ids")
    if slab_voxels < 1:
        raise Mpm3dError(f"the slab size must be at least one voxel, got {slab_voxels}")
    depth = max(1, slab_voxels // (shape[1] * shape[2]))
    steps = 3 * -(-shape[0] // depth) + FOLDS + 1
    progress = _Progress(on_progress, steps)
    rng = np.random.default_rng(seed)
    cube_features, cube_blocks, n_valid = _uniform_sample(
        read_slab, shape, stats, rng, len(source_features), progress, depth)
    summary = {"share_above_half": None, "mean": None, "domain_auc": None, "importance": {},
               "n_source": len(source_features), "n_cube": len(cube_features), "n_valid": n_valid,
               "folds": 0, "note": None}
    folds_source = _folds(sample.blocks, seed)
    folds_cube = _folds(cube_blocks, seed)
    n_folds = min(FOLDS, folds_source.max(initial=-1) + 1, folds_cube.max(initial=-1) + 1)
    if min(len(source_features), len(cube_features)) < MIN_VOXELS:
        summary["note"] = (f"novelty not computed: the source sample has {len(source_features)} and the cube "
                           f"{n_valid} valid voxels, and the domain classifier needs at least {MIN_VOXELS} of each; "
                           "predict a larger cube or one with fewer nodata voxels")
    elif n_folds < 2:
        summary["note"] = ("novelty not computed: the valid voxels of the source or the cube lie in a single x-y "
                           f"block of a {TILES} x {TILES} cut, so no block can be held out for calibration; "
                           "predict a cube that spans more ground")
    if summary["note"] is not None:
        return np.full(shape, np.nan, dtype=np.float32), summary

    x = np.concatenate([source_features, cube_features])
    is_cube = np.concatenate([np.zeros(len(source_features)), np.ones(len(cube_features))])
    fold = np.concatenate([folds_source, folds_cube]) % n_folds
    weight = np.where(is_cube == 1, 0.5 / len(cube_features), 0.5 / len(source_features)) * len(x)
    # On a few ten thousand samples OpenMP's thread hand-offs cost more than they save (measured on 2 busy
    # cores: 0.5 s per fit on one thread, 1-6 s on two); the dense pass below has the work to share.
    with threadpool_limits(limits=1, user_api="openmp"):
        held_out_score, importance = _cross_fit(x, is_cube, weight, fold, n_folds, seed, rng, progress)
        classifier = _classifier(seed).fit(x, is_cube, sample_weight=weight)
    calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
        held_out_score, is_cube, sample_weight=weight)
    progress.step()

    novelty = _dense(classifier, calibration, read_slab, shape, stats, depth, progress)
    valid = novelty[np.isfinite(novelty)]
    summary.update(
        share_above_half=float(np.mean(valid > 0.5)),
        mean=float(np.mean(valid, dtype=np.float64)),
        domain_auc=roc_auc(held_out_score[is_cube == 1], held_out_score[is_cube == 0]),
        importance={names[k]: float(importance[k]) for k in np.argsort(-importance, kind="stable")},
        folds=int(n_folds),
    )
    return novelty, summary


class _Progress:
    """Counts the passes and fits as equal steps of one "novelty" stage."""

    def __init__(self, on_progress: Callable[[dict], None] | None, total: int) -> None:
        self.on_progress, self.total, self.done = on_progress, total, 0

    def step(self) -> None:
        self.skip(1)

    def skip(self, steps: int) -> None:
        self.done += steps
        if self.on_progress is not None:
            self.on_progress({"stage": "novelty", "done": min(self.done, self.total), "total": self.total})


def _reader(cube: Cube | SlabSource) -> tuple[ReadSlab, tuple[int, int, int], list[str]]:
    if isinstance(cube, Cube):
        return cube_slab_reader(cube), cube.grid.shape, list(cube.feature_names)
    return cube.read_slab, tuple(cube.shape), list(cube.feature_names)


def _slab_valid(slab: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(slab), axis=0)


def _uniform_sample(
    read_slab: ReadSlab,
    shape: tuple[int, int, int],
    stats: FeatureStats,
    rng: np.random.Generator,
    n: int,
    progress: _Progress | None,
    depth: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(features (m, F), blocks (m,), valid count): m = min(n, valid) voxels, uniform without replacement.

    Two passes: one counts the valid voxels of each slab, the other gathers the drawn ones, so no more
    than a slab is in memory and the draw does not depend on the slab depth.
    """
    n_levels, n_rows, n_cols = shape
    depth = depth or max(1, SLAB_VOXELS // (n_rows * n_cols))
    starts = range(0, n_levels, depth)
    counts = []
    for z0 in starts:
        counts.append(int(_slab_valid(read_slab(z0, min(z0 + depth, n_levels))).sum()))
        if progress is not None:
            progress.step()
    n_valid = sum(counts)
    ranks = np.sort(rng.choice(n_valid, size=min(n, n_valid), replace=False))
    block_of_column = column_blocks(n_rows, n_cols).astype(np.int16).ravel()
    features, blocks, offset = [], [], 0
    for z0, count in zip(starts, counts, strict=True):
        chosen = ranks[np.searchsorted(ranks, offset):np.searchsorted(ranks, offset + count)] - offset
        offset += count
        if len(chosen):
            slab = np.asarray(read_slab(z0, min(z0 + depth, n_levels)), dtype=np.float32)
            voxels = np.flatnonzero(_slab_valid(slab))[chosen]
            features.append(standardise(slab.reshape(slab.shape[0], -1)[:, voxels], stats).T)
            blocks.append(block_of_column[voxels % (n_rows * n_cols)])
        if progress is not None:
            progress.step()
    n_features = len(stats.mean)
    return (np.concatenate(features) if features else np.zeros((0, n_features), np.float32),
            np.concatenate(blocks) if blocks else np.zeros(0, np.int16), n_valid)


def _folds(blocks: np.ndarray, seed: int) -> np.ndarray:
    """Fold of each voxel: the blocks that hold voxels, in a seeded order, dealt round-robin to FOLDS folds.

    Each domain's blocks are dealt separately, so every fold holds both domains whenever each fills at
    least FOLDS blocks; one seeded order for both means a cube that is the source itself is split alike.
    """
    occupied = np.unique(blocks)
    position = np.random.default_rng(seed).permutation(TILES * TILES)  # of each block in the seeded order
    fold_of_block = np.zeros(TILES * TILES, dtype=np.int64)
    fold_of_block[occupied[np.argsort(position[occupied])]] = np.arange(len(occupied)) % FOLDS
    return fold_of_block[blocks]


def _classifier(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(**CLASSIFIER, early_stopping=False, random_state=seed)


def _cross_fit(
    x: np.ndarray, is_cube: np.ndarray, weight: np.ndarray, fold: np.ndarray, n_folds: int, seed: int,
    rng: np.random.Generator, progress: _Progress,
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out score of every sampled voxel, and each feature's mean held-out AUC loss when permuted."""
    score = np.empty(len(x))
    loss = np.zeros(x.shape[1])
    for k in range(n_folds):
        held_out = fold == k
        classifier = _classifier(seed).fit(x[~held_out], is_cube[~held_out], sample_weight=weight[~held_out])
        x_out, y_out = x[held_out], is_cube[held_out]
        score[held_out] = classifier.predict_proba(x_out)[:, 1]
        base = _auc(score[held_out], y_out)
        for feature in range(x.shape[1]):
            shuffled = x_out.copy()
            for _ in range(PERMUTATION_REPEATS):
                shuffled[:, feature] = rng.permutation(x_out[:, feature])
                loss[feature] += base - _auc(classifier.predict_proba(shuffled)[:, 1], y_out)
        progress.step()
    progress.skip(FOLDS - n_folds)
    return score, loss / (n_folds * PERMUTATION_REPEATS)


def _auc(score: np.ndarray, is_cube: np.ndarray) -> float:
    return roc_auc(score[is_cube == 1], score[is_cube == 0])


def _dense(
    classifier: HistGradientBoostingClassifier, calibration: IsotonicRegression, read_slab: ReadSlab,
    shape: tuple[int, int, int], stats: FeatureStats, depth: int, progress: _Progress,
) -> np.ndarray:
    n_levels = shape[0]
    out = np.full(shape, np.nan, dtype=np.float32)
    for z0 in range(0, n_levels, depth):
        z1 = min(z0 + depth, n_levels)
        slab = np.asarray(read_slab(z0, z1), dtype=np.float32)
        values = slab.reshape(slab.shape[0], -1)
        voxels = np.flatnonzero(_slab_valid(slab))
        novelty = np.full(values.shape[1], np.nan, dtype=np.float32)
        if len(voxels):
            p = calibration.predict(classifier.predict_proba(standardise(values[:, voxels], stats).T)[:, 1])
            novelty[voxels] = np.clip(2.0 * p - 1.0, 0.0, 1.0)
        out[z0:z1] = novelty.reshape(z1 - z0, *shape[1:])
        progress.step()
    return out
