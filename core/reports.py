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

from . import __version__
from .atomic import atomic_path

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.generated, .note { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.key, th.key { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
"""

MISSING = "\u2013"  # en dash
HISTORY_COLUMNS = (
    "epoch",
    "loss_label",
    "loss_domain",
    "lambda",
    "lr",
    "val_auc",
    "disc_acc",
    "patches_per_s",
    "seconds",
)


def write_training_report(path: str, history: list[dict], meta: dict) -> None:
    """Training curves per epoch and the numbers behind them, as one HTML file."""
    epochs = [row["epoch"] for row in history]

    def series(key: str) -> np.ndarray:
        return np.array([_number_or_nan(row.get(key)) for row in history], dtype=float)

    best_epoch = meta.get("best_epoch")
    figures = [
        _line_figure(
            "Training losses",
            "loss",
            epochs,
            {"label loss (source)": series("loss_label"), "domain loss": series("loss_domain")},
        ),
        _schedule_figure(epochs, series("lambda"), series("lr")),
        _line_figure(
            "Source spatial-block validation AUC",
            "AUC",
            epochs,
            {"validation AUC": series("val_auc")},
            marker_x=best_epoch,
            marker_label="best epoch",
        ),
        _line_figure(
            "Domain discriminator accuracy",
            "accuracy",
            epochs,
            {"discriminator": series("disc_acc")},
            reference_y=0.5,
            reference_label="chance (0.5): domains indistinguishable",
        ),
    ]
    notes = [
        "",
        "",
        "Validation uses held-out spatial blocks of the source deposit only; "
        "target labels are never used for training, early stopping or model selection.",
        "Accuracy near 0.5 means the features no longer tell source from target. "
        "Empty when the method has no domain discriminator.",
    ]
    summary = {
        "method": meta.get("method"),
        "source": meta.get("source"),
        "target": meta.get("target"),
        "device": meta.get("device"),
        "best epoch": best_epoch,
        "features": ", ".join(str(name) for name in meta.get("feature_names") or []),
    }
    body = [_key_value_table(summary)]
    for figure, note in zip(figures, notes, strict=True):
        body.append(_image(figure))
        if note:
            body.append(f'<p class="note">{html.escape(note)}</p>')
    body.append("<h2>Per epoch</h2>")
    body.append(_table(HISTORY_COLUMNS, ([row.get(key) for key in HISTORY_COLUMNS] for row in history)))
    body.append("<h2>Configuration</h2>")
    body.append(_key_value_table(meta.get("config") or {}))
    _write_html(path, f"mpm3d training report: {meta.get('method') or ''}", body)


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
        '<p class="note">P-V: where the share of ore above a threshold equals one minus the share of '
        "the volume above it, a small volume holds much of the ore.</p>",
        "<h2>Per level</h2>",
        _table(
            ("z", "n_ore", "auc", "capture_top10"),
            (
                [level["z"], level["n_ore"], level["auc"], level["capture_top10"]]
                for level in metrics["levels"]
            ),
        ),
    ]
    _write_html(path, f"mpm3d evaluation report (AUC {_format(auc)})", body)


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
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="generated">Generated by mpm3d {html.escape(__version__)} on {generated}.</p>',
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
    header = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    lines = ["<table>", f"<tr>{header}</tr>"]
    for row in rows:
        lines.append("<tr>" + "".join(f"<td>{html.escape(_format(value))}</td>" for value in row) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _key_value_table(values: dict) -> str:
    lines = ["<table>"]
    for key, value in values.items():
        key_cell = f'<th class="key">{html.escape(str(key))}</th>'
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
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{encoded}">'


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
    """Curves against the epoch; a curve that is all missing is left out and said so."""
    figure, axes = _new_figure()
    drawn = 0
    for name, values in lines.items():
        if np.any(np.isfinite(values)):
            axes.plot(epochs, values, marker="o", markersize=3, label=name)
            drawn += 1
    if drawn == 0:
        axes.text(0.5, 0.5, "no values recorded", ha="center", va="center", transform=axes.transAxes)
    if reference_y is not None:
        axes.axhline(reference_y, color="grey", linestyle="--", label=reference_label)
    if marker_x is not None:
        axes.axvline(marker_x, color="tab:green", linestyle=":", label=marker_label)
    axes.set(title=title, xlabel="epoch", ylabel=ylabel)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best")
    return figure


def _schedule_figure(epochs: list, lambdas: np.ndarray, learning_rates: np.ndarray):
    """Gradient-reversal weight and learning rate on two axes: their scales differ by orders."""
    figure, axes = _new_figure()
    axes.plot(epochs, lambdas, color="tab:blue", marker="o", markersize=3)
    axes.set(title="Schedules", xlabel="epoch")
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
