"""How good a prospectivity cube is against known labels, and how far apart two domains are.

All results are plain Python numbers and lists, so they go straight into JSON and the reports.
Target labels enter only here, after training, never into training or model selection.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.stats import rankdata

from ..data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN
from ..data.voxelise import hole_groups, near_labels
from ..errors import Mpm3dError

MAX_CURVE_POINTS = 500
TOP_SHARES = {"capture_top5": 0.05, "capture_top10": 0.10, "capture_top20": 0.20}
TARGET_SHARE = 0.05  # Extract exploration targets' default cut: the top 5 % of the predicted volume
MAX_MMD_SAMPLES = 2000
MAX_PAD_SAMPLES = 5000


def evaluate(prospectivity: np.ndarray, label: np.ndarray, z: np.ndarray) -> dict:
    """ROC AUC, ROC, success-rate and prediction-volume curves, overall and per level.

    The volume is every voxel with a finite prospectivity; the AUC uses the voxels among them
    with a known label (1 ore, 0 barren).
    """
    prospectivity = _floating(prospectivity)
    label = np.asarray(label)
    z = np.asarray(z, dtype=np.float64)
    if prospectivity.ndim != 3 or prospectivity.shape != label.shape:
        raise Mpm3dError(
            f"The prospectivity cube {prospectivity.shape} and the label cube {label.shape} must have "
            "the same (z, y, x) shape; predict on the cube that carries the labels."
        )
    if z.shape != (prospectivity.shape[0],):
        raise Mpm3dError(
            f"{len(z)} elevations were given for {prospectivity.shape[0]} levels; pass one per level."
        )
    if not np.isfinite(prospectivity).any():
        raise Mpm3dError("The prospectivity (PROSPECTIVITY) is nodata on every voxel, so there is nothing to score: "
                         "predict again on a cube whose evidence has data.")
    ore_p, barren_p = labelled_scores(prospectivity, label)
    n_ore, n_barren = int(ore_p.size), int(barren_p.size)
    if n_ore == 0 or n_barren == 0:
        missing = "ore" if n_ore == 0 else "barren"
        raise Mpm3dError(
            f"No {missing} voxels among the labelled voxels with a prediction (ore: {n_ore}, "
            f"barren: {n_barren}); an AUC needs both. Check that the labels (LABEL_CUBE or LABEL_SLICES) cover "
            "the predicted volume and mark ore as 1 and barren as 0."
        )

    volume_p = prospectivity[np.isfinite(prospectivity)]
    success = _success_rate(volume_p, ore_p)
    result = {
        "n_ore": n_ore,
        "n_barren": n_barren,
        "n_volume": int(volume_p.size),
        "auc": roc_auc(ore_p, barren_p),
        "roc": _roc_curve(ore_p, barren_p),
        "success_rate": _downsample_curve(success),
        "pv": _prediction_volume(success),
    }
    for key, share in TOP_SHARES.items():
        result[key] = _capture_at(success, share)
    result["levels"] = [_level_metrics(prospectivity[k], label[k], float(z[k])) for k in range(len(z))]
    return result


def labelled_scores(prospectivity: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prospectivity of the ore voxels and of the barren voxels, among those with a finite prediction."""
    finite = np.isfinite(prospectivity)
    return prospectivity[finite & (label == LABEL_ORE)], prospectivity[finite & (label == LABEL_BARREN)]


def auc_by_halves(prospectivity: np.ndarray, label: np.ndarray, by: np.ndarray) -> dict:
    """Target AUC in the half of the predicted volume where ``by`` (uncertainty, novelty) is lowest and in the
    half where it is highest: a map that means something scores better where it says to trust the prediction.

    The halves split the voxels with a finite prediction and ``by`` at its median; an AUC is None where a
    half holds no ore or no barren voxel.
    """
    cut, halves = _median_halves(np.isfinite(prospectivity) & np.isfinite(by), by)
    result = {"median": cut}
    for name, half in halves.items():
        ore, barren = labelled_scores(np.where(half, prospectivity, np.nan), label)
        result[f"auc_{name}"] = float(roc_auc(ore, barren)) if len(ore) and len(barren) else None
        result[f"ore_{name}"] = int(len(ore))
    return result


def _median_halves(within: np.ndarray, by: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """The voxels of ``within`` split at the median of ``by`` over them: (median, {"low": ..., "high": ...})."""
    cut = float(np.median(by[within])) if within.any() else np.nan
    return cut, {"low": within & (by <= cut), "high": within & (by > cut)}


def top_share_cut(prospectivity: np.ndarray, share: float) -> float:
    """The prospectivity from which a voxel lies in the top ``share`` (0-1] of the voxels with a prediction;
    every voxel tied at the cut is in."""
    finite = np.sort(prospectivity[np.isfinite(prospectivity)])
    if finite.size == 0:
        raise Mpm3dError("The prospectivity cube has no finite values; nothing can be ranked.")
    return float(finite[finite.size - int(np.ceil(finite.size * share))])


def ore_share_by_halves(prospectivity: np.ndarray, label: np.ndarray, by: np.ndarray,
                        top_share: float = TARGET_SHARE) -> dict:
    """Share of ore among the labelled voxels of the top ``top_share`` of the predicted volume (what *Extract
    exploration targets* keeps by default), in the half of those voxels where ``by`` is lowest and in the half
    where it is highest: whether leaving out the uncertain (novel) part of the targets leaves more ore.

    The top voxels with a finite ``by`` split at its median; a share is None where a half holds no labelled
    voxel, both are None where ``by`` is the same on every top voxel (nothing to split).
    """
    known = np.isfinite(prospectivity) & np.isfinite(by)
    top = known & (prospectivity >= top_share_cut(prospectivity, top_share)) if known.any() else known
    cut, halves = _median_halves(top, by)
    split = top.any() and by[top].min() < by[top].max()
    result = {"median": cut, "top_share": top_share}
    for name, half in halves.items():
        n_ore, n_barren = int(np.sum(half & (label == LABEL_ORE))), int(np.sum(half & (label == LABEL_BARREN)))
        result[f"ore_share_{name}"] = n_ore / (n_ore + n_barren) if split and n_ore + n_barren else None
        result[f"labelled_{name}"] = n_ore + n_barren
    return result


def predictive_entropy(probability: np.ndarray) -> np.ndarray:
    """Binary entropy (nats) of an ore probability: 0 where the map says 0 or 1, ln 2 = 0.69 where it says 0.5;
    NaN stays NaN. Of an ensemble's mean it holds both the members' disagreement and what they all hedge on."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def trust_summary(prospectivity: np.ndarray, label: np.ndarray, uncertainty: np.ndarray | None = None,
                  novelty: np.ndarray | None = None) -> dict:
    """How far to trust a prediction by its own maps: mean uncertainty, share of the volume with novelty
    above 0.5 (where the model extrapolates), and for each map the AUC in the half it trusts and the other
    half (``auc_by_halves``), and the share of ore in each half of the top 5 % (``ore_share_by_halves``).
    A map the prediction does not have is left out; one that is the same everywhere (a single network's
    uncertainty: no members to disagree) has no halves to score."""
    summary = {}
    if uncertainty is not None:
        summary["mean_uncertainty"] = float(np.nanmean(uncertainty)) if np.isfinite(uncertainty).any() else None
        summary["uncertainty_halves"] = _trusted_halves(prospectivity, label, uncertainty)
        summary["target_uncertainty_halves"] = ore_share_by_halves(prospectivity, label, uncertainty)
    if novelty is not None:
        known = np.isfinite(novelty)
        summary["novel_share"] = float(np.mean(novelty[known] > 0.5)) if known.any() else None
        summary["novelty_halves"] = _trusted_halves(prospectivity, label, novelty)
        summary["target_novelty_halves"] = ore_share_by_halves(prospectivity, label, novelty)
    return summary


def _trusted_halves(prospectivity: np.ndarray, label: np.ndarray, by: np.ndarray) -> dict:
    halves = auc_by_halves(prospectivity, label, by)
    known = by[np.isfinite(by)]
    if known.size == 0 or known.min() == known.max():  # every voxel in one half: it would score as the whole
        halves.update(auc_low=None, auc_high=None)
    return halves


def roc_auc(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    """Mann-Whitney AUC from average ranks, so tied scores count one half as they should."""
    n_pos, n_neg = len(positive_scores), len(negative_scores)
    if n_pos == 0 or n_neg == 0:
        raise Mpm3dError("An AUC needs at least one ore and one barren voxel.")
    ranks = rankdata(np.concatenate([positive_scores, negative_scores]))
    rank_sum = float(ranks[:n_pos].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def away_from_holes(probability: np.ndarray, label: np.ndarray, holes: np.ndarray, buffer: int) -> dict:
    """The prediction and labels with every voxel within ``buffer`` voxels of a drill hole blanked (NaN, unknown),
    and how many voxels and holes that concerned: what an honest score of a model that saw the holes reads."""
    if buffer < 1:
        raise Mpm3dError(f"the buffer around the drill holes (HOLE_BUFFER) must be at least 1 voxel, got {buffer}; "
                         "use at least the model's patch size - 1")
    near = near_labels(holes, buffer)
    predicted = np.isfinite(probability)
    return {"probability": np.where(near, np.nan, probability), "label": np.where(near, LABEL_UNKNOWN, label),
            "holes": hole_groups(holes)[1], "buffer": int(buffer), "excluded_voxels": int(np.sum(near & predicted)),
            "scored_voxels": int(np.sum(~near & predicted))}


FEW_HOLES = 5  # fewer holes than this: the interval over holes is itself shaky, and the report says so
BOOTSTRAP_DRAWS = 1000


def hole_auc(scores: np.ndarray, labels: np.ndarray, holes: np.ndarray, seed: int = 0) -> dict:
    """AUC of voxels scored against their labels, with a 95 % bootstrap interval over whole drill holes.

    Voxels of one hole are neighbours and not independent, so the holes are resampled, never the voxels
    (a cluster bootstrap): with 3 holes the interval is wide, as it should be. Draws without ore or without
    barren are left out; ``draws`` says how many counted. ``few_holes`` is set below FEW_HOLES holes.
    """
    scores, labels, holes = (np.asarray(v).ravel() for v in (scores, labels, holes))
    ore, barren = labels == LABEL_ORE, labels == LABEL_BARREN
    ids = np.unique(holes)
    summary = {"holes": len(ids), "holes_with_ore": len(np.unique(holes[ore])), "ore_voxels": int(ore.sum()),
               "barren_voxels": int(barren.sum()), "few_holes": len(ids) < FEW_HOLES}
    if not ore.any() or not barren.any():
        missing = "ore" if not ore.any() else "barren"
        raise Mpm3dError(f"the {len(ids)} target drill hole(s) scored hold no {missing} voxel "
                         f"({summary['ore_voxels']} ore, {summary['barren_voxels']} barren): an AUC needs both")
    members = [np.flatnonzero(holes == i) for i in ids]
    rng = np.random.default_rng([int(seed), 6])
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        pick = np.concatenate([members[i] for i in rng.integers(0, len(ids), len(ids))])
        if ore[pick].any() and barren[pick].any():
            draws.append(roc_auc(scores[pick][ore[pick]], scores[pick][barren[pick]]))
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    return {"auc": roc_auc(scores[ore], scores[barren]), "low": float(low), "high": float(high),
            "draws": len(draws), **summary}


def _level_metrics(prospectivity: np.ndarray, label: np.ndarray, z: float) -> dict:
    ore_p, barren_p = labelled_scores(prospectivity, label)
    both_classes = ore_p.size > 0 and barren_p.size > 0
    capture = _capture_at(_success_rate(prospectivity[np.isfinite(prospectivity)], ore_p), 0.10) if ore_p.size else None
    return {
        "z": z,
        "auc": roc_auc(ore_p, barren_p) if both_classes else None,
        "n_ore": int(ore_p.size),
        "n_barren": int(barren_p.size),
        "capture_top10": capture,
    }


def _descending_counts(values: np.ndarray, subset: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds t (descending) with the counts of ``values`` and ``subset`` at p >= t."""
    thresholds = np.unique(values)[::-1]
    n_values = len(values) - np.searchsorted(np.sort(values), thresholds, side="left")
    n_subset = len(subset) - np.searchsorted(np.sort(subset), thresholds, side="left")
    return thresholds, n_values, n_subset


def _roc_curve(ore_p: np.ndarray, barren_p: np.ndarray) -> dict:
    thresholds, n_known, n_tp = _descending_counts(np.concatenate([ore_p, barren_p]), ore_p)
    tpr = n_tp / len(ore_p)
    fpr = (n_known - n_tp) / len(barren_p)
    # Start at (0, 0) with a threshold just above the top score: nothing is predicted ore there.
    start = np.nextafter(thresholds[0], np.inf)
    curve = {
        "fpr": np.concatenate([[0.0], fpr]),
        "tpr": np.concatenate([[0.0], tpr]),
        "thresholds": np.concatenate([[start], thresholds]),
    }
    return _downsample_curve(curve)


def _success_rate(volume_p: np.ndarray, ore_p: np.ndarray) -> dict:
    """Share of ore captured against share of the volume, both at p >= t, from (0, 0) to (1, 1).

    Between distinct thresholds the curve is a straight line: the expected capture when tied
    voxels are taken in random order.
    """
    thresholds, n_volume, n_ore = _descending_counts(volume_p, ore_p)
    start = np.nextafter(thresholds[0], np.inf)
    return {
        "volume_share": np.concatenate([[0.0], n_volume / len(volume_p)]),
        "ore_share": np.concatenate([[0.0], n_ore / max(len(ore_p), 1)]),
        "thresholds": np.concatenate([[start], thresholds]),
    }


def _capture_at(success: dict, volume_share: float) -> float:
    """Share of ore inside the top ``volume_share`` of the volume ranked by prospectivity."""
    return float(np.interp(volume_share, success["volume_share"], success["ore_share"]))


def _prediction_volume(success: dict) -> dict:
    """P-V curves against the threshold and their intersection (Yousefi & Carranza's P-A plot in 3D).

    Where the share of ore above a threshold equals one minus the share of the volume above it,
    a small volume holds a large share of the ore: that threshold is the usual favourability cut.
    """
    thresholds = success["thresholds"][::-1]
    ore_share = success["ore_share"][::-1]
    volume_share = success["volume_share"][::-1]
    # gap falls from +1 (lowest threshold: all ore, all volume) to -1 (above the top: nothing),
    # so it first reaches 0 at an index >= 1; interpolate linearly from the point before.
    gap = ore_share - (1.0 - volume_share)
    crossing = int(np.argmax(gap <= 0.0))
    weight = gap[crossing - 1] / (gap[crossing - 1] - gap[crossing])

    def at_crossing(values: np.ndarray) -> float:
        before = values[crossing - 1]
        return float(before + weight * (values[crossing] - before))

    curve = _downsample_curve(
        {"thresholds": thresholds, "ore_share": ore_share, "volume_share": volume_share}
    )
    curve["intersection"] = {
        "threshold": at_crossing(thresholds),
        "ore_share": at_crossing(ore_share),
        "volume_share": at_crossing(volume_share),
    }
    return curve


def _downsample_curve(curve: dict) -> dict:
    """At most MAX_CURVE_POINTS evenly spaced points (first and last kept), as JSON-able lists."""
    n = len(next(iter(curve.values())))
    keep = np.unique(np.round(np.linspace(0, n - 1, min(n, MAX_CURVE_POINTS))).astype(int))
    return {key: [float(v) for v in np.asarray(values)[keep]] for key, values in curve.items()}


@contextlib.contextmanager
def one_blas_thread():
    """For the small linear fits of many iterations here (a domain classifier on a few thousand samples): where
    many BLAS threads meet at every iteration, their synchronisation costs more than the arithmetic (4-5 s a fit
    on a 16-core GPU server, against 0.1-0.3 s on one thread; the iterations and the result are the same)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def proxy_a_distance(features_a: np.ndarray, features_b: np.ndarray, seed: int = 0) -> float:
    """Proxy A-distance 2(1 - 2 err) of a linear classifier told to separate the two domains.

    Ben-David et al.: 0 when the domains cannot be told apart, 2 when they separate perfectly.
    The error is the 2-fold cross-validated one, so the classifier never scores its own training data.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    a = _finite_rows(features_a, "features_a", rng, MAX_PAD_SAMPLES)
    b = _finite_rows(features_b, "features_b", rng, MAX_PAD_SAMPLES)
    if len(a) < 2 or len(b) < 2:
        raise Mpm3dError("The proxy A-distance needs at least 2 finite samples from each domain.")
    samples = np.concatenate([a, b])
    domain = np.concatenate([np.zeros(len(a), int), np.ones(len(b), int)])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    with one_blas_thread():
        error = 1.0 - float(np.mean(cross_val_score(classifier, samples, domain, cv=folds)))
    return max(0.0, 2.0 * (1.0 - 2.0 * error))


def mmd_rbf(a: np.ndarray, b: np.ndarray, gamma: float | None = None, seed: int = 0) -> float:
    """Squared maximum mean discrepancy (biased estimate, >= 0) with k(u, v) = exp(-gamma |u - v|^2).

    Without ``gamma`` the median heuristic sets it to 1 / median squared distance of the pooled
    samples, so the measure does not depend on the units of the features. Each side is subsampled
    to MAX_MMD_SAMPLES to keep the kernel matrix in memory.
    """
    rng = np.random.default_rng(seed)
    a = _finite_rows(a, "a", rng, MAX_MMD_SAMPLES)
    b = _finite_rows(b, "b", rng, MAX_MMD_SAMPLES)
    if len(a) == 0 or len(b) == 0:
        raise Mpm3dError("The MMD needs at least one finite sample from each domain.")
    pooled = np.concatenate([a, b])
    squared_norms = np.einsum("ij,ij->i", pooled, pooled)
    distances = squared_norms[:, None] + squared_norms[None, :] - 2.0 * pooled @ pooled.T
    np.maximum(distances, 0.0, out=distances)
    if gamma is None:
        off_diagonal = distances[~np.eye(len(pooled), dtype=bool)]
        median = float(np.median(off_diagonal)) if off_diagonal.size else 0.0
        gamma = 1.0 / median if median > 0 else 1.0
    kernel = np.exp(-gamma * distances, out=distances)
    n_a = len(a)
    k_aa = kernel[:n_a, :n_a].mean()
    k_bb = kernel[n_a:, n_a:].mean()
    k_ab = kernel[:n_a, n_a:].mean()
    return max(0.0, float(k_aa + k_bb - 2.0 * k_ab))


def _floating(values: np.ndarray) -> np.ndarray:
    """Float32 stays float32: a large cube is not doubled in memory just to be ranked."""
    values = np.asarray(values)
    return values if np.issubdtype(values.dtype, np.floating) else values.astype(np.float64)


def _finite_rows(features: np.ndarray, name: str, rng: np.random.Generator, max_rows: int) -> np.ndarray:
    """Rows without NaN, randomly subsampled to ``max_rows`` so the cost stays bounded."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise Mpm3dError(f"{name} must be a (samples, features) table, got shape {features.shape}.")
    features = features[np.all(np.isfinite(features), axis=1)]
    if len(features) > max_rows:
        features = features[rng.choice(len(features), max_rows, replace=False)]
    return features


def labelled_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    return float(roc_auc(scores[labels == 1], scores[labels == 0]))
