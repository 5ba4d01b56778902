"""The training report: curves per epoch, the chosen epoch, the ensemble, the forest, drill holes and the
transfer between the deposits."""


from __future__ import annotations

import html
import math

import numpy as np

from ...i18n import tr
from ...learning.importance import SHARE_SHIFT, shifted_layers
from ...learning.selection import HOLE_RULE, HOLE_SCORE, RULE_SCORES, SELECTION_LABELS, averaged_epochs, chosen_epoch
from ...learning.transfer import KS_WARN, OUTSIDE_WARN, transfer_verdict
from ...settings import DOMAIN_HEAD_METHODS
from .kit import (
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

HISTORY_COLUMNS = (
    "epoch",
    "loss_label",
    "loss_domain",
    "loss_target",
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
    "novelty" (summary dict), "embedding_pad" ({"before", "after"}) and "aligned_shift" ({"method", "pad",
    "ks": {feature: KS}}: the evidence's shift after the model's input alignment). Only what applies to the
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
    body = [key_value_table(summary)]
    if forest:
        body += _forest_section(fit, meta.get("feature_names") or [], meta.get("ensemble_spread"))
        # a forest's trees always spread widely, and it has no seeds' members: the ensemble sentences misread it
        meta = {key: value for key, value in meta.items() if key not in ("ensemble", "ensemble_spread")}
    else:
        body += _network_curves(history, meta.get("best_epoch"), with_discriminator=transfer is None)
        body += _selection_section(history, meta.get("selection"), len(history))
    if meta.get("importance"):
        body += importance_section(meta["importance"])
    if meta.get("attention"):
        body += attention_section(meta["attention"])
    if meta.get("target_holes"):
        body += _holes_section(meta["target_holes"])
    if transfer is not None:
        verdict = meta["verdict"] if meta.get("verdict") is not None else transfer_verdict(transfer, meta)
        body += _transfer_section(transfer, verdict, meta, [] if forest else history)
    if meta.get("ensemble"):
        body += _ensemble_section(meta["ensemble"], meta.get("ensemble_spread"))
    if not forest:
        columns = [key for key in HISTORY_COLUMNS
                   if key == "epoch" or any(present(row.get(key)) for row in history)]
        body.append(f"<h2>{tr('Per epoch')}</h2>")
        body.append(table(columns, ([row.get(key) for key in columns] for row in history)))
    body.append(f"<h2>{tr('Configuration')}</h2>")
    body.append(key_value_table(_applicable_settings(meta.get("config") or {}, method)))
    write_html(path, tr("mpm3d training report: {method}").format(method=method or ""), body)


def _forest_section(fit: dict, feature_names: list[str], spread) -> list[str]:
    """What a forest has instead of epochs: its trees, how much they disagree, and what its splits use."""
    body = [f"<h2>{tr('The forest')}</h2>"]
    facts = {"trees": fit.get("trees"), "trees' mean spread of prospectivity on the target (SD)": spread}
    facts = {key: fixed(value, 3) if isinstance(value, float) else value
             for key, value in facts.items() if value is not None}
    if facts:
        body.append(key_value_table(facts))
    body.append(note("The trees are the forest's ensemble: each is grown on its own bootstrap sample of the "
                      "source's voxels with a random subset of the features at each split, and their spread at a "
                      "voxel is the uncertainty output. Single trees disagree more than networks trained from "
                      "other seeds (on the project's synthetic benchmark: 0.135 between the trees, 0.07-0.08 "
                      "between networks), so compare the spread between parts of the map, not with a network's."))
    importance = fit.get("feature_importance")
    if not importance or len(importance) != len(feature_names):
        body.append(note("No feature importances were recorded for this model (trained by an earlier version)."))
        return body
    ranked = sorted(zip(feature_names, importance, strict=True), key=lambda item: -item[1])
    body += [f"<h3>{tr('Feature importances')}</h3>", image(_importance_figure(ranked)),
             table(("feature", "importance"), ([name, fixed(value, 3)] for name, value in ranked)),
             note("Mean decrease in impurity (Gini) over the trees, summing to 1: how much the splits on each "
                   "feature separate ore from barren in the source's training voxels. It says nothing about the "
                   "target; correlated features share their importance, and a feature with many distinct values "
                   "can look more important than it is.")]
    return body


def importance_section(importance: dict) -> list[str]:
    """Evidence importance by permutation (core.learning.importance), the same for every method: one table and the
    source and target bars side by side, layers in the order of their source AUC drop."""
    layers = importance.get("layers") or []
    if not layers:
        return []

    def mean_sd(figure) -> str:
        return f"{fixed(figure['mean'], 4)} \u00b1 {fixed(figure['sd'], 4)}" if figure else "\u2013"

    ranked = sorted(layers, key=lambda layer: -(layer["source_auc_drop"] or {"mean": 0.0})["mean"])
    rows = [[layer["layer"], mean_sd(layer["source_auc_drop"]), mean_sd(layer["target_change"])] for layer in ranked]
    return [f"<h2>{tr('Evidence importance')}</h2>",
            table(("layer", "source AUC drop (mean \u00b1 SD)", "target mean |change| (mean \u00b1 SD)"), rows),
            image(_permutation_figure(ranked)),
            *_shift_sentences(importance),
            note("Each evidence layer (or group of layers) is shuffled among the valid voxels, one layer at a time. "
                  "Source: how much the spatial-block validation AUC falls when the layer is shuffled over the "
                  "x-y blocks training held out (each member's own blocks); near 0 means the model does not rely "
                  "on the layer there, a negative value is noise. Target: the mean absolute change of the target "
                  "prospectivity, over a sample of its blocks, when the layer is shuffled over the target; it uses "
                  "no target labels, so it says how much the map rests on the layer, not whether that is right. "
                  "Mean \u00b1 SD over the repeats and the ensemble's members. A layer high on the source and low "
                  "on the target, or the reverse, behaves differently in the two deposits.")]


def _shift_sentences(importance: dict) -> list[str]:
    """One sentence per layer the model leans on differently on the target than on the source (``shifted_layers``:
    its share of the importance differs by SHARE_SHIFT or more), and the criterion."""
    shifted = shifted_layers(importance)
    if not shifted:
        return []
    more = tr("{layer} carries {source} of the evidence importance on the source and {target} on the target: the "
              "target map rests more on this layer than the source validation did, so the model reads it "
              "differently in the two deposits.")
    less = tr("{layer} carries {source} of the evidence importance on the source and {target} on the target: the "
              "target map rests less on this layer than the source validation did, so the model reads it "
              "differently in the two deposits.")
    sentences = [(more if share["target_share"] > share["source_share"] else less).format(
        layer=share["layer"], source=as_percent(share["source_share"]), target=as_percent(share["target_share"]))
        for share in shifted]
    criterion = tr("A layer is named here when its share of all layers' importance (source: of the AUC drops, "
                   "target: of the changes) differs by {points} percentage points or more between the source and "
                   "the target.").format(points=f"{100 * SHARE_SHIFT:g}")
    return [f"<p>{html.escape(sentence)}</p>" for sentence in sentences] + [
        f'<p class="note">{html.escape(criterion)}</p>']


ATTENTION_REGIONS = (("source_ore", "source ore", "tab:red"), ("source_barren", "source barren", "tab:grey"),
                     ("target", "target", "tab:orange"))


def attention_section(attention: dict) -> list[str]:
    """The feature gate's mean weight per evidence layer (core.learning.attention.gate_summary) over the source's
    ore, its barren ground and the target: what the triple attention leans on, and whether it leans the same way
    on the target."""
    layers = attention.get("layers") or []
    if not layers:
        return []
    regions = [(key, label) for key, label, _ in ATTENTION_REGIONS if attention.get(key)]
    rows = [[layer, *(fixed(attention[key]["mean"][k], 3) for key, _ in regions)] for k, layer in enumerate(layers)]
    rows.append(["voxels", *(attention[key]["voxels"] for key, _ in regions)])
    return [f"<h2>{tr('Attention: the feature gate')}</h2>",
            table(("layer", *(f"{label} (mean weight)" for _, label in regions)), rows),
            image(_attention_figure(attention)),
            note("The triple attention's feature gate gives every evidence layer a weight between 0 and 1 at each "
                 "voxel, from that voxel's evidence, before the first convolution. Shown: its mean over the source's"
                 " ore voxels, its barren voxels and the target's valid voxels (the last row counts them), the "
                 "ensemble members' mean, with their spread as error bars in the chart. A layer weighted up at the "
                 "ore and not on barren ground is one the gate picks out as ore-controlling; a layer weighted "
                 "differently on the target is read differently there. A gate weight is not an importance: a network"
                 " can still ignore a layer the gate passes on (compare with the permutation importance above). "
                 "Predict writes the weights per voxel on request (GATE_WEIGHTS).")]


def _attention_figure(attention: dict):
    """Grouped horizontal bars: one row per layer, one bar per region, members' spread as error bars."""
    layers = list(attention["layers"])
    figure = blank_figure(7.5, 1.2 + 0.45 * len(layers))
    axes = figure.add_subplot(1, 1, 1)
    present_regions = [region for region in ATTENTION_REGIONS if attention.get(region[0])]
    height = 0.8 / max(1, len(present_regions))
    rows = np.arange(len(layers))[::-1]
    for k, (key, label, colour) in enumerate(present_regions):
        axes.barh(rows + (len(present_regions) / 2 - k - 0.5) * height, attention[key]["mean"], height=height,
                  xerr=attention[key]["sd"], color=colour, label=label, capsize=2)
    axes.set_yticks(rows, layers)
    axes.set(title="Feature gate: mean weight per evidence layer", xlabel="gate weight", xlim=(0, 1))
    axes.legend(loc="lower right", fontsize=8)
    figure.set_label("Feature gate: mean weight per evidence layer over the source's ore, its barren ground and "
                     "the target")
    return figure


def _permutation_figure(ranked: list[dict]):
    """Source AUC drop and target change as horizontal bars side by side, one row per layer, largest on top."""

    figure = blank_figure(9.0, 1.0 + 0.35 * len(ranked))
    names = [layer["layer"] for layer in ranked][::-1]
    panels = (("source_auc_drop", "Source: validation AUC drop", "AUC lost", "tab:blue"),
              ("target_change", "Target: mean |change| of prospectivity", "mean |change|", "tab:orange"))
    for k, (key, title, xlabel, colour) in enumerate(panels):
        axes = figure.add_subplot(1, 2, k + 1)
        figures = [layer[key] or {"mean": math.nan, "sd": 0.0} for layer in ranked][::-1]
        axes.barh(names, [f["mean"] for f in figures], xerr=[f["sd"] for f in figures], color=colour, capsize=2)
        axes.axvline(0.0, color="grey", linewidth=0.8)
        axes.set(title=title, xlabel=xlabel)
        if k:
            axes.tick_params(labelleft=False)
    figure.set_label("Evidence importance: source validation AUC drop and target change when a layer is shuffled")
    return figure


def _importance_figure(ranked: list[tuple[str, float]]):
    """Horizontal bars, largest on top, each with its value."""
    figure, axes = new_figure()
    figure.set_size_inches(7.0, 0.8 + 0.35 * len(ranked))
    names = [name for name, _ in ranked][::-1]
    values = [value for _, value in ranked][::-1]
    bars = axes.barh(names, values, color="tab:green")
    axes.bar_label(bars, labels=[f"{value:.3f}" for value in values], padding=3, fontsize=8)
    axes.set(title="Feature importances (mean decrease in impurity)", xlabel="share of the forest's impurity decrease",
             xlim=(0, max(values) * 1.15 if max(values) > 0 else 1))
    return figure


def _network_curves(history: list[dict], best_epoch, with_discriminator: bool) -> list[str]:
    """Losses, schedules, validation AUC and (unless the transfer section shows it) discriminator accuracy."""
    epochs = [row["epoch"] for row in history]
    losses = {"label loss (source)": _series(history, "loss_label"), "domain loss": _series(history, "loss_domain"),
              "target loss (MCC, no labels)": _series(history, "loss_target")}
    body = []
    if _any_values(losses):
        body.append(image(_line_figure("Training losses", "loss", epochs, losses)))
    lambdas, learning_rates = _series(history, "lambda"), _series(history, "lr")
    if _any_values({"lambda": lambdas, "lr": learning_rates}):
        body.append(image(_schedule_figure(epochs, lambdas, learning_rates)))
    val_auc = {"validation AUC": _series(history, "val_auc")}
    if _any_values(val_auc):
        body.append(image(_line_figure("Source spatial-block validation AUC", "AUC", epochs, val_auc,
                                        marker_x=best_epoch, marker_label="best epoch")))
        body.append(note(VALIDATION_NOTE))
    else:
        body.append(note("No source validation AUC was recorded (no validation blocks were held out), so the "
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
    return [image(figure), note(
        "Accuracy near 0.5 means the network's features no longer tell source from target. Methods without a "
        "domain head (cta, cnn) measure it with a probe discriminator that does not shape the features.")]


# Settings that only a network uses; a random forest is fitted on the source's centre voxels alone.
NETWORK_SETTINGS = frozenset({"patch_size", "epochs", "batch_size", "learning_rate", "lambda_max", "weight_decay",
                              "device", "target_normalisation", "target_loss", "training_mode"})


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
    return np.array([number_or_nan(row.get(key)) for row in history], dtype=float)


def _any_values(lines: dict[str, np.ndarray]) -> bool:
    return any(np.any(np.isfinite(values)) for values in lines.values())


def _transfer_section(transfer: dict, verdict: list[str], meta: dict, history: list[dict]) -> list[str]:
    """The verdict first (what a geologist acts on), then the numbers and pictures it rests on."""
    features = transfer["features"]
    body = [
        f"<h2>{tr('Transfer from source to target')}</h2>",
        '<ul class="verdict">' + "".join(f"<li>{html.escape(sentence)}</li>" for sentence in verdict) + "</ul>",
        note(f"Measured on the valid voxels of each deposit ({transfer['n_source']} source, {transfer['n_target']} "
              "target), without target labels. Standardised: each deposit by its own mean and SD, as the model "
              "sees it. Shaded cells pass the verdict's thresholds: KS above "
              f"{KS_WARN:g}, or more than {100 * OUTSIDE_WARN:g} % of the target volume outside the source's range "
              "(a target drawn from the source's own distribution has 1 % outside)."),
        f"<h3>{tr('Feature by feature')}</h3>",
        _shift_table(features),
        note("SMD: difference of means (target - source) over the pooled SD; 0 after standardisation by construction. "
              "KS: the largest gap between the two cumulative distributions (0: same, 1: disjoint); it also sees "
              "differences of shape. Outside: share of the target's volume below the source's 0.5 % or above its "
              "99.5 % quantile."),
        image(_histogram_grid(features, "raw", "Raw values: source and target")),
        image(_histogram_grid(features, "standardised", "After per-deposit standardisation (what the model sees)")),
        note("Share of each deposit's valid voxels per bin, over the pooled 0.1-99.9 % range. Dashed lines: the "
              "source's 0.5-99.5 % range."),
        f"<h3>{tr('The evidence as a whole')}</h3>",
    ]
    pad = {"evidence PAD, raw values": transfer["pad"]["raw"],
           "evidence PAD, after per-deposit standardisation": transfer["pad"]["standardised"]}
    aligned = meta.get("aligned_shift")
    if aligned:
        pad["evidence PAD, after the input alignment and standardisation"] = aligned["pad"]
        for key, ks in (("largest KS, after per-deposit standardisation",
                         {name: kinds["standardised"]["ks"] for name, kinds in transfer["features"].items()}),
                        ("largest KS, after the input alignment and standardisation", aligned["ks"])):
            worst = max(ks, key=ks.get)
            pad[key] = f"{fixed(ks[worst])} ({worst})"
    embedding_pad = meta.get("embedding_pad") or {}
    if embedding_pad.get("before") is not None:
        pad["network embedding PAD, before training"] = embedding_pad["before"]
    if embedding_pad.get("after") is not None:
        pad["network embedding PAD, after training"] = embedding_pad["after"]
    body.append(key_value_table({key: value if isinstance(value, str) else fixed(value)
                                 for key, value in pad.items()}))
    body.append(note("PAD (proxy A-distance): how well a linear classifier tells target voxels from source voxels; "
                      "0: indistinguishable, 2: fully separable."))
    body += _discriminator_figure(history)
    novelty = meta.get("novelty")
    if novelty:
        body += _novelty_tables(novelty)
    return body


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
            cells.append(f"<td>{fixed(shift[kind]['smd'], signed=True)}</td>")
        for kind in ("raw", "standardised"):
            ks = shift[kind]["ks"]
            cells.append(_flagged_cell(fixed(ks), ks > KS_WARN))
        for kind in ("raw", "standardised"):
            outside = shift[kind]["share_outside"]
            cells.append(_flagged_cell(as_percent(outside), outside > OUTSIDE_WARN))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _flagged_cell(text: str, flagged: bool) -> str:
    return f'<td class="warn">{html.escape(text)}</td>' if flagged else f"<td>{html.escape(text)}</td>"


def _novelty_tables(novelty: dict) -> list[str]:
    summary = {
        "share of the target volume with novelty above 0.5": as_percent(novelty["share_above_half"])
        if novelty.get("share_above_half") is not None else None,
        "mean novelty over the target": novelty.get("mean"),
        "domain AUC of the novelty model": novelty.get("domain_auc"),
    }
    body = [f"<h3>{tr('Novelty')}</h3>"]
    if novelty.get("note"):  # why it was not computed
        body.append(note(str(novelty["note"])))
    summary = {key: value for key, value in summary.items() if value is not None}
    if summary:
        body.append(key_value_table(summary))
    importance = novelty.get("importance") or {}
    if importance:
        ranked = sorted(importance.items(), key=lambda item: -item[1])
        body.append(note("How much each feature drives novelty, largest first:"))
        body.append(key_value_table({name: fixed(value, 3) for name, value in ranked}))
    body.append(note("Novelty: how unlike the source the target's evidence is at a voxel (0: like the source, "
                      "1: unlike anything in it); the domain AUC says how well the novelty model tells the "
                      "deposits apart (0.5: not at all)."))
    return body


def _ensemble_section(members: list[dict], spread) -> list[str]:
    """Every network member's chosen epoch and validation AUC, and their curves with the spread per epoch."""
    body = [f"<h2>{tr('Ensemble members')}</h2>"]
    if spread is not None:
        body.append(key_value_table({"members' mean spread of prospectivity on the target (SD)": fixed(spread, 3)}))
    body.append(table(("member", "best epoch", "source validation AUC"),
                       ([number, _epoch_kept(member), member.get("val_auc")]
                        for number, member in enumerate(members, 1))))
    members = [member["history"] for member in members]
    auc = _member_matrix(members, "val_auc")
    if np.any(np.isfinite(auc[1])):
        body.append(image(_members_figure([("Source spatial-block validation AUC per member", "AUC", auc)])))
    panels = [(title, "loss", matrix) for title, matrix in (
        ("Label loss (source) per member", _member_matrix(members, "loss_label")),
        ("Domain loss per member", _member_matrix(members, "loss_domain"))) if np.any(np.isfinite(matrix[1]))]
    if panels:
        body.append(image(_members_figure(panels)))
    body.append(note("Thin lines: one per member; black: the members' mean per epoch, shaded: mean \u00b1 one SD "
                      "across the members, the spread that training from another seed would show."))
    return body


def _member_matrix(members: list[list[dict]], key: str) -> tuple[list, np.ndarray]:
    """(epochs, members x epochs values), NaN where a member has no value at that epoch."""
    epochs = sorted({row["epoch"] for history in members for row in history})
    column = {epoch: j for j, epoch in enumerate(epochs)}
    values = np.full((len(members), len(epochs)), np.nan)
    for i, history in enumerate(members):
        for row in history:
            values[i, column[row["epoch"]]] = number_or_nan(row.get(key))
    return epochs, values


def _members_figure(panels: list[tuple[str, str, tuple[list, np.ndarray]]]):
    """One panel per quantity: a thin line per member, the mean per epoch and a band of one SD around it."""

    figure = blank_figure(4.8 * len(panels) + 2.2, 3.8)
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

    n_columns = min(4, len(features))
    n_rows = math.ceil(len(features) / n_columns)
    figure = blank_figure(10.0, 0.9 + 1.9 * n_rows)
    for k, (name, shift) in enumerate(features.items()):
        comparison = shift[kind]
        axes = figure.add_subplot(n_rows, n_columns, k + 1)
        edges = comparison["edges"]
        axes.stairs(comparison["source_hist"], edges, fill=True, color="tab:blue", alpha=0.35, label="source")
        axes.stairs(comparison["target_hist"], edges, color="tab:orange", linewidth=1.6, label="target")
        for bound in comparison["source_range"]:
            axes.axvline(bound, color="grey", linestyle="--", linewidth=0.8)
        axes.set_title(f"{name}\nKS {comparison['ks']:.2f}, outside {as_percent(comparison['share_outside'])}",
                       fontsize=9)
        axes.tick_params(labelsize=7)
        axes.set_yticks([])
    figure.suptitle(title, fontsize=11)
    figure.set_label(title)
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", fontsize=9, frameon=False)
    return figure


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
    figure, axes = new_figure()
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
    figure, axes = new_figure()
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
    return [f"<h2>{tr('Epoch choice')}</h2>", table(("rule", "epoch kept", "its score"), rows), note(
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
            key_value_table({key: value for key, value in rows.items() if value is not None})]
    body += [note(warning) for warning in holes.get("warnings", [])]
    body.append(note("Evaluate the prediction with HOLES set to these holes so that the voxels they trained or "
                      "chose on are left out of its scores."))
    return body
