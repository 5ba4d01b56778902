"""How far the target deposit's evidence differs from the source's, and what that means in words.

Why: the target has no labels, so how well a model transfers cannot be scored there. What can be
measured without labels is whether the target's evidence looks like the evidence the model learnt
from, in raw values and after the per-deposit standardisation the model actually sees, and where
the target leaves the range the source covered (there the model extrapolates). That bounds only the
shift in the evidence; a shift in where ore sits relative to the evidence (another ore-zone depth,
another controlling structure) is invisible to every label-free measure, and the verdict says so.

Measures, per feature on the voxels where every feature is valid:
- SMD, the standardised mean difference (target mean - source mean) / pooled SD, with the pooled SD
  sqrt((var_s + var_t) / 2): how far the bulk moved, in SDs, with its sign. After per-deposit
  standardisation it is 0 by construction; it is reported so the table shows what standardisation did.
- KS, the two-sample Kolmogorov-Smirnov statistic: the largest gap between the two cumulative
  distributions, so it also sees differences of shape that standardisation (mean and SD only) leaves.
- The share of the target's valid volume below the source's 0.5 % or above its 99.5 % quantile.
- For the evidence vector as a whole, the proxy A-distance (PAD) of a linear domain classifier.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

from ..data.grid import Cube
from ..errors import Mpm3dError
from ..results.metrics import MAX_PAD_SAMPLES, proxy_a_distance

HIST_BINS = 40
# The histograms span the pooled 0.1-99.9 % quantiles, so a few extreme voxels do not squash every bar
# into one; voxels beyond that range are left out of the bars (at most 0.2 % of each deposit).
HIST_QUANTILES = (0.001, 0.999)
# The source's range: a target drawn from the source's own distribution has 1 % of its volume outside it.
RANGE_QUANTILES = (0.005, 0.995)
MAX_KS_SAMPLES = 20_000  # per deposit; the sampling error of KS is then about 0.01

# Verdict thresholds. None was tuned on a target score; each follows from what the number means.
# 5 % outside the source's range is five times the 1 % a target drawn from the source's distribution has.
OUTSIDE_WARN = 0.05
# KS is the largest gap between the cumulative distributions: above 0.1, some threshold on the feature puts
# more than 10 percentage points more of one deposit's volume above it than of the other's (a one-cut
# classifier reaches a balanced accuracy above 55 %). With 20,000 voxels a side even KS 0.02 is
# "significant", so the threshold is about size, not significance.
KS_WARN = 0.1
# PAD = 2 (1 - 2 err): above 0.2 a linear classifier tells the deposits apart in more than 55 % of voxels,
# the same 55 % as KS_WARN, now for the evidence vector as a whole.
PAD_WARN = 0.2
# Hosmer & Lemeshow's rule of thumb: from AUC 0.7 a classifier discriminates acceptably.
DOMAIN_AUC_WARN = 0.7
# The same 5 % of the volume as OUTSIDE_WARN: where novelty says "unlike the source", the model extrapolates.
NOVELTY_SHARE_WARN = 0.05
# Members' standard deviation of prospectivity, averaged over the target: at 0.1, members' predictions for a
# typical voxel span about 0.4 of the 0-1 scale (+-2 SD), enough to move it across any favourability cut.
SPREAD_WARN = 0.1
# Members' best source validation AUCs ranging over 0.05 or more: as wide as the gaps between the methods
# the paper compares (DANN-CTA 0.890, RF 0.791, CNN 0.744 on its target), so one member's score says little.
MEMBER_AUC_RANGE_WARN = 0.05


def feature_shift(source: Cube, target: Cube, seed: int = 0) -> dict:
    """Per-feature and whole-vector shift between the deposits, in raw values and standardised.

    Each deposit is standardised by its own mean and SD over its valid voxels (``cube_stats``), as
    the model, network or forest, sees it. Histograms, SMD and the share outside the source's range
    use every valid voxel; KS and PAD use the same seeded subsample of at most MAX_KS_SAMPLES voxels
    per deposit, so the cost stays bounded on a large cube. The result is JSON-able::

        {"features": {name: {"raw": COMPARISON, "standardised": COMPARISON}, ...},
         "pad": {"raw": float, "standardised": float},
         "n_source": int, "n_target": int, "seed": int}

    where COMPARISON is {"smd", "ks", "share_outside", "share_below", "share_above": float,
    "source_range": [low, high], "edges": HIST_BINS + 1 floats, "source_hist", "target_hist":
    HIST_BINS shares of that deposit's valid voxels each}.
    """
    from .sampling import cube_stats  # here, not above: the reports import this module and need no torch

    names = list(source.feature_names)
    if names != list(target.feature_names):
        raise Mpm3dError(
            "the SOURCE and TARGET cubes must have the same features in the same order to be compared; "
            f"source: {names}, target: {list(target.feature_names)}"
        )
    if len(set(names)) != len(names):
        raise Mpm3dError(f"feature names must be unique to be reported one by one: {names}")
    source_valid, target_valid = source.valid, target.valid
    source_stats, target_stats = cube_stats(source), cube_stats(target)
    n_source, n_target = int(source_valid.sum()), int(target_valid.sum())
    rng = np.random.default_rng(seed)
    source_pick, target_pick = _subsample(n_source, rng), _subsample(n_target, rng)
    features = {}
    samples = {"raw": ([], []), "standardised": ([], [])}
    for i, name in enumerate(names):
        raw_s = source.features[i][source_valid].astype(np.float64)
        raw_t = target.features[i][target_valid].astype(np.float64)
        z_s = (raw_s - source_stats.mean[i]) / source_stats.std[i]
        z_t = (raw_t - target_stats.mean[i]) / target_stats.std[i]
        features[name] = {}
        for kind, s, t in (("raw", raw_s, raw_t), ("standardised", z_s, z_t)):
            features[name][kind] = _compare(s, t, source_pick, target_pick)
            samples[kind][0].append(s[source_pick])
            samples[kind][1].append(t[target_pick])
    pad = {kind: proxy_a_distance(np.stack(s, axis=1), np.stack(t, axis=1), seed) for kind, (s, t) in samples.items()}
    return {"features": features, "pad": pad, "n_source": n_source, "n_target": n_target, "seed": int(seed)}


def embedding_pad(model, source: Cube, target: Cube, seed: int = 0, device: str = "cpu") -> dict | None:
    """PAD of the first network's pooled embedding of source against target voxels, with its initial weights
    (rebuilt from its seed) and as trained: did training make the deposits look alike to the network?
    None for the forest, which has no embedding."""
    import torch

    from .model import ProspectivityNet, resolve_device
    from .sampling import FeatureStats, PatchGatherer, padded_standardised
    from .voxel_outputs import embed_and_score

    if not model.networks:
        return None
    torch_device = resolve_device(device)
    trained = model.networks[0]
    p = trained.config.patch_size
    rng = np.random.default_rng([seed, 4])
    gatherers = []
    for cube, role in ((source, "source"), (target, "target")):
        stats = FeatureStats.from_dict(model.normalisation[role])
        gatherer = PatchGatherer(padded_standardised(cube, stats, p // 2), p, torch_device)
        voxels = rng.choice(np.flatnonzero(cube.valid), min(MAX_PAD_SAMPLES, int(cube.valid.sum())), replace=False)
        gatherers.append((gatherer, gatherer.centre_index(voxels)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(model.provenance["members"][0]["seed"])  # as training seeded it before building it
        initial = ProspectivityNet(trained.config)

    def pad(net) -> float:
        net.to(torch_device).eval()
        embedded = [embed_and_score(net, gatherer, centres, torch_device)[0] for gatherer, centres in gatherers]
        net.cpu()
        return proxy_a_distance(*embedded, seed=seed)

    return {"before": pad(initial), "after": pad(trained)}


def _subsample(n: int, rng: np.random.Generator) -> np.ndarray:
    """Every index when few, else a sorted seeded sample: identical cubes then compare exactly."""
    if n <= MAX_KS_SAMPLES:
        return np.arange(n)
    return np.sort(rng.choice(n, MAX_KS_SAMPLES, replace=False))


def _compare(s: np.ndarray, t: np.ndarray, source_pick: np.ndarray, target_pick: np.ndarray) -> dict:
    """One feature of the source (``s``) against the target (``t``), on one scale."""
    hist_low_s, low, high, hist_high_s = np.quantile(s, [HIST_QUANTILES[0], *RANGE_QUANTILES, HIST_QUANTILES[1]])
    hist_low_t, hist_high_t = np.quantile(t, HIST_QUANTILES)
    hist_low, hist_high = min(hist_low_s, hist_low_t), max(hist_high_s, hist_high_t)
    if not hist_high > hist_low:  # both deposits nearly constant there: one bin's width around the value
        hist_low, hist_high = hist_low - 0.5, hist_high + 0.5
    source_counts, edges = np.histogram(s, HIST_BINS, (hist_low, hist_high))
    target_counts = np.histogram(t, HIST_BINS, (hist_low, hist_high))[0]
    pooled_sd = float(np.sqrt((s.var() + t.var()) / 2.0))
    below, above = float(np.mean(t < low)), float(np.mean(t > high))
    return {
        "smd": (float(t.mean()) - float(s.mean())) / pooled_sd if pooled_sd > 0 else 0.0,
        "ks": float(ks_2samp(s[source_pick], t[target_pick], method="asymp").statistic),
        "share_outside": below + above,
        "share_below": below,
        "share_above": above,
        "source_range": [float(low), float(high)],
        "edges": [float(e) for e in edges],
        "source_hist": [float(c) for c in source_counts / len(s)],
        "target_hist": [float(c) for c in target_counts / len(t)],
    }


def transfer_verdict(shift: dict, extras: dict | None = None) -> list[str]:
    """Plain-words sentences, each with its reason, on how far the transfer can be trusted.

    ``shift`` is what ``feature_shift`` returns. ``extras`` may hold, each optional:
    "ensemble" (one dict per member: "history", the epoch dicts; "best_epoch" and "val_auc", the source
    validation AUC of the weights training returned),
    "ensemble_spread" (the members' SD of prospectivity averaged over the target), "novelty"
    ({"share_above_half", "mean", "domain_auc", "importance": {feature: value}}, any key optional)
    and "embedding_pad" ({"before": float, "after": float}: PAD of the network's embedding of source
    against target before and after training). The most actionable sentences come first; the last
    one always says what no label-free measure can see. Thresholds (module constants, why there):
    OUTSIDE_WARN 5 % of the target volume, KS_WARN 0.1, PAD_WARN 0.2, DOMAIN_AUC_WARN 0.7,
    NOVELTY_SHARE_WARN 5 %, SPREAD_WARN 0.1, MEMBER_AUC_RANGE_WARN 0.05.
    """
    extras = extras or {}
    features = shift["features"]
    standardised = {name: feature["standardised"] for name, feature in features.items()}
    pad_after = shift["pad"]["standardised"]
    sentences = _range_sentences(standardised) + _novelty_sentences(extras.get("novelty"))
    sentences += _shape_sentences(standardised)
    if pad_after > PAD_WARN:
        sentences.append(
            f"A linear classifier still tells target voxels from source voxels by their standardised evidence "
            f"(PAD {pad_after:.2f}; 0: indistinguishable, 2: fully separable): the features differ jointly, "
            "not only one by one."
        )
    sentences += _raw_sentences({name: feature["raw"] for name, feature in features.items()})
    sentences += _ensemble_sentences(extras.get("ensemble"), extras.get("ensemble_spread"))
    sentences += _embedding_sentences(extras.get("embedding_pad"))
    evidence_agrees = pad_after <= PAD_WARN and all(
        c["share_outside"] <= OUTSIDE_WARN and c["ks"] <= KS_WARN for c in standardised.values())
    blind_spot = ("ore sits elsewhere relative to the evidence in the target (another ore-zone depth, another "
                  "controlling structure), which no label-free method can see; only target drill holes can test it.")
    if evidence_agrees:
        largest_ks = max(c["ks"] for c in standardised.values())
        sentences.append(f"After per-deposit standardisation the feature distributions agree (largest KS "
                         f"{largest_ks:.2f}, evidence PAD {pad_after:.2f}): the remaining risk is that {blind_spot}")
    else:
        sentences.append(f"Even where the evidence agrees, there remains the risk that {blind_spot}")
    return sentences


def _range_sentences(standardised: dict[str, dict]) -> list[str]:
    """Where the target leaves the range the model learnt from, on the scale the model sees."""
    outside = {name: c for name, c in standardised.items() if c["share_outside"] > OUTSIDE_WARN}
    if not outside:
        return []
    listed = _listing(f"{name} ({_percent(c['share_outside'])} of the volume{_side(c)})"
                      for name, c in sorted(outside.items(), key=lambda item: -item[1]["share_outside"]))
    return [f"After per-deposit standardisation, as the model sees it, the target's {listed} "
            f"{'lies' if len(outside) == 1 else 'lie'} outside the source's range (its 0.5-99.5 % quantiles): "
            "the model extrapolates there, so read its predictions in those parts of the volume with care."]


def _side(comparison: dict) -> str:
    """Say which side when nearly all of the outside share lies on one: higher or lower than the source saw."""
    if comparison["share_above"] >= 0.9 * comparison["share_outside"]:
        return ", above it"
    if comparison["share_below"] >= 0.9 * comparison["share_outside"]:
        return ", below it"
    return ""


def _shape_sentences(standardised: dict[str, dict]) -> list[str]:
    """Differences of shape, which standardisation (mean and SD only) cannot remove."""
    shaped = {name: c["ks"] for name, c in standardised.items() if c["ks"] > KS_WARN}
    if not shaped:
        return []
    listed = _listing(f"{name} (KS {ks:.2f})" for name, ks in sorted(shaped.items(), key=lambda item: -item[1]))
    return [f"Even after per-deposit standardisation, which matches only mean and spread, the target's {listed} "
            f"{'is' if len(shaped) == 1 else 'are'} distributed differently from the source's: the model meets "
            "these values in proportions it did not learn from. Check whether that is real geology (another mix "
            "of rocks) or how the models were built (classes instead of per cent, other gridding or smoothing)."]


def _raw_sentences(raw: dict[str, dict]) -> list[str]:
    """Raw differences that standardisation hides: right for a calibration, wrong for a real difference in rock."""
    shifted = {name: c for name, c in raw.items() if c["ks"] > KS_WARN}
    if not shifted:
        return []
    listed = _listing(
        f"{name} (KS {c['ks']:.2f}, SMD {_signed(c['smd'])}"
        + (f", {_percent(c['share_outside'])} outside the source's range)" if c["share_outside"] > OUTSIDE_WARN
           else ")")
        for name, c in sorted(shifted.items(), key=lambda item: -item[1]["ks"]))
    return [f"In raw values the target's {listed} {'differs' if len(shifted) == 1 else 'differ'} from the "
            "source's, and per-deposit standardisation hides that from the model. Right if the difference is "
            "calibration or units (another inversion, another logging scheme); wrong if the rock really differs, "
            "since a truly higher value is then read as ordinary: check which before trusting the predictions."]


def _novelty_sentences(novelty: dict | None) -> list[str]:
    if not novelty:
        return []
    sentences = []
    share = novelty.get("share_above_half")
    if share is not None and share > NOVELTY_SHARE_WARN:
        mean = novelty.get("mean")
        mean_text = f" (mean novelty {mean:.2f})" if mean is not None else ""
        importance = novelty.get("importance") or {}
        drivers = [n for n, v in sorted(importance.items(), key=lambda item: -item[1]) if v > 0][:2]
        driver_text = f", driven most by {_listing(drivers)}" if drivers else ""
        sentences.append(
            f"Novelty is above 0.5 in {_percent(share)} of the target volume{mean_text}{driver_text}: there the "
            "evidence is more unlike the source's than like it, so the model extrapolates; read predictions "
            "there with care."
        )
    auc = novelty.get("domain_auc")
    if auc is not None and auc >= DOMAIN_AUC_WARN:
        sentences.append(
            f"A nonlinear classifier tells target voxels from source voxels (domain AUC {auc:.2f}; 0.5: "
            "indistinguishable, from 0.7 it discriminates): the deposits differ in combinations of evidence "
            "even where each feature alone looks alike."
        )
    return sentences


def _ensemble_sentences(members: list[dict] | None, spread: float | None) -> list[str]:
    sentences = []
    if spread is not None and spread > SPREAD_WARN:
        sentences.append(
            f"The ensemble's members disagree strongly on the target (mean spread {spread:.2f} in prospectivity): "
            "the prediction there depends on the training seed; use the uncertainty output and trust most the "
            "voxels where the members agree."
        )
    aucs = [member["val_auc"] for member in members or [] if member.get("val_auc") is not None]
    if len(aucs) > 1 and max(aucs) - min(aucs) >= MEMBER_AUC_RANGE_WARN:
        sentences.append(
            f"The members' source validation AUC ranges from {min(aucs):.2f} to {max(aucs):.2f}: training is "
            "unstable from seed to seed, so one member's score says little; judge the ensemble's mean."
        )
    return sentences


def _embedding_sentences(embedding_pad: dict | None) -> list[str]:
    if not embedding_pad or embedding_pad.get("after") is None:
        return []
    after, before = embedding_pad["after"], embedding_pad.get("before")
    if after <= PAD_WARN:
        return []
    change = f"PAD {before:.2f} before training, {after:.2f} after" if before is not None else f"PAD {after:.2f}"
    grew = before is not None and after > before
    return [
        f"After training, the network's embedding still tells target from source ({change}"
        f"{': training made them more separable' if grew else ''}): the adaptation did not make the deposits "
        "look alike to the network, so its predictions on the target rest on features it learnt in another form."
    ]


def _listing(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %" if share >= 0.1 else f"{100 * share:.1f} %"


def _signed(value: float) -> str:
    """One decimal with its sign, and 0.0 (not -0.0 or +0.0) when it rounds to nothing."""
    rounded = round(value, 1) + 0.0
    return f"{rounded:+.1f}" if rounded else "0.0"
