"""Set up the PyTorch environment: the worker's Python made from inside QGIS (see runtime.environment)."""

import os
import sys

from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)

from ..runtime.environment import (
    BUILD_CHOICES,
    SetupError,
    base_python_candidates,
    create_environment,
    find_base_python,
    nvidia_smi_output,
    probe_base,
    torch_build,
)
from ..runtime.i18n import tr
from ..runtime.settings import set_worker_python
from .base import Mpm3dAlgorithm
from .qgis_enums import FILE_FOLDER

BUILD_LABELS = ["auto: CUDA when an NVIDIA driver answers, else CPU", "CPU only", "CUDA (NVIDIA GPU)"]


def default_folder() -> str:
    """Beside the user's QGIS profile, not in the plugin folder (which an update of the plugin replaces); one
    per Python version, since an environment works only with the Python it was made from."""
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "mpm3d",
                        f"worker-python{sys.version_info[0]}.{sys.version_info[1]}")


class SetupWorker(Mpm3dAlgorithm):
    NAME = "setup_worker"
    DISPLAY = "Set up the PyTorch environment"
    GROUP = "Setup"
    SUMMARY = (
        "Makes the Python environment that training and prediction run in: a virtual environment of the Python "
        "QGIS runs on (so it keeps QGIS's GDAL and numpy) with PyTorch and safetensors installed, and the "
        "libraries of the block-model formats (VTK, OMF, geoh5) and the fast CSV reader (pyarrow) as make setup "
        "pins them, then selects it in Processing > Options > Providers > mpm3d. The CPU build of PyTorch is "
        "installed unless an NVIDIA driver answers, then the CUDA build that driver runs. It downloads about 200 "
        "MB (CPU) to a few GB (CUDA) and can be cancelled at any time: the environment is built beside its folder "
        "and moved there only once it works, so a cancelled or failed run leaves nothing behind and an earlier "
        "environment as it was."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFolderDestination("FOLDER", "Environment folder", default_folder(), True),
                 "Where the environment goes; by default mpm3d/worker-python3.X in your QGIS profile folder, "
                 "outside the plugin, so that updating the plugin keeps it. An environment already there is "
                 "replaced once the new one works; a folder holding other files is refused.")
        self.add(QgsProcessingParameterEnum("BUILD", "PyTorch build", BUILD_LABELS, defaultValue=0),
                 "auto asks nvidia-smi for the driver version and takes the newest CUDA build it runs; CPU only "
                 "is the smallest download; CUDA fails with the reason when no suitable driver answers.")
        self.add(QgsProcessingParameterFile("WHEEL_FOLDER", "Offline wheel folder",
                                            FILE_FOLDER, optional=True),
                 "Install from this folder of downloaded wheels only, without the internet (for a computer "
                 "offline: fill it elsewhere with pip download).", advanced=True)
        self.add(QgsProcessingParameterFile("BASE_PYTHON", "Base Python", optional=True),
                 "The Python the environment is made from. Empty: the Python QGIS runs on, found in its "
                 "installation (never qgis.exe). It must have QGIS's numpy and GDAL.", advanced=True)
        self.addOutput(QgsProcessingOutputString("PYTHON", "Worker Python"))
        self.addOutput(QgsProcessingOutputString("TORCH_BUILD", "PyTorch build"))

    def execute(self, parameters, context, feedback):
        folder = self.folder_value(parameters, "FOLDER", context) or default_folder()
        wheels = self.parameterAsFile(parameters, "WHEEL_FOLDER", context) or None
        choice = BUILD_CHOICES[self.parameterAsEnum(parameters, "BUILD", context)]
        try:
            base = self._base_python(parameters, context)
            build = torch_build(choice, None if choice == "cpu" else nvidia_smi_output())
            feedback.pushInfo(tr("Base Python: {path} (Python {version}, numpy {numpy}); PyTorch: {reason}.").format(
                path=base.path, version=f"{base.version[0]}.{base.version[1]}", numpy=base.numpy,
                reason=build.reason))
            python = create_environment(folder, base, build, _reporter(feedback), feedback.isCanceled, wheels)
        except SetupError as exc:
            raise QgsProcessingException(str(exc)) from exc
        set_worker_python(python)
        feedback.pushInfo(tr("Training and prediction now run in {python}.").format(python=python))
        if os.environ.get("MPM3D_PYTHON"):
            feedback.pushWarning(tr("The environment variable MPM3D_PYTHON ({python}) still overrides this setting; "
                                    "unset it to use the new environment.").format(
                python=os.environ["MPM3D_PYTHON"]))
        return {"PYTHON": python, "TORCH_BUILD": build.name}

    def _base_python(self, parameters, context):
        given = self.parameterAsFile(parameters, "BASE_PYTHON", context)
        if not given:
            return find_base_python(base_python_candidates(sys.prefix, sys.executable, sys.version_info),
                                    sys.version_info)
        base = probe_base(given)
        if base is None:
            raise SetupError(tr("BASE_PYTHON {python} does not run as a Python with numpy and GDAL.").format(
                python=given))
        return base


def _reporter(feedback):
    """pip's progress on the bar, its messages under the bar (which the log keeps too)."""
    def report(fraction, message: str) -> None:
        if fraction is not None:
            feedback.setProgress(100.0 * fraction)
        if message:
            feedback.setProgressText(message)
    return report
