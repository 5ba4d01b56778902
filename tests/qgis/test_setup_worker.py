"""'Set up the PyTorch environment' through Processing: from stand-in wheels (no download) to a worker Python
that is selected in the provider's settings, and a Cancel that leaves no folder behind."""

import os

import pytest
from algorithm_calls import run
from fake_wheels import fake_worker_wheels, offline_pip
from qgis.core import QgsProcessingException, QgsProcessingFeedback


@pytest.fixture()
def offline(monkeypatch):
    """pip sees only the test's wheel folder; MPM3D_PYTHON does not override the setting."""
    for name in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", offline_pip()["PIP_CONFIG_FILE"])
    monkeypatch.delenv("MPM3D_PYTHON", raising=False)


@pytest.fixture()
def saved_setting(provider):
    """The worker-Python setting as it was, or unset again: writing back the default would pin a path of this
    test session (the plugin's temporary link) into the settings that later sessions read."""
    from mpm3d.runtime.settings import PYTHON_SETTING
    from processing.core.ProcessingConfig import ProcessingConfig
    from qgis.core import QgsSettings

    setting = ProcessingConfig.settings[PYTHON_SETTING]
    was_set = QgsSettings().contains(setting.qname)
    before = setting.value
    yield
    if was_set:
        ProcessingConfig.setSettingValue(PYTHON_SETTING, before)
    else:
        setting.value = setting.default
        QgsSettings().remove(setting.qname)


def test_setup_makes_the_worker_python_and_selects_it(provider, offline, saved_setting, tmp_path):
    from mpm3d.runtime.process import venv_python
    from mpm3d.runtime.settings import check_worker_python, worker_python
    from qgis.core import QgsApplication

    wheels = fake_worker_wheels(str(tmp_path / "wheels"))
    folder = tmp_path / "mpm3d env 证据"
    result = run("mpm3d:setup_worker", {"FOLDER": folder, "BUILD": 1, "WHEEL_FOLDER": wheels})
    assert result["PYTHON"] == venv_python(str(folder)) and result["TORCH_BUILD"] == "cpu"
    assert worker_python() == result["PYTHON"]
    assert check_worker_python(result["PYTHON"]) == ""
    train = QgsApplication.processingRegistry().algorithmById("mpm3d:train_model")
    assert train.canExecute() == (True, "")


def test_cancel_during_the_install_leaves_no_folder(provider, offline, saved_setting, tmp_path):
    from mpm3d.runtime.settings import worker_python

    class CancelWhenInstalling(QgsProcessingFeedback):
        def setProgressText(self, text):  # noqa: N802 - QGIS API
            super().setProgressText(text)
            if text.startswith("Installing"):
                self.cancel()

    before = worker_python()
    wheels = fake_worker_wheels(str(tmp_path / "wheels"))
    with pytest.raises(QgsProcessingException, match="^Cancelled; no environment was made"):
        run("mpm3d:setup_worker", {"FOLDER": tmp_path / "env", "BUILD": 1, "WHEEL_FOLDER": wheels},
            CancelWhenInstalling())
    assert sorted(os.listdir(tmp_path)) == ["wheels"]
    assert worker_python() == before


def test_a_python_without_torch_is_pointed_to_the_setup(provider, tmp_path, monkeypatch):
    from qgis.core import QgsApplication

    bare = tmp_path / "bare-python"
    bare.write_text('#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n')  # no site packages: no torch
    bare.chmod(0o755)
    monkeypatch.setenv("MPM3D_PYTHON", str(bare))
    ok, message = QgsApplication.processingRegistry().algorithmById("mpm3d:predict_prospectivity").canExecute()
    assert not ok
    assert "Run 'Set up the PyTorch environment'" in message and "qgis_process run mpm3d:setup_worker" in message


def test_from_the_zip_into_a_clean_profile_the_setup_selects_its_python(offline, tmp_path):
    """The plugin as a user gets it (make zip, unpacked into a fresh profile), run headless."""
    import subprocess
    import zipfile

    import qgis_process

    subprocess.run(["make", "-s", "zip", f"DIST_DIR={tmp_path / 'dist'}"], cwd=qgis_process.PLUGIN_DIR, check=True,
                   capture_output=True)
    profile = tmp_path / "profile"
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    zipfile.ZipFile(tmp_path / "dist" / "mpm3d.zip").extractall(plugins)
    qgis_process.run(["plugins", "enable", "mpm3d"], str(profile), check=True)
    wheels = fake_worker_wheels(str(tmp_path / "wheels"))
    finished, parsed = qgis_process.run_algorithm(
        "mpm3d:setup_worker", {"FOLDER": tmp_path / "worker env", "BUILD": 1, "WHEEL_FOLDER": wheels},
        str(profile), timeout=600)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    python = parsed["results"]["PYTHON"]
    assert python == str(tmp_path / "worker env" / "bin" / "python") and os.path.isfile(python)
    settings = (profile / "profiles" / "default" / "QGIS" / "QGIS3.ini").read_text(encoding="utf-8")
    assert f"MPM3D_PYTHON={python}" in settings
