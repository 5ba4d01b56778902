"""The Chinese interface: under locale zh_CN the algorithms speak Chinese (in qgis_process and in a QGIS
session), under English they are unchanged, and the catalogue translates every string the code shows."""

import os
import re
import subprocess
import zipfile

import pytest
import qgis_process
from update_translations import CONTEXT, I18N_DIR, catalogue_text, read_catalogue, source_strings, tr_calls

REPO = qgis_process.PLUGIN_DIR
CATALOGUE = os.path.join(I18N_DIR, "mpm3d_zh_CN.ts")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def compiled():
    """The .qm files, built from the .ts files as `make setup` builds them."""
    run = subprocess.run(["make", "-s", "translations"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert os.path.isfile(os.path.join(I18N_DIR, "mpm3d_zh_CN.qm"))


@pytest.fixture()
def chinese(provider, compiled):
    """The zh_CN translator installed for one test, removed after it."""
    from mpm3d.runtime.i18n import load_translator, unload_translator

    assert load_translator("zh_CN").endswith("mpm3d_zh_CN.qm")
    yield
    unload_translator()


def translations() -> dict[str, str]:
    return {source: text for source, (text, _) in read_catalogue(CATALOGUE).items()}


def _train_model():
    from mpm3d.algorithms.train_model import TrainModel

    algorithm = TrainModel()
    algorithm.initAlgorithm()
    return algorithm


def test_an_algorithm_made_after_the_translator_is_loaded_speaks_chinese(chinese):
    zh = translations()
    algorithm = _train_model()
    assert algorithm.displayName() == zh["Train prospectivity model"] and HAN.search(algorithm.displayName())
    assert algorithm.group() == zh["Modelling"]
    labels = algorithm.parameterDefinition("TARGET_LABELS")
    assert labels.description() == zh[TARGET_LABELS_DESCRIPTION]
    assert HAN.search(labels.help()) and all(HAN.search(option) for option in labels.options())
    assert HAN.search(algorithm.shortHelpString()) and algorithm.shortDescription().endswith("\u3002")
    assert all(HAN.search(d.description()) for d in algorithm.parameterDefinitions())
    assert all(HAN.search(o.description()) for o in algorithm.outputDefinitions())
    # what models and qgis_process scripts name stays as it was
    assert (algorithm.name(), algorithm.groupId()) == ("train_model", "modelling")
    assert "TARGET_LABELS" in [d.name() for d in algorithm.parameterDefinitions()]


TARGET_LABELS_DESCRIPTION = "Target drill holes"


def test_the_help_button_opens_the_chinese_page(chinese):
    from urllib.parse import unquote, urlparse

    path = unquote(urlparse(_train_model().helpUrl()).path)
    assert path.endswith("train_model.zh_CN.html")
    assert translations()["Train prospectivity model"] in open(path, encoding="utf-8").read()


def test_the_provider_and_its_messages_speak_chinese(chinese):
    from mpm3d.provider.provider import Mpm3dProvider
    from mpm3d.runtime.settings import check_worker_python

    assert HAN.search(Mpm3dProvider().name()) and Mpm3dProvider().id() == "mpm3d"
    assert HAN.search(check_worker_python("/nonexistent/python3"))


def test_the_worker_gets_the_language_for_cores_texts(chinese, tmp_path):
    """The reports the worker writes are in the interface's language: run_core passes it on."""
    from mpm3d.runtime.environment import PROBE_ANSWER
    from mpm3d.runtime.worker import run_core
    from qgis.core import QgsProcessingFeedback

    python = tmp_path / "python"
    python.write_text('#!/bin/sh\ncase "$2" in *core.cli*) printf \'{"event": "result", "outputs": {"language": '
                      f'"%s"}}}}\\n\' "$MPM3D_LANGUAGE";; *) echo "{PROBE_ANSWER}";; esac\n')
    python.chmod(0o755)
    assert run_core(["--json-lines"], QgsProcessingFeedback(), python=str(python)) == {"language": "zh_CN"}


def test_the_translator_follows_qgis_locale_setting(provider, compiled):
    """locale/userLocale counts only with locale/overrideFlag, as in QGIS; the profile is left as it was."""
    from mpm3d.runtime.i18n import load_translator, unload_translator
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QLocale

    settings = QgsSettings()
    default_locale = QLocale()
    # the desktop's locale, without override
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    keys = ("locale/overrideFlag", "locale/userLocale")
    before = {key: settings.value(key) for key in keys if settings.contains(key)}
    try:
        settings.setValue("locale/userLocale", "zh_CN")
        settings.setValue("locale/overrideFlag", True)
        assert load_translator() and HAN.search(_train_model().displayName())
        settings.setValue("locale/overrideFlag", False)  # Qt's locale then: English here
        assert load_translator() is None and _train_model().displayName() == "Train prospectivity model"
    finally:
        unload_translator()
        QLocale.setDefault(default_locale)
        for key in keys:
            settings.remove(key)
        for key, value in before.items():
            settings.setValue(key, value)
        settings.sync()
    assert {key: settings.value(key) for key in keys if settings.contains(key)} == before


def test_under_english_the_strings_are_unchanged(provider, compiled):
    from mpm3d.runtime.i18n import catalogue, load_translator, unload_translator

    assert catalogue("en_US") is None and catalogue("en") is None and catalogue("fr_FR") is None
    assert catalogue("zh").endswith("mpm3d_zh_CN.qm")  # QGIS's own locale() keeps only the language
    assert catalogue("zh-Hans").endswith("mpm3d_zh_CN.qm")  # what QGIS's Options dialog stores for Chinese
    try:
        assert load_translator("en_GB") is None
        algorithm = _train_model()
        assert algorithm.displayName() == "Train prospectivity model" and algorithm.group() == "Modelling"
        assert algorithm.parameterDefinition("TARGET_LABELS").description() == TARGET_LABELS_DESCRIPTION
        assert not HAN.search(algorithm.shortHelpString()) and algorithm.helpUrl().endswith("/train_model.html")
    finally:
        unload_translator()


def _chinese_profile(root: str) -> str:
    from qgis.PyQt.QtCore import QSettings

    qgis_process.isolated_profile(root)
    ini = QSettings(os.path.join(root, "profiles", "default", "QGIS", "QGIS3.ini"), QSettings.Format.IniFormat)
    ini.setValue("locale/userLocale", "zh_CN")
    ini.setValue("locale/overrideFlag", True)
    ini.sync()
    return root


def test_qgis_process_help_under_zh_cn_is_chinese(compiled, tmp_path_factory):
    profile = _chinese_profile(str(tmp_path_factory.mktemp("profile_zh")))
    zh = translations()
    run = qgis_process.run(["help", "mpm3d:train_model"], profile, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert zh["Train prospectivity model"] in run.stdout
    assert zh["Cube of the well-drilled deposit, with a label variable (1 ore, 0 barren)."] in run.stdout
    assert "TARGET_LABELS" in run.stdout and "Train prospectivity model" not in run.stdout


def test_qgis_process_help_under_english_is_english(compiled, qgis_profile):
    run = qgis_process.run(["help", "mpm3d:train_model"], qgis_profile, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Train prospectivity model" in run.stdout and not HAN.search(run.stdout)


def test_every_string_shown_has_a_finished_chinese_translation(provider):
    strings = source_strings()
    assert len(strings) > 200 and "Train prospectivity model" in strings
    assert tr_calls(), "the QGIS layer's own tr() calls were not found"
    known = read_catalogue(CATALOGUE)
    untranslated = [s for s in strings if not (known.get(s, ("", False))[1] and known[s][0].strip())]
    assert untranslated == [], f"{len(untranslated)} untranslated: run scripts/update_translations.py and translate"
    text = open(CATALOGUE, encoding="utf-8").read()
    assert 'type="unfinished"' not in text
    assert text == catalogue_text("zh_CN", strings, known), "stale catalogue: run scripts/update_translations.py"
    assert f"<name>{CONTEXT}</name>" in text


def test_translations_keep_the_placeholders_and_are_chinese():
    fields = re.compile(r"\{[^{}]*\}")
    for source, text in translations().items():
        assert sorted(fields.findall(source)) == sorted(fields.findall(text)), source
        if HAN.search(source) is None and re.search(r"[a-z]{3} [a-z]{3}", source):  # a sentence, not a symbol
            assert HAN.search(text), source


def test_the_plugin_zip_carries_the_compiled_catalogue(tmp_path):
    run = subprocess.run(["make", "-s", "zip", f"DIST_DIR={tmp_path}"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    names = zipfile.ZipFile(os.path.join(tmp_path, "mpm3d.zip")).namelist()
    assert "mpm3d/i18n/mpm3d_zh_CN.qm" in names and "mpm3d/i18n/core_zh_CN.json" in names
    assert not [name for name in names if name.endswith((".ts", ".gitignore"))]  # the sources stay home
