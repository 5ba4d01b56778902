"""The comparison report: several methods' prospectivity cubes scored against the same labels, side by side."""


from __future__ import annotations

import html

from ...i18n import tr
from .kit import (
    MISSING,
    as_percent,
    blank_figure,
    fixed,
    image,
    key_value_table,
    new_figure,
    note,
    number_or_nan,
    present,
    table,
    write_html,
)

# (heading, key, format, "high" or "low" is better or None) of the comparison table; a column no method has
# (a prediction without uncertainty or novelty maps) is left out.
COMPARISON_COLUMNS = (
    ("AUC", "auc", "auc", "high"),
    ("ore in top 5 %", "capture_top5", "share", "high"),
    ("ore in top 10 %", "capture_top10", "share", "high"),
    ("ore in top 20 %", "capture_top20", "share", "high"),
    ("P-V threshold", ("pv", "intersection", "threshold"), "fixed", None),
    ("ore above the P-V threshold", ("pv", "intersection", "ore_share"), "share", None),
    ("mean uncertainty", "mean_uncertainty", "fixed", None),
    ("AUC, certain half", ("uncertainty_halves", "auc_low"), "auc", None),
    ("AUC, uncertain half", ("uncertainty_halves", "auc_high"), "auc", None),
    ("novelty above 0.5", "novel_share", "share", None),
    ("AUC, familiar half", ("novelty_halves", "auc_low"), "auc", None),
    ("AUC, novel half", ("novelty_halves", "auc_high"), "auc", None),
    ("ore in targets, certain half", ("target_uncertainty_halves", "ore_share_low"), "share", None),
    ("ore in targets, uncertain half", ("target_uncertainty_halves", "ore_share_high"), "share", None),
    ("ore in targets, familiar half", ("target_novelty_halves", "ore_share_low"), "share", None),
    ("ore in targets, novel half", ("target_novelty_halves", "ore_share_high"), "share", None),
)


CAPTURE_SHARES = (0.05, 0.10, 0.20)


def write_comparison_report(path: str, comparison: dict[str, dict], meta: dict) -> None:
    """Every method's ROC and success-rate curves on one plot each and their numbers side by side, as one HTML file.

    ``comparison`` maps a method's name to ``core.results.metrics.evaluate``'s dict of its prediction, with
    ``core.results.metrics.trust_summary``'s keys where the prediction has uncertainty or novelty maps and
    "prospectivity" (its cube file); ``meta`` holds "labels". One colour per method in every figure.
    """
    colours = {name: f"C{k % 10}" for k, name in enumerate(comparison)}
    ranked = sorted(comparison.items(), key=lambda item: -item[1]["auc"])
    best_capture = max(comparison.items(), key=lambda item: item[1]["capture_top10"])
    lead = [f"Highest target AUC: {ranked[0][0]} ({ranked[0][1]['auc']:.3f}), then "
            + ", ".join(f"{name} ({metrics['auc']:.3f})" for name, metrics in ranked[1:]) + ".",
            f"Most ore in the top 10 % of the volume: {best_capture[0]} "
            f"({as_percent(best_capture[1]['capture_top10'])}).",
            "Each method was scored on the same labelled voxels; the labels were not used to train any of them. "
            "One training run per method: on the project's synthetic benchmark the target AUC of one method moved "
            "by 0.02-0.06 (SD) from seed to seed, so a smaller difference may reverse when the models are trained "
            "again."]
    body = [
        key_value_table({"labels": meta.get("labels"), "ore voxels": ranked[0][1]["n_ore"],
                          "barren voxels": ranked[0][1]["n_barren"], "volume (voxels)": ranked[0][1]["n_volume"]}),
        key_value_table({f"prediction of {name}": metrics["prospectivity"] for name, metrics in comparison.items()}),
        '<ul class="verdict">' + "".join(f"<li>{html.escape(sentence)}</li>" for sentence in lead) + "</ul>",
        f"<h2>{tr('Side by side')}</h2>",
        _comparison_table(comparison),
        note("Ore in top x %: share of the labelled ore voxels inside the x % of the volume with the highest "
              "prospectivity (a random map captures x %). P-V: the threshold where the share of ore above it equals "
              "the share of the volume below it. Certain / uncertain half: the AUC in the half of the volume where "
              "the ensemble's members (a forest's trees) agree most / least; familiar / novel half: the same split "
              "by novelty. A map that means something scores higher in the half it trusts. Ore in targets: the "
              "share of ore among the labelled voxels of the top 5 % of the volume (what Extract exploration "
              "targets keeps by default), in the half of them where the members agree most / least (familiar / "
              "novel: by novelty); higher in the certain half means a cut on uncertainty (MAX_UNCERTAINTY) keeps "
              "the better targets. A single network's uncertainty is 0 everywhere (no members to disagree), so it "
              "has no halves. The best value of each score is in bold."),
        image(_comparison_roc_figure(comparison, colours)),
        image(_comparison_success_figure(comparison, colours)),
        note("Success-rate curve: the share of ore captured when the volume is taken from the highest "
              "prospectivity down. Right: the first quarter of the volume, where targets are chosen; dotted lines "
              "at 5, 10 and 20 %."),
        f"<h2>{tr('Per level')}</h2>",
        image(_comparison_level_figure(comparison, colours)),
        note("A level with few ore voxels gives a noisy AUC; read the profile where the table counts many."),
        _comparison_level_table(comparison),
    ]
    write_html(path, tr("mpm3d comparison of {count} methods").format(count=len(comparison)), body)


def _comparison_value(metrics: dict, key):
    value = metrics
    for part in key if isinstance(key, tuple) else (key,):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _comparison_table(comparison: dict[str, dict]) -> str:
    """A row per method, a column per score; the best of each score that has a better direction in bold."""
    columns = [column for column in COMPARISON_COLUMNS
               if any(present(_comparison_value(metrics, column[1])) for metrics in comparison.values())]
    formats = {"auc": lambda v: fixed(v, 3), "share": as_percent, "fixed": lambda v: fixed(v, 3)}
    lines = ['<table class="scores">', '<tr><th class="key">method</th>'
             + "".join(f"<th>{html.escape(heading)}</th>" for heading, *_ in columns) + "</tr>"]
    best = {}
    for heading, key, _, better in columns:
        values = [v for v in (_comparison_value(m, key) for m in comparison.values()) if present(v)]
        if better and values:
            best[heading] = max(values) if better == "high" else min(values)
    for name, metrics in comparison.items():
        cells = [f'<td class="key">{html.escape(name)}</td>']
        for heading, key, kind, _ in columns:
            value = _comparison_value(metrics, key)
            text = html.escape(formats[kind](value) if present(value) else MISSING)
            cells.append(f"<td><b>{text}</b></td>" if present(value) and best.get(heading) == value
                         else f"<td>{text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _comparison_roc_figure(comparison: dict[str, dict], colours: dict[str, str]):
    figure, axes = new_figure()
    figure.set_size_inches(6.0, 5.2)
    for name, metrics in comparison.items():
        axes.plot(metrics["roc"]["fpr"], metrics["roc"]["tpr"], color=colours[name],
                  label=f"{name} (AUC {metrics['auc']:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="random (AUC 0.5)")
    axes.set(title="ROC curves", xlabel="false positive rate (share of barren voxels flagged)",
             ylabel="true positive rate (share of ore voxels flagged)", xlim=(0, 1), ylim=(0, 1.02))
    axes.set_aspect("equal")
    axes.legend(loc="lower right")
    return figure


def _comparison_success_figure(comparison: dict[str, dict], colours: dict[str, str]):
    """The whole success-rate curve and, beside it, the top quarter of the volume where targets are picked."""
    from matplotlib.ticker import PercentFormatter

    figure = blank_figure(10.0, 4.4)
    for k, (title, limit) in enumerate((("Success-rate curves", 1.0), ("The top quarter of the volume", 0.25))):
        axes = figure.add_subplot(1, 2, k + 1)
        for name, metrics in comparison.items():
            success = metrics["success_rate"]
            axes.plot(success["volume_share"], success["ore_share"], color=colours[name],
                      label=f"{name} ({as_percent(metrics['capture_top10'])} in the top 10 %)")
        axes.plot([0, limit], [0, limit], color="grey", linestyle="--", label="random")
        if limit < 1:
            for share in CAPTURE_SHARES:
                axes.axvline(share, color="grey", linestyle=":", linewidth=0.8)
        axes.set(title=title, xlabel="share of the volume, ranked by prospectivity", ylabel="share of ore captured",
                 xlim=(0, limit), ylim=(0, 1.02))
        axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.legend(loc="lower right", fontsize=8)
    return figure


def _comparison_level_figure(comparison: dict[str, dict], colours: dict[str, str]):
    """Each method's AUC level by level, drawn down the depth as a geologist reads a section."""
    figure, axes = new_figure()
    figure.set_size_inches(6.0, 5.5)
    for name, metrics in comparison.items():
        levels = metrics["levels"]
        auc = [number_or_nan(level["auc"]) for level in levels]
        axes.plot(auc, [level["z"] for level in levels], color=colours[name], marker="o", markersize=3, label=name)
    axes.axvline(0.5, color="grey", linestyle="--", label="random")
    axes.set(title="AUC per level", xlabel="AUC of the level's labelled voxels", ylabel="elevation (m)")
    axes.legend(loc="lower left", fontsize=8)
    return figure


def _comparison_level_table(comparison: dict[str, dict]) -> str:
    levels = next(iter(comparison.values()))["levels"]
    rows = ([level["z"], level["n_ore"], *(fixed(metrics["levels"][k]["auc"], 3) for metrics in comparison.values())]
            for k, level in enumerate(levels))
    return table(("z", "ore voxels", *(f"AUC {name}" for name in comparison)), rows)
