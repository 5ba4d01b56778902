"""Core's own texts (the reports' titles and headings) through its Qt-free catalogue: Chinese under zh_CN, as
written under English, and every literal ``tr()`` text of core translated in i18n/core_zh_CN.json."""

import ast
import glob
import json
import os
import re

import numpy as np
import pytest
from mpm3d.core import i18n
from mpm3d.core.results.metrics import evaluate
from mpm3d.core.results.reports import write_evaluation_report

CORE = os.path.dirname(os.path.abspath(i18n.__file__))
CATALOGUE = os.path.join(i18n.I18N_DIR, "core_zh_CN.json")
HAN = re.compile(r"[\u4e00-\u9fff]")


def core_tr_texts() -> list[str]:
    """The literal texts given to core's ``tr`` in core/ and its sub-packages (and to the reports' ``note``, which
    translates its text), and to it as ``core_tr`` in the Qt-free runtime modules."""
    texts = []
    scanned = [(path, "tr") for path in sorted(glob.glob(os.path.join(CORE, "**", "*.py"), recursive=True))]
    scanned += [(path, "note") for path in sorted(glob.glob(os.path.join(CORE, "results", "reports", "*.py")))]
    scanned += [(os.path.join(os.path.dirname(CORE), "runtime", "environment.py"), "core_tr")]
    for path, name in scanned:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read(), path)
        texts += [node.args[0].value for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    return texts


@pytest.fixture()
def chinese(monkeypatch):
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "zh_CN")  # what the plugin passes to the worker
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def _report(tmp_path) -> str:
    rng = np.random.default_rng(0)
    label = (rng.random((3, 10, 10)) < 0.2).astype(np.int8)
    prospectivity = np.clip(rng.random((3, 10, 10)) * 0.7 + 0.3 * label, 0, 1)
    path = tmp_path / "evaluation.html"
    write_evaluation_report(str(path), evaluate(prospectivity, label, np.array([0.0, -50.0, -100.0])),
                            {"prospectivity": "pred.nc", "labels": "labels.nc"})
    return path.read_text(encoding="utf-8")


def test_every_core_text_has_a_chinese_translation():
    catalogue = json.load(open(CATALOGUE, encoding="utf-8"))
    texts = core_tr_texts()
    assert len(texts) >= 50
    missing = [text for text in texts if not catalogue.get(text, "").strip()]
    assert missing == []
    fields = re.compile(r"\{[^{}]*\}")
    for source, translation in catalogue.items():
        assert sorted(fields.findall(source)) == sorted(fields.findall(translation)), source
        assert HAN.search(translation), source


def test_the_report_speaks_chinese_under_zh_cn(chinese, tmp_path):
    text = _report(tmp_path)
    assert '<html lang="zh-CN">' in text and "<h1>mpm3d 评价报告（AUC" in text
    assert "<h2>逐层结果</h2>" in text and "由 mpm3d" in text


def test_the_report_is_unchanged_under_english(monkeypatch, tmp_path):
    for locale in ("", "en_US"):
        monkeypatch.setenv(i18n.LANGUAGE_ENV, locale)
        i18n.set_language(None)
        text = _report(tmp_path)
        assert '<html lang="en">' in text and "<h2>Per level</h2>" in text and not HAN.search(text)


def test_the_language_set_in_process_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "en")
    try:
        i18n.set_language("zh_CN")
        assert i18n.tr("Per level") == "逐层结果" and i18n.tr("not in the catalogue") == "not in the catalogue"
        i18n.set_language("fr_FR")  # no catalogue: English
        assert i18n.tr("Per level") == "Per level" and i18n.html_language() == "en"
    finally:
        i18n.set_language(None)
