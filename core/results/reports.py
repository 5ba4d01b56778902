"""Self-contained HTML reports of training and evaluation, and the metrics as JSON.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot), so making a report never
switches the plotting backend of the process that calls it (QGIS among them), and are embedded as
base64 PNG so one file can be mailed or archived without losing its pictures.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
from collections.abc import Iterable

import numpy as np

from .. import __version__
from ..atomic import atomic_path
from ..choices import DOMAIN_HEAD_METHODS
from ..learning.selection import HOLE_RULE, HOLE_SCORE, RULE_SCORES, SELECTION_LABELS, averaged_epochs, chosen_epoch
from ..learning.transfer import KS_WARN, OUTSIDE_WARN, transfer_verdict
from ..i18n import html_language, tr

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.generated, .note { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.key, th.key { text-align: left; } th[colspan] { text-align: center; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
h3 { font-size: 1em; margin-top: 1.2em; }
td.warn { background: #fde2c8; }
table.scores { font-size: 0.82em; } table.scores td { white-space: nowrap; }
table.scores th, table.scores td { padding: 0.2em 0.35em; }
ul.verdict { background: #f7f7f2; border-left: 4px solid #c77d2b; padding: 0.6em 1em 0.6em 2em; line-height: 1.4; }
ul.verdict li { margin: 0.35em 0; }
"""

MISSING = "\u2013"  # en dash
HISTORY_COLUMNS = (
    "epoch",
    "loss_label",
    "loss_domain",
    "lambda",
    "lr",
    "val_auc",
    "entropy",
    "dev",
    "mixval",
    "disc_acc",
    "patches_per_s",
    "seconds",
)


def write_training_report(path: str, history: list[dict], meta: dict) -> None:
    """Training curves per epoch, the numbers behind them and, when given, the transfer section, as one HTML file.

    ``meta`` holds "method", "feature_names", "config", "source", "target", "device", "best_epoch" and,
    each optional: "transfer" (``core.learning.transfer.feature_shift``'s dict), "verdict" (list of sentences;
    made by ``core.learning.transfer.transfer_verdict`` from ``meta`` when absent), "ensemble" (one history
    per member), "ensemble_spread" (the members' SD of prospectivity averaged over the target),
    "novelty" (summary dict) and "embedding_pad" ({"before", "after"}). Only what applies to the
    method is shown: a random forest is fitted once, so it gets its feature importances and its trees'
    spread instead of curves over epochs, members and the networks' settings; a curve with no values is
    left out rather than drawn empty.
    """
    method = meta.get("method")
    forest = method == "rf"
    transfer = meta.get("transfer")
    summary = {"method": method, "source": meta.get("source"), "target": meta.get("target")}
    if forest:  # fitted once on the CPU: no device choice, no epochs to choose from, no curves
        fit = history[-1] if history else {}
        summary["source spatial-block validation AUC"] = fit.get("val_auc")
        summary["training samples per second"] = fit.get("patches_per_s")
        summary["seconds"] = fit.get("seconds")
    else:
        summary["device"] = meta.get("device")
        summary["best epoch"] = meta.get("best_epoch")
    summary["features"] = ", ".join(str(name) for name in meta.get("feature_names") or [])
    body = [_key_value_table(summary)]
    if forest:
        body += _forest_section(fit, meta.get("feature_names") or [], meta.get("ensemble_spread"))
        # a forest's trees always spread widely, and it has no seeds' members: the ensemble sentences misread it
        meta = {key: value for key, value in meta.items() if key not in ("ensemble", "ensemble_spread")}
    else:
        body += _network_curves(history, meta.get("best_epoch"), with_discriminator=transfer is None)
        body += _selection_section(history, meta.get("selection"), len(history))
    if meta.get("target_holes"):
        body += _holes_section(meta["target_holes"])
    if transfer is not None:
        verdict = meta["verdict"] if meta.get("verdict") is not None else transfer_verdict(transfer, meta)
        body += _transfer_section(transfer, verdict, meta, [] if forest else history)
    if meta.get("ensemble"):
        body += _ensemble_section(meta["ensemble"], meta.get("ensemble_spread"))
    if not forest:
        columns = [key for key in HISTORY_COLUMNS
                   if key == "epoch" or any(_present(row.get(key)) for row in history)]
        body.append(f"<h2>{tr('Per epoch')}</h2>")
        body.append(_table(columns, ([row.get(key) for key in columns] for row in history)))
    body.append(f"<h2>{tr('Configuration')}</h2>")
    body.append(_key_value_table(_applicable_settings(meta.get("config") or {}, method)))
    _write_html(path, tr("mpm3d training report: {method}").format(method=method or ""), body)


def _forest_section(fit: dict, feature_names: list[str], spread) -> list[str]:
    """What a forest has instead of epochs: its trees, how much they disagree, and what its splits use."""
    body = [f"<h2>{tr('The forest')}</h2>"]
    facts = {"trees": fit.get("trees"), "trees' mean spread of prospectivity on the target (SD)": spread}
    facts = {key: _fixed(value, 3) if isinstance(value, float) else value
             for key, value in facts.items() if value is not None}
    if facts:
        body.append(_key_value_table(facts))
    body.append(_note("The trees are the forest's ensemble: each is grown on its own bootstrap sample of the "
                      "source's voxels with a random subset of the features at each split, and their spread at a "
                      "voxel is the uncertainty output. Single trees disagree more than networks trained from "
                      "other seeds (on the project's synthetic benchmark: 0.135 between the trees, 0.07-0.08 "
                      "between networks), so compare the spread between parts of the map, not with a network's."))
    importance = fit.get("feature_importance")
    if not importance or len(importance) != len(feature_names):
        body.append(_note("No feature importances were recorded for this model (trained by an earlier version)."))
        return body
    ranked = sorted(zip(feature_names, importance, strict=True), key=lambda item: -item[1])
    body += [f"<h3>{tr('Feature importances')}</h3>", _image(_importance_figure(ranked)),
             _table(("feature", "importance"), ([name, _fixed(value, 3)] for name, value in ranked)),
             _note("Mean decrease in impurity (Gini) over the trees, summing to 1: how much the splits on each "
                   "feature separate ore from barren in the source's training voxels. It says nothing about the "
                   "target; correlated features share their importance, and a feature with many distinct values "
                   "can look more important than it is.")]
    return body


def _importance_figure(ranked: list[tuple[str, float]]):
    """Horizontal bars, largest on top, each with its value."""
    figure, axes = _new_figure()
    figure.set_size_inches(7.0, 0.8 + 0.35 * len(ranked))
    names = [name for name, _ in ranked][::-1]
    values = [value for _, value in ranked][::-1]
    bars = axes.barh(names, values, color="tab:green")
    axes.bar_label(bars, labels=[f"{value:.3f}" for value in values], padding=3, fontsize=8)
    axes.set(title="Feature importances (mean decrease in impurity)", xlabel="share of the forest's impurity decrease",
             xlim=(0, max(values) * 1.15 if max(values) > 0 else 1))
    return figure


def _present(value) -> bool:
    return math.isfinite(_number_or_nan(value))


def _network_curves(history: list[dict], best_epoch, with_discriminator: bool) -> list[str]:
    """Losses, schedules, validation AUC and (unless the transfer section shows it) discriminator accuracy."""
    epochs = [row["epoch"] for row in history]
    losses = {"label loss (source)": _series(history, "loss_label"), "domain loss": _series(history, "loss_domain")}
    body = []
    if _any_values(losses):
        body.append(_image(_line_figure("Training losses", "loss", epochs, losses)))
    lambdas, learning_rates = _series(history, "lambda"), _series(history, "lr")
    if _any_values({"lambda": lambdas, "lr": learning_rates}):
        body.append(_image(_schedule_figure(epochs, lambdas, learning_rates)))
    val_auc = {"validation AUC": _series(history, "val_auc")}
    if _any_values(val_auc):
        body.append(_image(_line_figure("Source spatial-block validation AUC", "AUC", epochs, val_auc,
                                        marker_x=best_epoch, marker_label="best epoch")))
        body.append(_note(VALIDATION_NOTE))
    else:
        body.append(_note("No source validation AUC was recorded (no validation blocks were held out), so the "
                          "last epoch was kept. " + VALIDATION_NOTE))
    if with_discriminator:
        body += _discriminator_figure(history)
    return body


VALIDATION_NOTE = ("Validation uses held-out spatial blocks of the source deposit only; "
                   "target labels are never used for training, early stopping or model selection.")


def _discriminator_figure(history: list[dict]) -> list[str]:
    disc_acc = {"discriminator": _series(history, "disc_acc")}
    if not _any_values(disc_acc):
        return []
    figure = _line_figure("Domain discriminator accuracy", "accuracy", [row["epoch"] for row in history], disc_acc,
                          reference_y=0.5, reference_label="chance (0.5): domains indistinguishable")
    return [_image(figure), _note(
        "Accuracy near 0.5 means the network's features no longer tell source from target. Methods without a "
        "domain head (cta, cnn) measure it with a probe discriminator that does not shape the features.")]


# Settings that only a network uses; a random forest is fitted on the source's centre voxels alone.
NETWORK_SETTINGS = frozenset({"patch_size", "epochs", "batch_size", "learning_rate", "lambda_max", "weight_decay",
                              "device", "target_normalisation"})


# How the command line was called, not how the model was trained.
COMMAND_LINE_FIELDS = frozenset({"command", "json_lines"})


def _applicable_settings(config: dict, method) -> dict:
    if method == "rf":  # one forest of many trees: the ensemble's members setting is for networks
        left_out = NETWORK_SETTINGS | {"members"}
    elif method not in DOMAIN_HEAD_METHODS:
        left_out = frozenset({"lambda_max"})
    else:
        left_out = frozenset()
    return {key: value for key, value in config.items() if key not in left_out | COMMAND_LINE_FIELDS}


def _series(history: list[dict], key: str) -> np.ndarray:
    return np.array([_number_or_nan(row.get(key)) for row in history], dtype=float)


def _any_values(lines: dict[str, np.ndarray]) -> bool:
    return any(np.any(np.isfinite(values)) for values in lines.values())


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(tr(text))}</p>'


def _transfer_section(transfer: dict, verdict: list[str], meta: dict, history: list[dict]) -> list[str]:
    """The verdict first (what a geologist acts on), then the numbers and pictures it rests on."""
    features = transfer["features"]
    body = [
        f"<h2>{tr('Transfer from source to target')}</h2>",
        '<ul class="verdict">' + "".join(f"<li>{html.escape(sentence)}</li>" for sentence in verdict) + "</ul>",
        _note(f"Measured on the valid voxels of each deposit ({transfer['n_source']} source, {transfer['n_target']} "
              "target), without target labels. Standardised: each deposit by its own mean and SD, as the model "
              "sees it. Shaded cells pass the verdict's thresholds: KS above "
              f"{KS_WARN:g}, or more than {100 * OUTSIDE_WARN:g} % of the target volume outside the source's range "
              "(a target drawn from the source's own distribution has 1 % outside)."),
        f"<h3>{tr('Feature by feature')}</h3>",
        _shift_table(features),
        _note("SMD: difference of means (target - source) over the pooled SD; 0 after standardisation by construction. "
              "KS: the largest gap between the two cumulative distributions (0: same, 1: disjoint); it also sees "
              "differences of shape. Outside: share of the target's volume below the source's 0.5 % or above its "
              "99.5 % quantile."),
        _image(_histogram_grid(features, "raw", "Raw values: source and target")),
        _image(_histogram_grid(features, "standardised", "After per-deposit standardisation (what the model sees)")),
        _note("Share of each deposit's valid voxels per bin, over the pooled 0.1-99.9 % range. Dashed lines: the "
              "source's 0.5-99.5 % range."),
        f"<h3>{tr('The evidence as a whole')}</h3>",
    ]
    pad = {"evidence PAD, raw values": transfer["pad"]["raw"],
           "evidence PAD, after per-deposit standardisation": transfer["pad"]["standardised"]}
    embedding_pad = meta.get("embedding_pad") or {}
    if embedding_pad.get("before") is not None:
        pad["network embedding PAD, before training"] = embedding_pad["before"]
    if embedding_pad.get("after") is not None:
        pad["network embedding PAD, after training"] = embedding_pad["after"]
    body.append(_key_value_table({key: _fixed(value) for key, value in pad.items()}))
    body.append(_note("PAD (proxy A-distance): how well a linear classifier tells target voxels from source voxels; "
                      "0: indistinguishable, 2: fully separable."))
    body += _discriminator_figure(history)
    novelty = meta.get("novelty")
    if novelty:
        body += _novelty_tables(novelty)
    return body


def _fixed(value, digits: int = 2, signed: bool = False) -> str:
    """Fixed decimals, so float noise such as 1e-17 in a quantity that is 0 by construction reads 0.00."""
    if not _present(value):
        return MISSING
    rounded = round(float(value), digits) + 0.0  # and -0.0 becomes 0.0
    if signed and rounded != 0:
        return f"{rounded:+.{digits}f}"
    return f"{rounded:.{digits}f}"


def _share(value: float) -> str:
    return f"{100 * value:.1f} %"


def _shift_table(features: dict) -> str:
    """Feature, then SMD, KS and share outside the source's range, each raw and standardised."""
    groups = ("SMD", "KS", "target outside the source's range")
    lines = [
        "<table>",
        '<tr><th class="key" rowspan="2">feature</th>'
        + "".join(f'<th colspan="2">{html.escape(group)}</th>' for group in groups) + "</tr>",
        "<tr>" + "<th>raw</th><th>standardised</th>" * len(groups) + "</tr>",
    ]
    for name, shift in features.items():
        cells = [f'<td class="key">{html.escape(name)}</td>']
        for kind in ("raw", "standardised"):
            cells.append(f"<td>{_fixed(shift[kind]['smd'], signed=True)}</td>")
        for kind in ("raw", "standardised"):
            ks = shift[kind]["ks"]
            cells.append(_flagged_cell(_fixed(ks), ks > KS_WARN))
        for kind in ("raw", "standardised"):
            outside = shift[kind]["share_outside"]
            cells.append(_flagged_cell(_share(outside), outside > OUTSIDE_WARN))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _flagged_cell(text: str, flagged: bool) -> str:
    return f'<td class="warn">{html.escape(text)}</td>' if flagged else f"<td>{html.escape(text)}</td>"


def _novelty_tables(novelty: dict) -> list[str]:
    summary = {
        "share of the target volume with novelty above 0.5": _share(novelty["share_above_half"])
        if novelty.get("share_above_half") is not None else None,
        "mean novelty over the target": novelty.get("mean"),
        "domain AUC of the novelty model": novelty.get("domain_auc"),
    }
    body = [f"<h3>{tr('Novelty')}</h3>"]
    if novelty.get("note"):  # why it was not computed
        body.append(_note(str(novelty["note"])))
    summary = {key: value for key, value in summary.items() if value is not None}
    if summary:
        body.append(_key_value_table(summary))
    importance = novelty.get("importance") or {}
    if importance:
        ranked = sorted(importance.items(), key=lambda item: -item[1])
        body.append(_note("How much each feature drives novelty, largest first:"))
        body.append(_key_value_table({name: _fixed(value, 3) for name, value in ranked}))
    body.append(_note("Novelty: how unlike the source the target's evidence is at a voxel (0: like the source, "
                      "1: unlike anything in it); the domain AUC says how well the novelty model tells the "
                      "deposits apart (0.5: not at all)."))
    return body


def _ensemble_section(members: list[dict], spread) -> list[str]:
    """Every network member's chosen epoch and validation AUC, and their curves with the spread per epoch."""
    body = [f"<h2>{tr('Ensemble members')}</h2>"]
    if spread is not None:
        body.append(_key_value_table({"members' mean spread of prospectivity on the target (SD)": _fixed(spread, 3)}))
    body.append(_table(("member", "best epoch", "source validation AUC"),
                       ([number, _epoch_kept(member), member.get("val_auc")]
                        for number, member in enumerate(members, 1))))
    members = [member["history"] for member in members]
    auc = _member_matrix(members, "val_auc")
    if np.any(np.isfinite(auc[1])):
        body.append(_image(_members_figure([("Source spatial-block validation AUC per member", "AUC", auc)])))
    panels = [(title, "loss", matrix) for title, matrix in (
        ("Label loss (source) per member", _member_matrix(members, "loss_label")),
        ("Domain loss per member", _member_matrix(members, "loss_domain"))) if np.any(np.isfinite(matrix[1]))]
    if panels:
        body.append(_image(_members_figure(panels)))
    body.append(_note("Thin lines: one per member; black: the members' mean per epoch, shaded: mean \u00b1 one SD "
                      "across the members, the spread that training from another seed would show."))
    return body


def _member_matrix(members: list[list[dict]], key: str) -> tuple[list, np.ndarray]:
    """(epochs, members x epochs values), NaN where a member has no value at that epoch."""
    epochs = sorted({row["epoch"] for history in members for row in history})
    column = {epoch: j for j, epoch in enumerate(epochs)}
    values = np.full((len(members), len(epochs)), np.nan)
    for i, history in enumerate(members):
        for row in history:
            values[i, column[row["epoch"]]] = _number_or_nan(row.get(key))
    return epochs, values


def _members_figure(panels: list[tuple[str, str, tuple[list, np.ndarray]]]):
    """One panel per quantity: a thin line per member, the mean per epoch and a band of one SD around it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.8 * len(panels) + 2.2, 3.8), dpi=100)
    FigureCanvasAgg(figure)
    for k, (title, ylabel, (epochs, values)) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), k + 1)
        for i, member in enumerate(values):
            axes.plot(epochs, member, linewidth=0.9, alpha=0.7, label=f"member {i + 1}")
        shown = np.isfinite(values).any(axis=0)
        x, kept = np.asarray(epochs)[shown], values[:, shown]
        mean, sd = np.nanmean(kept, axis=0), np.nanstd(kept, axis=0)
        axes.fill_between(x, mean - sd, mean + sd, color="grey", alpha=0.25, label="mean \u00b1 SD")
        axes.plot(x, mean, color="black", linewidth=2, label="members' mean")
        axes.set(title=title, xlabel="epoch", ylabel=ylabel)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return figure


def _histogram_grid(features: dict, kind: str, title: str):
    """Small multiples, one panel per feature with the same layout for both scales, so panels can be compared."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_columns = min(4, len(features))
    n_rows = math.ceil(len(features) / n_columns)
    figure = Figure(figsize=(10.0, 0.9 + 1.9 * n_rows), dpi=100)
    FigureCanvasAgg(figure)
    for k, (name, shift) in enumerate(features.items()):
        comparison = shift[kind]
        axes = figure.add_subplot(n_rows, n_columns, k + 1)
        edges = comparison["edges"]
        axes.stairs(comparison["source_hist"], edges, fill=True, color="tab:blue", alpha=0.35, label="source")
        axes.stairs(comparison["target_hist"], edges, color="tab:orange", linewidth=1.6, label="target")
        for bound in comparison["source_range"]:
            axes.axvline(bound, color="grey", linestyle="--", linewidth=0.8)
        axes.set_title(f"{name}\nKS {comparison['ks']:.2f}, outside {_share(comparison['share_outside'])}",
                       fontsize=9)
        axes.tick_params(labelsize=7)
        axes.set_yticks([])
    figure.suptitle(title, fontsize=11)
    figure.set_label(title)
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", fontsize=9, frameon=False)
    return figure


def write_evaluation_report(path: str, metrics: dict, meta: dict) -> None:
    """ROC, success-rate and prediction-volume plots with the per-level table, as one HTML file."""
    roc = metrics["roc"]
    success = metrics["success_rate"]
    pv = metrics["pv"]
    auc = metrics["auc"]
    body = [
        _key_value_table(meta),
        _key_value_table(
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
        _image(
            _curve_figure(
                f"ROC curve (AUC = {_format(auc)})",
                "false positive rate",
                "true positive rate",
                roc["fpr"],
                roc["tpr"],
                "ROC",
            )
        ),
        _image(
            _curve_figure(
                "Success-rate curve",
                "share of the volume, ranked by prospectivity",
                "share of ore captured",
                success["volume_share"],
                success["ore_share"],
                "success rate",
            )
        ),
        _image(_pv_figure(pv)),
        _note("P-V: where the share of ore above a threshold equals one minus the share of the volume above it, "
              "a small volume holds much of the ore."),
        *_trust_section(metrics),
        f"<h2>{tr('Per level')}</h2>",
        _table(
            ("z", "n_ore", "auc", "capture_top10"),
            (
                [level["z"], level["n_ore"], level["auc"], level["capture_top10"]]
                for level in metrics["levels"]
            ),
        ),
    ]
    _write_html(path, tr("mpm3d evaluation report (AUC {auc})").format(auc=_format(auc)), body)


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
        verdict.append(text.format(map=name.capitalize(), trusted=_share(trusted), other=_share(other)))
    return [
        f"<h2>{tr('How far to trust this map')}</h2>",
        *(['<ul class="verdict">' + "".join(f"<li>{html.escape(line)}</li>" for line in verdict) + "</ul>"]
          if verdict else []),
        _key_value_table(summary),
        _table(("map", "AUC, trusted half", "AUC, other half", "ore in targets, trusted half",
                "ore in targets, other half"), rows),
        _note("Trusted half: the half of the scored volume where the map is lowest (the members agree most; the "
              "evidence is most like the source's); the other half lies above its median. A map that means "
              "something scores higher in its trusted half. Ore in targets: the share of ore among the labelled "
              "voxels of the top 5 % of the volume (what Extract exploration targets keeps by default), split the "
              "same way; higher in the trusted half means a cut on the map (MAX_UNCERTAINTY) keeps the better "
              "targets. On the project's synthetic benchmark a smaller top percentage kept more ore than such a cut. "
              "A single network's uncertainty is 0 everywhere (no members to disagree), so it has no halves."),
    ]


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
            f"Most ore in the top 10 % of the volume: {best_capture[0]} ({_share(best_capture[1]['capture_top10'])}).",
            "Each method was scored on the same labelled voxels; the labels were not used to train any of them. "
            "One training run per method: on the project's synthetic benchmark the target AUC of one method moved "
            "by 0.02-0.06 (SD) from seed to seed, so a smaller difference may reverse when the models are trained "
            "again."]
    body = [
        _key_value_table({"labels": meta.get("labels"), "ore voxels": ranked[0][1]["n_ore"],
                          "barren voxels": ranked[0][1]["n_barren"], "volume (voxels)": ranked[0][1]["n_volume"]}),
        _key_value_table({f"prediction of {name}": metrics["prospectivity"] for name, metrics in comparison.items()}),
        '<ul class="verdict">' + "".join(f"<li>{html.escape(sentence)}</li>" for sentence in lead) + "</ul>",
        f"<h2>{tr('Side by side')}</h2>",
        _comparison_table(comparison),
        _note("Ore in top x %: share of the labelled ore voxels inside the x % of the volume with the highest "
              "prospectivity (a random map captures x %). P-V: the threshold where the share of ore above it equals "
              "the share of the volume below it. Certain / uncertain half: the AUC in the half of the volume where "
              "the ensemble's members (a forest's trees) agree most / least; familiar / novel half: the same split "
              "by novelty. A map that means something scores higher in the half it trusts. Ore in targets: the "
              "share of ore among the labelled voxels of the top 5 % of the volume (what Extract exploration "
              "targets keeps by default), in the half of them where the members agree most / least (familiar / "
              "novel: by novelty); higher in the certain half means a cut on uncertainty (MAX_UNCERTAINTY) keeps "
              "the better targets. A single network's uncertainty is 0 everywhere (no members to disagree), so it "
              "has no halves. The best value of each score is in bold."),
        _image(_comparison_roc_figure(comparison, colours)),
        _image(_comparison_success_figure(comparison, colours)),
        _note("Success-rate curve: the share of ore captured when the volume is taken from the highest "
              "prospectivity down. Right: the first quarter of the volume, where targets are chosen; dotted lines "
              "at 5, 10 and 20 %."),
        f"<h2>{tr('Per level')}</h2>",
        _image(_comparison_level_figure(comparison, colours)),
        _note("A level with few ore voxels gives a noisy AUC; read the profile where the table counts many."),
        _comparison_level_table(comparison),
    ]
    _write_html(path, tr("mpm3d comparison of {count} methods").format(count=len(comparison)), body)


def _comparison_value(metrics: dict, key):
    value = metrics
    for part in key if isinstance(key, tuple) else (key,):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _comparison_table(comparison: dict[str, dict]) -> str:
    """A row per method, a column per score; the best of each score that has a better direction in bold."""
    columns = [column for column in COMPARISON_COLUMNS
               if any(_present(_comparison_value(metrics, column[1])) for metrics in comparison.values())]
    formats = {"auc": lambda v: _fixed(v, 3), "share": _share, "fixed": lambda v: _fixed(v, 3)}
    lines = ['<table class="scores">', '<tr><th class="key">method</th>'
             + "".join(f"<th>{html.escape(heading)}</th>" for heading, *_ in columns) + "</tr>"]
    best = {}
    for heading, key, _, better in columns:
        values = [v for v in (_comparison_value(m, key) for m in comparison.values()) if _present(v)]
        if better and values:
            best[heading] = max(values) if better == "high" else min(values)
    for name, metrics in comparison.items():
        cells = [f'<td class="key">{html.escape(name)}</td>']
        for heading, key, kind, _ in columns:
            value = _comparison_value(metrics, key)
            text = html.escape(formats[kind](value) if _present(value) else MISSING)
            cells.append(f"<td><b>{text}</b></td>" if _present(value) and best.get(heading) == value
                         else f"<td>{text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _comparison_roc_figure(comparison: dict[str, dict], colours: dict[str, str]):
    figure, axes = _new_figure()
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(10.0, 4.4), dpi=100)
    FigureCanvasAgg(figure)
    for k, (title, limit) in enumerate((("Success-rate curves", 1.0), ("The top quarter of the volume", 0.25))):
        axes = figure.add_subplot(1, 2, k + 1)
        for name, metrics in comparison.items():
            success = metrics["success_rate"]
            axes.plot(success["volume_share"], success["ore_share"], color=colours[name],
                      label=f"{name} ({_share(metrics['capture_top10'])} in the top 10 %)")
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
    figure, axes = _new_figure()
    figure.set_size_inches(6.0, 5.5)
    for name, metrics in comparison.items():
        levels = metrics["levels"]
        auc = [_number_or_nan(level["auc"]) for level in levels]
        axes.plot(auc, [level["z"] for level in levels], color=colours[name], marker="o", markersize=3, label=name)
    axes.axvline(0.5, color="grey", linestyle="--", label="random")
    axes.set(title="AUC per level", xlabel="AUC of the level's labelled voxels", ylabel="elevation (m)")
    axes.legend(loc="lower left", fontsize=8)
    return figure


def _comparison_level_table(comparison: dict[str, dict]) -> str:
    levels = next(iter(comparison.values()))["levels"]
    rows = ([level["z"], level["n_ore"], *(_fixed(metrics["levels"][k]["auc"], 3) for metrics in comparison.values())]
            for k, level in enumerate(levels))
    return _table(("z", "ore voxels", *(f"AUC {name}" for name in comparison)), rows)


def write_metrics_json(path: str, metrics: dict) -> None:
    """Metrics as strict JSON (NaN and infinities become null), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        json.dump(_jsonable(metrics), handle, indent=2, allow_nan=False)
        handle.write("\n")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _write_html(path: str, title: str, body: list[str]) -> None:
    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{html_language()}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            '<p class="generated">' + html.escape(tr("Generated by mpm3d {version} on {date}.").format(
                version=__version__, date=generated)) + "</p>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(page)


def _number_or_nan(value) -> float:
    return float(value) if isinstance(value, int | float | np.number) else math.nan


def _format(value) -> str:
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if value == int(value):
            return str(int(value))
        if abs(value) >= 1000:  # coordinates, elevations, volumes: keep every metre
            return f"{value:.1f}"
        return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.3e}"
    if isinstance(value, dict | list | tuple):
        return json.dumps(_jsonable(value))
    return str(value)


def _table(columns: Iterable[str], rows: Iterable[list]) -> str:
    header = "".join(f"<th>{html.escape(tr(column))}</th>" for column in columns)
    lines = ["<table>", f"<tr>{header}</tr>"]
    for row in rows:
        lines.append("<tr>" + "".join(f"<td>{html.escape(_format(value))}</td>" for value in row) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _key_value_table(values: dict) -> str:
    lines = ["<table>"]
    for key, value in values.items():
        key_cell = f'<th class="key">{html.escape(tr(str(key)))}</th>'
        lines.append(f'<tr>{key_cell}<td class="key">{html.escape(_format(value))}</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _new_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _image(figure) -> str:
    """An embedded PNG whose alt text is the figure's label or its panels' titles, so a reader without images
    (and a test) knows what each picture shows."""
    alt = figure.get_label() or "; ".join(axes.get_title() for axes in figure.axes if axes.get_title())
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt or "figure")}" src="data:image/png;base64,{encoded}">'


def _line_figure(
    title: str,
    ylabel: str,
    epochs: list,
    lines: dict[str, np.ndarray],
    marker_x=None,
    marker_label: str = "",
    reference_y: float | None = None,
    reference_label: str = "",
):
    """Curves against the epoch; a curve that is all missing (a method without a domain loss) is left out."""
    figure, axes = _new_figure()
    for name, values in lines.items():
        if np.any(np.isfinite(values)):
            axes.plot(epochs, values, marker="o", markersize=3, label=name)
    if reference_y is not None:
        axes.axhline(reference_y, color="grey", linestyle="--", label=reference_label)
    if marker_x is not None:
        axes.axvline(marker_x, color="tab:green", linestyle=":", label=marker_label)
    axes.set(title=title, xlabel="epoch", ylabel=ylabel)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best")
    return figure


def _schedule_figure(epochs: list, lambdas: np.ndarray, learning_rates: np.ndarray):
    """Gradient-reversal weight and learning rate on two axes: their scales differ by orders.

    A method without a domain head has no gradient reversal: then the learning rate alone.
    """
    figure, axes = _new_figure()
    axes.set(title="Schedules", xlabel="epoch")
    if not np.any(np.isfinite(lambdas)):
        axes.plot(epochs, learning_rates, color="tab:orange", marker="s", markersize=3)
        axes.set_ylabel("learning rate", color="tab:orange")
        return figure
    axes.plot(epochs, lambdas, color="tab:blue", marker="o", markersize=3)
    axes.set_ylabel("lambda (gradient reversal)", color="tab:blue")
    rate_axes = axes.twinx()
    rate_axes.plot(epochs, learning_rates, color="tab:orange", marker="s", markersize=3)
    rate_axes.set_ylabel("learning rate", color="tab:orange")
    return figure


def _curve_figure(title: str, xlabel: str, ylabel: str, x: list, y: list, name: str):
    """A curve in the unit square with the diagonal a random ranking would follow."""
    figure, axes = _new_figure()
    axes.plot(x, y, color="tab:red", label=name)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="random")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
    axes.set_aspect("equal")
    axes.legend(loc="lower right")
    return figure


def _pv_figure(pv: dict):
    """Ore share (left axis) and volume share (right axis, reversed) against the threshold."""
    figure, axes = _new_figure()
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


def _epoch_kept(member: dict):
    """The epoch a member's weights come from, or the epochs they average."""
    averaged = member.get("averaged_epochs")
    return f"mean of {averaged[0]}-{averaged[-1]}" if averaged and len(averaged) > 1 else member.get("best_epoch")


def _selection_section(history: list[dict], rule: str | None, epochs: int) -> list[str]:
    """Which epoch each label-free rule would keep, and which one training used."""
    if not any(row.get("entropy") is not None for row in history):
        return []  # trained by a version without the label-free scores
    rule = rule or "source_val"
    rows = []
    holes = any(row.get(HOLE_SCORE) is not None for row in history)
    for name in (*RULE_SCORES, "average", *([HOLE_RULE] if holes else [])):
        if name == "average":
            kept = averaged_epochs(epochs)
            epoch, score = f"mean of {kept[0]}-{kept[-1]}" if len(kept) > 1 else kept[0], None
        else:
            epoch = chosen_epoch(history, name)
            score = history[epoch - 1].get(HOLE_SCORE if name == HOLE_RULE else RULE_SCORES[name][0])
        label = SELECTION_LABELS.get(name, "Best AUC on the validating target drill holes")
        rows.append([label + (" (used)" if name == rule else ""), epoch, score])
    return [f"<h2>{tr('Epoch choice')}</h2>", _table(("rule", "epoch kept", "its score"), rows), _note(
        "Every rule reads only the source's labels and the target's unlabelled evidence. Entropy: the mean "
        "uncertainty of the target predictions (lower: more confident). DEV: the source validation loss "
        "weighted by how target-like each voxel looks to the network (lower is better). MixVal: how often "
        "predictions on blends of two target patches follow the dominant one (higher is better). Which rule "
        "helps on the project's synthetic pair: bench/selection/results.md.")]


def _holes_section(holes: dict) -> list[str]:
    """The target drill holes' figures: the only scores of this model on the target itself."""
    rows = {"target AUC on the validating holes": holes.get("TARGET_AUC"),
            "95 % interval (bootstrap over whole holes)": (
                f"{holes['TARGET_AUC_LOW']:.3f} - {holes['TARGET_AUC_HIGH']:.3f}"
                if holes.get("TARGET_AUC_LOW") is not None else None),
            "holes validating": holes.get("HOLES_VALIDATING"), "holes training": holes.get("HOLES_TRAINING"),
            "leave-holes-out target AUC": holes.get("TARGET_CV_AUC")}
    body = [f"<h2>{tr('Target drill holes')}</h2>",
            _key_value_table({key: value for key, value in rows.items() if value is not None})]
    body += [_note(warning) for warning in holes.get("warnings", [])]
    body.append(_note("Evaluate the prediction with HOLES set to these holes so that the voxels they trained or "
                      "chose on are left out of its scores."))
    return body
