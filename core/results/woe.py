"""Weights of evidence (Bonham-Carter 1994, ch. 9): each evidence layer binarised at the cut that best separates
ore from barren, the classical first look at which layers carry the deposit.

With B the voxels on the favourable side of a cut and D the ore voxels, among the labelled voxels:
W+ = ln[P(B|D) / P(B|~D)], W- = ln[P(~B|D) / P(~B|~D)], the contrast C = W+ - W- and its standard deviation
s(C) = sqrt(1/N(B∩D) + 1/N(B∩~D) + 1/N(~B∩D) + 1/N(~B∩~D)). The cut is searched over the layer's quantiles, in
both directions (high values favourable: B = value >= cut; low values favourable: B = value <= cut), and the one
with the largest studentised contrast C / s(C) is kept.
"""

from __future__ import annotations

import math

import numpy as np

from ..data.grid import LABEL_BARREN, LABEL_ORE

N_QUANTILES = 20  # cuts at the 1/20, ..., 19/20 quantiles of a layer's labelled values


def contrast(n_bd: int, n_b_not_d: int, n_not_b_d: int, n_not_b_not_d: int) -> dict | None:
    """W+, W-, C, s(C) and C/s(C) from the four counts, or None where a count is 0 (a weight is then infinite)."""
    counts = (n_bd, n_b_not_d, n_not_b_d, n_not_b_not_d)
    if min(counts) <= 0:
        return None
    n_d, n_not_d = n_bd + n_not_b_d, n_b_not_d + n_not_b_not_d
    w_plus = math.log((n_bd / n_d) / (n_b_not_d / n_not_d))
    w_minus = math.log((n_not_b_d / n_d) / (n_not_b_not_d / n_not_d))
    c = w_plus - w_minus
    s_c = math.sqrt(sum(1.0 / n for n in counts))
    return {"w_plus": w_plus, "w_minus": w_minus, "contrast": c, "s_contrast": s_c, "studentised": c / s_c,
            "n_bd": n_bd, "n_b_not_d": n_b_not_d, "n_not_b_d": n_not_b_d, "n_not_b_not_d": n_not_b_not_d}


def layer_weights(values: np.ndarray, label: np.ndarray, n_quantiles: int = N_QUANTILES) -> dict | None:
    """The best binary pattern of one layer: its cut, direction, share of the labelled voxels in B and
    ``contrast``'s figures. ``values`` and ``label`` have one shape; voxels with a non-finite value or a label
    other than ore (1) or barren (0) are left out. None where no cut gives four non-empty counts."""
    values, label = np.asarray(values, dtype=np.float64).ravel(), np.asarray(label).ravel()
    kept = np.isfinite(values) & ((label == LABEL_ORE) | (label == LABEL_BARREN))
    values, ore = values[kept], label[kept] == LABEL_ORE
    if len(values) == 0:
        return None
    cuts = np.unique(np.quantile(values, np.arange(1, n_quantiles) / n_quantiles))
    n_ore = int(ore.sum())
    best = None
    for direction in ("high", "low"):
        for cut in cuts:
            pattern = values >= cut if direction == "high" else values <= cut
            n_bd = int(np.count_nonzero(pattern & ore))
            n_b = int(np.count_nonzero(pattern))
            figures = contrast(n_bd, n_b - n_bd, n_ore - n_bd, len(values) - n_b - (n_ore - n_bd))
            if figures is not None and (best is None or figures["studentised"] > best["studentised"]):
                best = {"direction": direction, "cut": float(cut), "share_in_pattern": n_b / len(values), **figures}
    return best


def weights_of_evidence(features: np.ndarray, feature_names: list[str], label: np.ndarray,
                        n_quantiles: int = N_QUANTILES) -> dict[str, dict | None]:
    """``layer_weights`` of every layer of ``features`` (F, Z, Y, X) against ``label`` (Z, Y, X), by name."""
    return {name: layer_weights(features[k], label, n_quantiles) for k, name in enumerate(feature_names)}
