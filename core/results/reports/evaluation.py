"""The evaluation report: one prospectivity cube scored against known labels, and how far to trust its map."""


from __future__ import annotations

import html

from ...i18n import tr
from .kit import (
    MISSING,
    as_percent,
    fixed,
    format_value,
    image,
    key_value_table,
    new_figure,
    note,
    table,
    write_html,
)


def write_evaluation_report(path: str, metrics: dict, meta: dict) -> None:
    """ROC, success-rate and prediction-volume plots with the per-level table, as one HTML file."""
    roc = metrics["roc"]
    success = metrics["success_rate"]
    pv = metrics["pv"]
    auc = metrics["auc"]
    body = [
        key_value_table(meta),
        key_value_table(
            {
                "AUC": auc,
                "ore voxels": metrics["n_ore"],
                "barren voxels": metrics["n_barren"],
                "ore captured in the top 5 % of the volume": metrics["capture_top5"],
                "ore captured in the top 10 % of the volume": metrics["capture_top10"],
                "ore captured in the top 20 % of the volume": metrics["capture_top20"],
                "P-V intersection threshold": pv["intersection"]["threshold"],
                "P-V intersection ore share": pv["intersection"]["ore_share"],
            }
        ),
        image(
            _curve_figure(
                f"ROC curve (AUC = {format_value(auc)})",
                "false positive rate",
                "true positive rate",
                roc["fpr"],
                roc["tpr"],
                "ROC",
            )
        ),
        image(
            _curve_figure(
                "Success-rate curve",
                "share of the volume, ranked by prospectivity",
                "share of ore captured",
                success["volume_share"],
                success["ore_share"],
                "success rate",
            )
        ),
        image(_pv_figure(pv)),
        note("P-V: where the share of ore above a threshold equals one minus the share of the volume above it, "
              "a small volume holds much of the ore."),
        *_trust_section(metrics),
        *woe_section(metrics.get("weights_of_evidence")),
        f"<h2>{tr('Per level')}</h2>",
        table(
            ("z", "n_ore", "auc", "capture_top10"),
            (
                [level["z"], level["n_ore"], level["auc"], level["capture_top10"]]
                for level in metrics["levels"]
            ),
        ),
    ]
    write_html(path, tr("mpm3d evaluation report (AUC {auc})").format(auc=format_value(auc)), body)


def _trust_section(metrics: dict) -> list[str]:
    """The prediction's own uncertainty and novelty maps judged on the labels (``core.results.metrics.trust_summary``):
    whether each ranks the volume and the targets the right way round. Empty for a map without them."""
    maps = [name for name in ("uncertainty", "novelty") if f"{name}_halves" in metrics]
    if not maps:
        return []
    summary = {label: metrics[key] for key, label in (
        ("mean_uncertainty", "mean uncertainty (SD of the members)"),
        ("novel_share", "share of the volume with novelty above 0.5")) if key in metrics}
    rows, verdict = [], []
    for name in maps:
        trusted, other = (metrics[f"target_{name}_halves"][f"ore_share_{half}"] for half in ("low", "high"))
        rows.append([name, metrics[f"{name}_halves"]["auc_low"], metrics[f"{name}_halves"]["auc_high"], trusted, other])
        if trusted is None or other is None:
            continue
        text = (tr("{map}: the targets' trusted half holds more ore ({trusted} against {other}): a cut on it keeps "
                   "the better targets on these labels.") if trusted > other else
                tr("{map}: the targets' trusted half holds no more ore ({trusted} against {other}): a cut on it would "
                   "not keep the better targets; narrow them by prospectivity instead."))
        verdict.append(text.format(map=name.capitalize(), trusted=as_percent(trusted), other=as_percent(other)))
    return [
        f"<h2>{tr('How far to trust this map')}</h2>",
        *(['<ul class="verdict">' + "".join(f"<li>{html.escape(line)}</li>" for line in verdict) + "</ul>"]
          if verdict else []),
        key_value_table(summary),
        table(("map", "AUC, trusted half", "AUC, other half", "ore in targets, trusted half",
                "ore in targets, other half"), rows),
        note("Trusted half: the half of the scored volume where the map is lowest (the members agree most; the "
              "evidence is most like the source's); the other half lies above its median. A map that means "
              "something scores higher in its trusted half. Ore in targets: the share of ore among the labelled "
              "voxels of the top 5 % of the volume (what Extract exploration targets keeps by default), split the "
              "same way; higher in the trusted half means a cut on the map (MAX_UNCERTAINTY) keeps the better "
              "targets. On the project's synthetic benchmark a smaller top percentage kept more ore than such a cut. "
              "A single network's uncertainty is 0 everywhere (no members to disagree), so it has no halves."),
    ]


WOE_COLUMNS = ("layer", "favourable", "cut", "share of labelled voxels in B", "W+", "W-", "C", "s(C)", "C/s(C)")


def woe_section(weights: dict | None) -> list[str]:
    """Weights of evidence per layer (core.results.woe), the most contrasting first. Empty without evidence."""
    if not weights:
        return []
    found = sorted(((name, w) for name, w in weights.items() if w), key=lambda item: -item[1]["studentised"])
    rows = [[name, tr("high values") if w["direction"] == "high" else tr("low values"), w["cut"],
             as_percent(w["share_in_pattern"]), *(fixed(w[key], 3) for key in
                                                 ("w_plus", "w_minus", "contrast", "s_contrast", "studentised"))]
            for name, w in found]
    rows += [[name, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING]
             for name, w in weights.items() if not w]
    return [f"<h2>{tr('Weights of evidence')}</h2>", table(WOE_COLUMNS, rows),
            note("Each evidence layer binarised at the cut (searched over 19 quantiles, high or low values "
                  "favourable) with the largest studentised contrast, on the labelled voxels scored here. B: the "
                  "favourable side of the cut. W+ = ln[P(B|ore)/P(B|barren)], W- = ln[P(not B|ore)/P(not B|barren)], "
                  "C = W+ - W-, s(C) its standard deviation from the four counts (Bonham-Carter 1994); C/s(C) above "
                  "about 2 is a contrast unlikely by chance, though neighbouring voxels are not independent, so "
                  "read it as a ranking. A dash: no cut leaves ore and barren on both sides.")]


def _curve_figure(title: str, xlabel: str, ylabel: str, x: list, y: list, name: str):
    """A curve in the unit square with the diagonal a random ranking would follow."""
    figure, axes = new_figure()
    axes.plot(x, y, color="tab:red", label=name)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="random")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
    axes.set_aspect("equal")
    axes.legend(loc="lower right")
    return figure


def _pv_figure(pv: dict):
    """Ore share (left axis) and volume share (right axis, reversed) against the threshold."""
    figure, axes = new_figure()
    axes.plot(pv["thresholds"], pv["ore_share"], color="tab:red", label="share of ore at p >= t")
    axes.set(title="Prediction-volume (P-V) plot", xlabel="prospectivity threshold t", ylim=(0, 1))
    axes.set_ylabel("share of ore", color="tab:red")
    volume_axes = axes.twinx()
    volume_axes.plot(
        pv["thresholds"], pv["volume_share"], color="tab:blue", label="share of volume at p >= t"
    )
    volume_axes.set_ylim(1, 0)
    volume_axes.set_ylabel("share of the volume (reversed)", color="tab:blue")
    crossing = pv["intersection"]
    axes.plot([crossing["threshold"]], [crossing["ore_share"]], "ko", label="intersection")
    ore_handles, ore_labels = axes.get_legend_handles_labels()
    volume_handles, volume_labels = volume_axes.get_legend_handles_labels()
    axes.legend(ore_handles + volume_handles, ore_labels + volume_labels, loc="lower left")
    return figure
