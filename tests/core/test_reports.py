import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from core import __version__
from core.metrics import evaluate
from core.reports import write_evaluation_report, write_metrics_json, write_training_report


class TagBalance(HTMLParser):
    """Counts tags and checks every opened non-void tag is closed in order."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self):
        super().__init__()
        self.stack, self.counts, self.errors = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def parse(path) -> tuple[str, TagBalance]:
    text = path.read_text(encoding="utf-8")
    parser = TagBalance()
    parser.feed(text)
    assert text.startswith("<!DOCTYPE html>")
    assert parser.errors == [] and parser.stack == []
    assert parser.counts["html"] == parser.counts["title"] == parser.counts["h1"] == 1
    assert f"mpm3d {__version__}" in text
    return text, parser


def history(n_epochs: int = 5, with_domain: bool = True) -> list[dict]:
    rows = []
    for epoch in range(1, n_epochs + 1):
        p = epoch / n_epochs
        rows.append(
            {
                "epoch": epoch,
                "loss_label": 0.7 / epoch,
                "loss_domain": 0.69 if with_domain else None,
                "lambda": 2 / (1 + np.exp(-10 * p)) - 1,
                "lr": 0.01 / (1 + 10 * p) ** 0.75,
                "val_auc": None if epoch == 1 else 0.8 + 0.01 * epoch,
                "disc_acc": 0.6 - 0.02 * epoch if with_domain else None,
                "patches_per_s": 1234.5,
                "seconds": 2.5,
            }
        )
    return rows


META = {
    "method": "dann_cta",
    "feature_names": ["dist_fault", "dip", "density"],
    "config": {"patch": 9, "epochs": 5, "attention": {"feature": True, "channel": True}},
    "source": "xiadian.nc",
    "target": "dayingezhuang.nc <&>",
    "device": "cpu",
    "best_epoch": 4,
}


@pytest.mark.parametrize("with_domain", [True, False])
def test_training_report_is_one_html_file_with_four_figures(tmp_path, with_domain):
    path = tmp_path / "training.html"
    write_training_report(str(path), history(with_domain=with_domain), META)
    text, parser = parse(path)
    assert parser.counts["img"] == 4
    assert text.count("data:image/png;base64,") == 4
    assert "dann_cta" in text and "dist_fault" in text and "source" in text.lower()
    assert "&lt;&amp;&gt;" in text  # names are escaped
    assert "target labels are never used" in text
    assert parser.counts["tr"] >= 1 + 5  # header and one row per epoch
    assert "\u2013" in text  # missing values are shown as a dash, not None or nan
    words = re.sub(r"base64,[^\"]*", "", text)
    assert "None" not in words and "nan" not in words
    assert not list(tmp_path.glob(".*partial*"))


def metrics():
    rng = np.random.default_rng(0)
    label = (rng.random((3, 10, 10)) < 0.2).astype(np.int8)
    label[2] = 0  # a level without ore
    prospectivity = np.clip(rng.random((3, 10, 10)) * 0.7 + 0.3 * label, 0, 1)
    return evaluate(prospectivity, label, np.array([0.0, -50.0, -100.0]))


def test_evaluation_report_shows_auc_figures_and_levels(tmp_path):
    result = metrics()
    path = tmp_path / "sub" / "evaluation.html"
    write_evaluation_report(str(path), result, {"prospectivity": "pred.nc", "labels": "labels.nc"})
    text, parser = parse(path)
    assert parser.counts["img"] == 3
    assert f"{result['auc']:.4g}" in text
    assert "pred.nc" in text
    level_rows = re.findall(r"<tr><td>(-?\d+)</td>", text)
    assert level_rows == ["0", "-50", "-100"]


def test_metrics_json_is_strict_and_overwrites_atomically(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    result = metrics()
    result["extra"] = {"nan": float("nan"), "numpy": np.float32(0.5), "count": np.int64(3)}
    write_metrics_json(str(path), result)
    loaded = json.loads(path.read_text())
    assert loaded["auc"] == pytest.approx(result["auc"])
    assert loaded["extra"] == {"nan": None, "numpy": 0.5, "count": 3}
    assert loaded["levels"][2]["auc"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
