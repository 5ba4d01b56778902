import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from mpm3d.core import __version__
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.learning.transfer import KS_WARN, OUTSIDE_WARN, feature_shift, transfer_verdict
from mpm3d.core.results.metrics import evaluate
from mpm3d.core.results.reports import write_evaluation_report, write_metrics_json, write_training_report


class TagBalance(HTMLParser):
    """Counts tags, checks every opened non-void tag is closed in order, and keeps what a reader sees:
    the images' alt texts, the tables' rows of cell texts and the flagged cells."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self):
        super().__init__()
        self.stack, self.counts, self.errors = [], {}, []
        self.alts, self.tables, self.flagged, self.items = [], [], [], []
        self.text = None

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.alts.append(attrs["alt"])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "li"):
            self.text = []
            if attrs.get("class") == "warn":
                self.flagged.append(len(self.tables[-1][-1]))

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self.text))
            self.text = None
        elif tag == "li":
            self.items.append("".join(self.text))
            self.text = None


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


CURVES = ["Training losses", "Schedules", "Source spatial-block validation AUC", "Domain discriminator accuracy"]


@pytest.mark.parametrize("with_domain", [True, False])
def test_training_report_is_one_html_file_with_its_figures(tmp_path, with_domain):
    path = tmp_path / "training.html"
    write_training_report(str(path), history(with_domain=with_domain), META)
    text, parser = parse(path)
    # a curve without values (no domain loss, no discriminator) is left out, not drawn empty
    assert parser.alts == (CURVES if with_domain else CURVES[:3])
    assert text.count("data:image/png;base64,") == len(parser.alts)
    assert "Transfer from source to target" not in text and "Ensemble members" not in text
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


def test_evaluation_report_says_whether_a_cut_on_uncertainty_keeps_the_better_targets(tmp_path):
    from mpm3d.core.results.metrics import trust_summary

    rng = np.random.default_rng(4)
    label = (rng.random((4, 20, 20)) < 0.2).astype(np.int8)
    prospectivity = rng.random(label.shape)  # the top 5 % holds ore and barren voxels
    sure_of_ore = (1 - label) * 0.01 + rng.random(label.shape) * 0.001  # the members agree most on ore voxels
    path = tmp_path / "evaluation.html"
    for uncertainty, said in ((sure_of_ore, "holds more ore ("), (0.2 - sure_of_ore, "holds no more ore (0.0 % ")):
        result = {**metrics(), **trust_summary(prospectivity, label, uncertainty=uncertainty)}
        write_evaluation_report(str(path), result, {"prospectivity": "pred.nc", "labels": "labels.nc"})
        text, _ = parse(path)
        assert "<h2>How far to trust this map</h2>" in text
        assert f"Uncertainty: the targets&#x27; trusted half {said}" in text
        assert "<td>novelty</td>" not in text  # a map the cube does not have is not judged
    write_evaluation_report(str(path), metrics(), {"prospectivity": "pred.nc", "labels": "labels.nc"})
    assert "How far to trust" not in parse(path)[0]  # no uncertainty or novelty map: nothing to judge


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


@pytest.fixture(scope="module")
def shift():
    return feature_shift(*synthetic_pair(shape=(8, 24, 24), voxel_size=(50.0, 70.0, 70.0), seed=1))


def transfer_meta(shift, **extra) -> dict:
    names = list(shift["features"])
    return {**META, "feature_names": names, "transfer": shift, **extra}


def table_with(parser: TagBalance, first_cell: str) -> list[list[str]]:
    return next(table for table in parser.tables if table and table[0] and table[0][0] == first_cell)


def test_transfer_section_leads_with_the_verdict_then_the_numbers_and_pictures(tmp_path, shift):
    path = tmp_path / "training.html"
    write_training_report(str(path), history(), transfer_meta(shift))
    text, parser = parse(path)
    section = text.index("<h2>Transfer from source to target</h2>")
    assert section < text.index('<ul class="verdict">') < text.index("<h3>Feature by feature</h3>")
    verdict = transfer_verdict(shift, {})
    assert parser.items == verdict and len(verdict) >= 3  # computed from the transfer when not given
    assert "alteration" in verdict[0]

    rows = table_with(parser, "feature")
    assert rows[1] == ["raw", "standardised"] * 3
    assert [row[0] for row in rows[2:]] == list(shift["features"])
    for row, comparison in zip(rows[2:], shift["features"].values(), strict=True):
        raw, standardised = comparison["raw"], comparison["standardised"]
        assert row[1] == f"{raw['smd']:+.2f}" and row[2] == "0.00"  # 0 by construction, not float noise
        assert row[3:5] == [f"{raw['ks']:.2f}", f"{standardised['ks']:.2f}"]
        assert row[5:7] == [f"{100 * raw['share_outside']:.1f} %", f"{100 * standardised['share_outside']:.1f} %"]
    expected_flags = sum(
        (c[kind]["ks"] > KS_WARN) + (c[kind]["share_outside"] > OUTSIDE_WARN)
        for c in shift["features"].values() for kind in ("raw", "standardised"))
    assert len(parser.flagged) == expected_flags > 0

    pad = dict(table_with(parser, "evidence PAD, raw values"))
    assert pad == {"evidence PAD, raw values": f"{shift['pad']['raw']:.2f}",
                   "evidence PAD, after per-deposit standardisation": f"{shift['pad']['standardised']:.2f}"}
    # the discriminator's accuracy moves into the section, after the histograms
    assert parser.alts == CURVES[:3] + ["Raw values: source and target",
                                        "After per-deposit standardisation (what the model sees)", CURVES[3]]
    assert text.index("Domain discriminator accuracy") > section


def test_a_given_verdict_is_shown_as_given_and_the_extras_are_reported(tmp_path, shift):
    path = tmp_path / "training.html"
    novelty = {"share_above_half": 0.08, "mean": 0.21, "domain_auc": 0.83, "importance": {"density": 0.2, "dip": 0.5}}
    write_training_report(str(path), history(), transfer_meta(
        shift, verdict=["Read <susceptibility> with care."], novelty=novelty,
        embedding_pad={"before": 1.4, "after": 0.25}, aligned_shift={"method": "quantile", "pad": 0.31,
                                                                   "ks": {n: 0.01 for n in shift["features"]}}))
    text, parser = parse(path)
    assert parser.items == ["Read <susceptibility> with care."] and "&lt;susceptibility&gt;" in text
    pad = dict(table_with(parser, "evidence PAD, raw values"))
    assert pad["evidence PAD, after the input alignment and standardisation"] == "0.31"
    assert pad["largest KS, after the input alignment and standardisation"].startswith("0.01 (")
    assert "largest KS, after per-deposit standardisation" in pad
    assert pad["network embedding PAD, before training"] == "1.40"
    assert pad["network embedding PAD, after training"] == "0.25"
    assert dict(table_with(parser, "share of the target volume with novelty above 0.5")) == {
        "share of the target volume with novelty above 0.5": "8.0 %", "mean novelty over the target": "0.21",
        "domain AUC of the novelty model": "0.83"}
    assert table_with(parser, "dip") == [["dip", "0.500"], ["density", "0.200"]]  # largest first

    not_computed = {"share_above_half": None, "mean": None, "domain_auc": None, "importance": {},
                    "note": "novelty not computed: too few valid voxels"}
    write_training_report(str(path), history(), transfer_meta(shift, novelty=not_computed))
    text, parser = parse(path)
    assert "<h3>Novelty</h3>" in text and "novelty not computed: too few valid voxels" in text
    assert not any(table and table[0] and "novelty" in table[0][0] for table in parser.tables)
    assert not any("Novelty is above" in item for item in parser.items)


def test_random_forest_report_shows_only_what_applies(tmp_path, shift):
    names = list(shift["features"])
    importance = np.random.default_rng(2).dirichlet(np.ones(len(names))).tolist()
    forest_history = [{"epoch": 1, "loss_label": None, "loss_domain": None, "lambda": None, "lr": None,
                       "val_auc": 0.9123, "disc_acc": None, "patches_per_s": 40000.0, "seconds": 1.5,
                       "trees": 200, "feature_importance": importance}]
    config = {"method": "rf", "patch_size": 9, "epochs": 20, "batch_size": 128, "learning_rate": 0.001,
              "lambda_max": 1.0, "negative_ratio": 1.0, "val_fraction": 0.25, "device": "auto", "seed": 3,
              "members": 3, "command": "train", "json_lines": True}
    meta = {**META, "method": "rf", "feature_names": names, "config": config, "best_epoch": 1}
    path = tmp_path / "rf.html"
    write_training_report(str(path), forest_history, meta)
    text, parser = parse(path)
    # importances instead of loss, schedule, validation or discriminator curves over epochs of one fit
    assert parser.alts == ["Feature importances (mean decrease in impurity)"]
    summary = dict(parser.tables[0])
    assert summary["source spatial-block validation AUC"] == "0.9123" and summary["seconds"] == "1.5"
    assert "best epoch" not in summary and "device" not in summary
    assert dict(table_with(parser, "trees")) == {"trees": "200"}
    ranked = table_with(parser, "feature")[1:]
    assert sorted(name for name, _ in ranked) == sorted(names)
    shown = [float(value) for _, value in ranked]
    assert shown == sorted(shown, reverse=True) and sum(shown) == pytest.approx(1.0, abs=0.001 * len(names))
    assert dict(ranked)[names[0]] == f"{importance[0]:.3f}"
    settings = dict(parser.tables[-1])
    assert settings == {"method": "rf", "negative_ratio": "1", "val_fraction": "0.25", "seed": "3"}
    assert "Per epoch" not in text and "discriminator" not in text.lower() and "loss" not in text.lower()

    forest_member = {"history": forest_history, "best_epoch": 1}
    write_training_report(str(path), forest_history, {**meta, "transfer": shift, "ensemble": [forest_member],
                                                      "ensemble_spread": 0.1391})
    text, parser = parse(path)
    assert parser.alts == ["Feature importances (mean decrease in impurity)", "Raw values: source and target",
                           "After per-deposit standardisation (what the model sees)"]
    assert "Transfer from source to target" in text and "discriminator" not in text.lower()
    # the trees' spread is the forest's uncertainty, not members from other seeds
    assert dict(table_with(parser, "trees"))["trees' mean spread of prospectivity on the target (SD)"] == "0.139"
    assert "Ensemble members" not in text and not any("seed" in item for item in parser.items)

    write_training_report(str(path), [{**forest_history[0], "feature_importance": None}], meta)
    text, parser = parse(path)
    assert parser.alts == [] and "No feature importances were recorded" in text


def test_a_network_without_domain_head_hides_the_gradient_reversal(tmp_path):
    rows = history()
    for row in rows:
        row["lambda"] = None
    config = {"method": "cnn", "patch_size": 9, "lambda_max": 1.0, "learning_rate": 0.001}
    path = tmp_path / "cnn.html"
    write_training_report(str(path), rows, {**META, "method": "cnn", "config": config})
    text, parser = parse(path)
    assert parser.alts == CURVES
    assert dict(parser.tables[-1]) == {"method": "cnn", "patch_size": "9", "learning_rate": "0.001"}
    per_epoch = table_with(parser, "epoch")
    assert per_epoch[0] == ["epoch", "loss_label", "loss_domain", "lr", "val_auc", "disc_acc", "patches_per_s",
                            "seconds"]


def test_ensemble_report_lists_every_member(tmp_path, shift):
    aucs = ([None, 0.91, 0.99, 0.95, 0.97], [None, 0.85, 0.98, 0.97, 0.90], [None, 0.80, 0.88, 0.92])  # 3rd: shorter
    members = []
    for member_aucs in aucs:
        rows = history(len(member_aucs))
        for row, auc in zip(rows, member_aucs, strict=True):
            row["val_auc"] = auc
        best = max(rows[1:], key=lambda row: row["val_auc"])  # as training's default rule keeps it
        members.append({"history": rows, "best_epoch": best["epoch"], "val_auc": best["val_auc"]})
    path = tmp_path / "ensemble.html"
    write_training_report(str(path), members[0]["history"],
                          transfer_meta(shift, ensemble=members, ensemble_spread=0.1234))
    text, parser = parse(path)
    section = text.index("<h2>Ensemble members</h2>")
    assert table_with(parser, "member") == [["member", "best epoch", "source validation AUC"],
                                            ["1", "3", "0.99"], ["2", "3", "0.98"], ["3", "4", "0.92"]]
    assert dict(table_with(parser, "members' mean spread of prospectivity on the target (SD)")) == {
        "members' mean spread of prospectivity on the target (SD)": "0.123"}
    assert parser.alts[-2:] == ["Source spatial-block validation AUC per member",
                                "Label loss (source) per member; Domain loss per member"]
    assert text.index("Label loss (source) per member") > section
    assert any("ensemble's members disagree strongly" in item and "0.12" in item for item in parser.items)


def test_the_epoch_choice_names_each_rules_epoch_and_the_one_used(tmp_path):
    rows = history(8)
    for row, (entropy, dev, mixval) in zip(rows, [(0.6, 0.9, 0.70), (0.5, 0.4, 0.71), (0.3, 0.5, 0.90),
                                                  (0.2, 0.6, 0.80), (0.25, 0.7, 0.75), (0.4, 0.8, 0.60),
                                                  (0.5, 0.9, 0.60), (0.6, 0.9, 0.60)], strict=True):
        row.update(entropy=entropy, dev=dev, mixval=mixval)
    path = tmp_path / "training.html"
    write_training_report(str(path), rows, {**META, "selection": "entropy"})
    _, parser = parse(path)
    choice = table_with(parser, "rule")
    best_val = max(rows[1:], key=lambda row: row["val_auc"])["epoch"]  # epoch 1 has none
    assert [row[:2] for row in choice[1:]] == [
        ["Best source validation AUC (spatial blocks)", str(best_val)],
        ["Lowest prediction entropy on the target (used)", "4"],
        ["Deep embedded validation (DEV): source loss weighted towards the target", "2"],
        ["MixVal: consistency on mixed target patches", "3"],
        ["Average of the last quarter of the epochs' weights", "mean of 7-8"]]
    assert choice[2][2] == "0.2"
    write_training_report(str(path), history(8), META)  # a model trained before the label-free scores
    _, parser = parse(path)
    assert not any(table and table[0] and table[0][0] == "rule" for table in parser.tables)


def test_a_model_chosen_on_target_drill_holes_reports_their_figures(tmp_path):
    rows = history(4)
    for row, (auc, holes_auc) in zip(rows, [(0.5, 0.70), (0.6, 0.90), (0.7, 0.80), (0.8, 0.85)], strict=True):
        row.update(entropy=auc, dev=auc, mixval=auc, target_holes_auc=holes_auc)
    path = tmp_path / "training.html"
    holes = {"TARGET_AUC": 0.9, "TARGET_AUC_LOW": 0.81, "TARGET_AUC_HIGH": 0.97, "HOLES_VALIDATING": 4,
             "HOLES_TRAINING": 0, "warnings": ["Only 4 drill holes (2 with ore) score the target"]}
    write_training_report(str(path), rows, {**META, "selection": "target_holes", "target_holes": holes})
    text, parser = parse(path)
    choice = table_with(parser, "rule")
    assert choice[-1][:2] == ["Best AUC on the validating target drill holes (used)", "2"]
    assert not any("(used)" in row[0] for row in choice[1:-1])
    figures = dict(table_with(parser, "target AUC on the validating holes"))
    assert figures["95 % interval (bootstrap over whole holes)"] == "0.810 - 0.970"
    assert figures["holes validating"] == "4" and "Only 4 drill holes (2 with ore)" in text


def test_the_feature_gate_is_shown_per_layer_over_ore_barren_and_target(tmp_path):
    attention = {"layers": ["dist_fault", "dip", "density"], "members": 2,
                 "source_ore": {"mean": [0.81, 0.42, 0.5], "sd": [0.02, 0.01, 0.0], "voxels": 120},
                 "source_barren": {"mean": [0.35, 0.44, 0.5], "sd": [0.03, 0.02, 0.0], "voxels": 4000},
                 "target": {"mean": [0.4, 0.6, 0.5], "sd": [0.05, 0.04, 0.0], "voxels": 5000}}
    path = tmp_path / "attention.html"
    write_training_report(str(path), history(), {**META, "attention": attention})
    text, parser = parse(path)
    assert "<h2>Attention: the feature gate</h2>" in text
    rows = table_with(parser, "layer")
    assert rows[0] == ["layer", "source ore (mean weight)", "source barren (mean weight)", "target (mean weight)"]
    assert rows[1] == ["dist_fault", "0.810", "0.350", "0.400"] and rows[-1] == ["voxels", "120", "4000", "5000"]
    assert len(rows) == 5 and parser.alts[-1].startswith("Feature gate: mean weight per evidence layer")
