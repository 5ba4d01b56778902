"""Provider settings: which Python runs the worker, and on which device it computes."""

import os
import subprocess
import sys

from processing.core.ProcessingConfig import ProcessingConfig, Setting

from ..core.paths import PLUGIN_DIR
from ..core.settings import DEVICES
from .environment import OTHER_PACKAGES, PROBE_ANSWER, PYTORCH_INDEX, TORCH_VERSION, WORKER_PROBE
from .i18n import tr
from .process import child_process, venv_python

GROUP = "mpm3d"
PYTHON_SETTING = "MPM3D_PYTHON"
DEVICE_SETTING = "MPM3D_DEVICE"
SETUP_ALGORITHM = "mpm3d:setup_worker"


def default_python() -> str:
    """The plugin's own venv where `make setup` made one, else the interpreter of QGIS's prefix.

    sys.executable is not trusted: inside qgis_process it was seen pointing at whatever
    python3 came first on PATH rather than QGIS's own Python.
    """
    venv = venv_python(os.path.join(PLUGIN_DIR, ".venv"))
    if os.path.exists(venv):
        return venv
    if sys.platform == "win32":
        return os.path.join(sys.prefix, "python.exe")
    return os.path.join(sys.prefix, "bin", "python3")


def register_settings() -> None:
    ProcessingConfig.addSetting(Setting(
        GROUP, PYTHON_SETTING, tr("Python interpreter with PyTorch for training and prediction (set by 'Set up the "
                                  "PyTorch environment')"),
        default_python(), valuetype=Setting.FILE))
    ProcessingConfig.addSetting(Setting(
        GROUP, DEVICE_SETTING, tr("Default compute device (auto = CUDA when available)"),
        "auto", valuetype=Setting.SELECTION, options=list(DEVICES)))
    ProcessingConfig.readSettings()


def unregister_settings() -> None:
    for name in (PYTHON_SETTING, DEVICE_SETTING):
        ProcessingConfig.removeSetting(name)


def worker_python() -> str:
    """MPM3D_PYTHON in the environment wins over the setting, which wins over the default."""
    return os.environ.get("MPM3D_PYTHON") or ProcessingConfig.getSetting(PYTHON_SETTING) or default_python()


def default_device() -> str:
    value = ProcessingConfig.getSetting(DEVICE_SETTING)
    if isinstance(value, int):  # older QGIS stores the option index
        value = DEVICES[value]
    return value if value in DEVICES else "auto"


def setup_advice() -> str:
    return tr("Run 'Set up the PyTorch environment' (Processing Toolbox > mpm3d > Setup, or qgis_process run "
              "{algorithm}), which installs PyTorch and selects it here.").format(algorithm=SETUP_ALGORITHM)


def pip_hint(python: str) -> str:
    """The pip command for those who prefer it, naming the CPU build: a plain ``pip install torch`` on Linux
    pulls gigabytes of CUDA libraries."""
    cpu = "" if sys.platform == "darwin" else f"+cpu --extra-index-url {PYTORCH_INDEX}cpu"
    return tr("Or install it into this Python yourself: {command}").format(
        command=f"\"{python}\" -m pip install torch=={TORCH_VERSION}{cpu} {' '.join(OTHER_PACKAGES)}")


def set_worker_python(python: str) -> None:
    """Make ``python`` the worker interpreter (saved in the user's settings) and forget earlier checks of it."""
    ProcessingConfig.setSettingValue(PYTHON_SETTING, python)
    _checked.pop(python, None)


_checked: dict[str, str] = {}


def check_worker_python(python: str | None = None) -> str:
    """'' when the worker interpreter can import torch and GDAL, else what is missing and how to fix it."""
    python = python or worker_python()
    if python in _checked:
        return _checked[python]
    if not os.path.isfile(python):
        problem = tr("The worker Python '{python}' does not exist. {advice} Or set another in Processing > "
                     "Options > Providers > mpm3d, or in the environment variable MPM3D_PYTHON.").format(
            python=python, advice=setup_advice())
    else:
        try:
            run = child_process([python, "-c", WORKER_PROBE]).run(120)
            answered = PROBE_ANSWER in run.stdout
            error = "" if answered else (run.stderr.strip().splitlines() or ["no answer"])[-1]
        except (OSError, subprocess.SubprocessError) as exc:
            answered, error = False, str(exc)
        if answered:
            problem = ""
        elif "Error" in error:  # a Python that lacks a package
            problem = tr("The worker Python '{python}' cannot run mpm3d ({error}). {advice} {hint}").format(
                python=python, error=error, advice=setup_advice(), hint=pip_hint(python))
        else:
            problem = tr("The worker Python '{python}' did not answer as a Python interpreter would ({error}). "
                         "{advice} Or set the Python that has PyTorch in Processing > Options > Providers > "
                         "mpm3d, or in the environment variable MPM3D_PYTHON.").format(
                python=python, error=error, advice=setup_advice())
    _checked[python] = problem
    return problem
