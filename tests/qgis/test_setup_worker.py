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
    from mpm3d.provider.settings import PYTHON_SETTING
    from processing.core.ProcessingConfig import ProcessingConfig

    before = ProcessingConfig.getSetting(PYTHON_SETTING)
    yield
    ProcessingConfig.setSettingValue(PYTHON_SETTING, before)


def test_setup_makes_the_worker_python_and_selects_it(provider, offline, saved_setting, tmp_path):
    from mpm3d.provider.process import venv_python
    from mpm3d.provider.settings import check_worker_python, worker_python
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
    from mpm3d.provider.settings import worker_python

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
