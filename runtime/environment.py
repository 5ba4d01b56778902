"""The worker's Python environment, made from the Python QGIS runs on: which PyTorch build, from where, and how.

Pure Python (no qgis import): the algorithm 'Set up the PyTorch environment' is a thin shell around
``create_environment``. The environment is a virtual environment with the system site packages, because
the worker reads and writes rasters with QGIS's own GDAL and numpy; it is built in a folder beside the
target and renamed into place only once it works, so that a Cancel or a failure leaves nothing half made.
"""

from __future__ import annotations

import json
import ntpath
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..core.i18n import tr as core_tr  # Qt-free: the plugin's language is set there when QGIS loads the translation
from .process import child_process, venv_python, watch

TORCH_VERSION = "2.13.0"
OTHER_PACKAGES = ("safetensors==0.4.5",)
# The block-model formats' libraries (Import / Export block model) and the fast CSV reader, pinned as `make setup`
# pins them (requirements-py311.txt / -py313.txt and their -nodeps files; a test holds the two alike): up to
# Python 3.11 the Debian 12 set, from 3.12 the Debian 13 set (no omf there: omf 1.0.1 does not install on 3.12+,
# geoh5py 0.13 needs 3.12+). geoh5py goes in without its dependencies, whose numpy pin would replace QGIS's.
FORMAT_PACKAGES = {(3, 11): (("pyarrow==25.0.1", "omf==1.0.1", "vtk==9.3.1", "h5py==3.12.1", "pydantic==2.11.7"),
                             ("geoh5py==0.12.2",)),
                   (3, 12): (("pyarrow==25.0.1", "vtk==9.4.2", "h5py==3.12.1", "pydantic==2.11.7"),
                             ("geoh5py==0.13.1",))}
PYTORCH_INDEX = "https://download.pytorch.org/whl/"
# CUDA builds of torch on the PyTorch index, newest first, with the oldest driver (major, minor) each runs on
# (NVIDIA's CUDA toolkit release notes, table 3, for Linux and Windows).
CUDA_BUILDS = (("cu130", {"linux": (580, 65), "win32": (580, 88)}),
               ("cu128", {"linux": (570, 26), "win32": (570, 65)}),
               ("cu126", {"linux": (560, 28), "win32": (560, 76)}))
BUILD_CHOICES = ("auto", "cpu", "cuda")
# What the worker imports: the answer line says it did.
PROBE_ANSWER = "mpm3d worker ready"
WORKER_PROBE = f"import torch, safetensors, numpy; from osgeo import gdal; print({PROBE_ANSWER!r})"
BASE_PROBE = ("import json, sys, importlib.util, numpy; from osgeo import gdal; print(json.dumps({'version': "
              "list(sys.version_info[:2]), 'numpy': numpy.__version__, "
              "'ensurepip': importlib.util.find_spec('ensurepip') is not None}))")
RECORD = "mpm3d-environment.json"
# Shares of the progress bar: make the venv, update pip, install the packages and the formats' ones, check.
STEPS = {"venv": (0.0, 0.1), "pip": (0.1, 0.15), "install": (0.15, 0.8), "formats": (0.8, 0.92),
         "formats_alone": (0.92, 0.95), "check": (0.95, 1.0)}
STEP_NAMES = {"venv": "Making the virtual environment", "pip": "Updating pip", "install": "Installing the packages",
              "formats": "Installing the block-model formats", "formats_alone": "Installing the block-model formats",
              "check": "Checking the environment"}


class SetupError(Exception):
    """The environment could not be made; the message says why and what to do."""


class SetupCancelled(SetupError):
    """Cancel was pressed; nothing was left behind."""


@dataclass(frozen=True)
class TorchBuild:
    """Which torch wheel to install and the extra index that holds it (None: the user's own index)."""

    name: str
    requirement: str
    index_url: str | None
    reason: str


def driver_version(nvidia_smi_output: str | None) -> tuple[int, int] | None:
    """The NVIDIA driver's (major, minor) from ``nvidia-smi`` (its table, or
    ``--query-gpu=driver_version --format=csv,noheader``); None without a working driver."""
    text = nvidia_smi_output or ""
    found = re.search(r"Driver Version:\s*(\d+)\.(\d+)", text) or re.match(r"\s*(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def nvidia_smi_output(environ: Mapping[str, str] | None = None) -> str | None:
    """What ``nvidia-smi`` says about the driver; None where there is none or it fails."""
    try:
        run = child_process(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], environ).run(30)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout if run.returncode == 0 else None


def torch_build(choice: str, nvidia_smi_output: str | None, platform: str = sys.platform) -> TorchBuild:
    """The torch build for ``choice`` (auto, cpu, cuda) on ``platform``, given what ``nvidia-smi`` printed
    (None when it is missing). auto takes the newest CUDA build the driver runs, else the CPU build: an
    unpinned ``pip install torch`` on Linux pulls several GB of CUDA libraries even where no GPU is."""
    if choice not in BUILD_CHOICES:
        raise SetupError(core_tr("BUILD must be one of {choices}, not {choice}.").format(
            choices=", ".join(BUILD_CHOICES), choice=repr(choice)))
    if platform == "darwin":
        if choice == "cuda":
            raise SetupError(core_tr("PyTorch has no CUDA build for macOS; choose auto or cpu (Apple GPUs are used "
                                     "through the standard build)."))
        return TorchBuild("pypi", f"torch=={TORCH_VERSION}", None, core_tr("macOS: the standard build from PyPI"))
    cpu = TorchBuild("cpu", f"torch=={TORCH_VERSION}+cpu", PYTORCH_INDEX + "cpu", "")
    if choice == "cpu":
        return _with_reason(cpu, core_tr("CPU build, as chosen"))
    driver = driver_version(nvidia_smi_output)
    if driver is None:
        if choice == "cuda":
            raise SetupError(core_tr("BUILD cuda: no NVIDIA driver answered (nvidia-smi is missing or failed); "
                                     "install the NVIDIA driver, or choose the CPU build."))
        return _with_reason(cpu, core_tr("CPU build: no NVIDIA GPU found (nvidia-smi is missing or failed)"))
    for tag, minimum in CUDA_BUILDS:
        if driver >= minimum["win32" if platform == "win32" else "linux"]:
            return TorchBuild(tag, f"torch=={TORCH_VERSION}+{tag}", PYTORCH_INDEX + tag,
                              core_tr("CUDA build {tag} for NVIDIA driver {driver}").format(
                                  tag=tag, driver=f"{driver[0]}.{driver[1]}"))
    oldest = CUDA_BUILDS[-1][1]["win32" if platform == "win32" else "linux"]
    too_old = core_tr("NVIDIA driver {driver} is older than the {oldest} the oldest CUDA build of torch {version} "
                      "needs").format(driver=f"{driver[0]}.{driver[1]}", oldest=f"{oldest[0]}.{oldest[1]}",
                                      version=TORCH_VERSION)
    if choice == "cuda":
        raise SetupError(core_tr("BUILD cuda: {reason}; update the driver, or choose the CPU build.").format(
            reason=too_old))
    return _with_reason(cpu, core_tr("CPU build: {reason}").format(reason=too_old))


def _with_reason(build: TorchBuild, reason: str) -> TorchBuild:
    return TorchBuild(build.name, build.requirement, build.index_url, reason)


def base_python_candidates(prefix: str, executable: str, version: Sequence[int], platform: str = sys.platform
                           ) -> list[str]:
    """Where the Python QGIS runs on may be, best first. ``sys.executable`` itself never: inside QGIS it is
    qgis.exe (Windows) or the QGIS application, and in qgis_process it was seen naming whatever python3
    came first on PATH. Windows (OSGeo4W, standalone installer): python3.exe beside qgis.exe in the
    installation's bin folder, then the prefix's python.exe; Linux: the prefix's bin; macOS QGIS.app: also
    the bin folder beside the application's executable."""
    paths = ntpath if platform == "win32" else posixpath
    here = paths.dirname(executable)
    if platform == "win32":
        found = [paths.join(here, "python3.exe"), paths.join(prefix, "python.exe"), paths.join(prefix, "python3.exe")]
    else:
        names = [f"python{version[0]}.{version[1]}", f"python{version[0]}"]
        found = [paths.join(folder, name) for folder in (paths.join(prefix, "bin"), paths.join(here, "bin"))
                 for name in names]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class BasePython:
    """A Python an environment can be made from, as it answered."""

    path: str
    version: tuple[int, int]
    numpy: str
    ensurepip: bool


def probe_base(python: str, environ: Mapping[str, str] | None = None) -> BasePython | None:
    """What ``python`` answers about itself (version, numpy, GDAL, ensurepip); None when it is not a Python
    that has QGIS's numpy and GDAL."""
    if not os.path.isfile(python):
        return None
    try:
        run = child_process([python, "-c", BASE_PROBE], environ).run(60)
        answer = json.loads(run.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return BasePython(python, tuple(answer["version"]), answer["numpy"], answer["ensurepip"])


def find_base_python(candidates: Sequence[str], version: Sequence[int],
                     environ: Mapping[str, str] | None = None) -> BasePython:
    """The first candidate that runs, is QGIS's Python version and has numpy and GDAL, probed in the clean
    environment the worker gets: a launcher that starts only with QGIS's PYTHONHOME is passed over."""
    for candidate in candidates:
        base = probe_base(candidate, environ)
        if base is not None and base.version == tuple(version[:2]):
            return base
    raise SetupError(core_tr("No Python {version} with numpy and GDAL was found among {candidates}; give the "
                             "Python QGIS runs on as BASE_PYTHON.").format(version=f"{version[0]}.{version[1]}",
                                                                          candidates=", ".join(candidates)))


def pip_install_command(python: str, requirements: Sequence[str], build: TorchBuild | None,
                        wheel_folder: str | None, raw_progress: bool) -> list[str]:
    """``python -m pip install`` for ``requirements``: from ``wheel_folder`` alone (offline) when given, else
    from the user's own index plus the PyTorch index of ``build``."""
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "raw" if raw_progress else "off"]
    if wheel_folder:
        command += ["--no-index", "--find-links", wheel_folder]
    elif build is not None and build.index_url:
        command += ["--extra-index-url", build.index_url]
    return command + list(requirements)


def format_requirements(version: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(installed with their dependencies, installed without) for the block-model formats on Python ``version``."""
    return FORMAT_PACKAGES[(3, 11) if tuple(version[:2]) <= (3, 11) else (3, 12)]


def format_install_commands(python: str, version: Sequence[int], numpy: str, wheel_folder: str | None,
                            raw_progress: bool) -> list[list[str]]:
    """The pip commands that install the formats' libraries: QGIS's numpy pinned in the first, so that no
    dependency (vtk's matplotlib) replaces it; the second with --no-deps."""
    with_deps, without = format_requirements(version)
    commands = [pip_install_command(python, [*with_deps, f"numpy=={numpy}"], None, wheel_folder, raw_progress)]
    if without:
        commands.append(pip_install_command(python, ["--no-deps", *without], None, wheel_folder, raw_progress))
    return commands


def pip_progress(line: str) -> tuple[float | None, str | None]:
    """One line of pip's output as (how far the install step is, 0..1, or None; message worth showing or None).
    A download (``--progress-bar raw``) sweeps the first 85 %, one file after another (torch's is the one that
    takes long); unpacking and installing come after."""
    text = line.strip()
    raw = re.fullmatch(r"Progress (\d+) of (\d+)", text)
    if raw:
        total = int(raw.group(2))
        return (0.85 * int(raw.group(1)) / total if total else None), None
    if text.startswith("Installing collected packages"):
        return 0.9, text
    if text.startswith("Successfully installed"):
        return 1.0, text
    if text.startswith(("Collecting ", "Downloading ", "Requirement already satisfied", "ERROR", "WARNING")):
        return None, text
    return None, None


def pip_supports_raw_progress(version_line: str) -> bool:
    """``--progress-bar raw`` (pip 24.1+) prints machine-readable download progress."""
    found = re.match(r"pip (\d+)\.(\d+)", version_line.strip())
    return bool(found) and (int(found.group(1)), int(found.group(2))) >= (24, 1)


Report = Callable[[float | None, str], None]


def create_environment(target: str, base: BasePython, build: TorchBuild, report: Report,
                       cancelled: Callable[[], bool], wheel_folder: str | None = None,
                       requirements: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
                       platform: str = sys.platform) -> str:
    """Make the worker's environment at ``target`` and return its interpreter.

    It is built in a hidden folder beside ``target`` and renamed into place only once the worker's imports
    work there; on Cancel or failure that folder is removed, and an environment already at ``target`` stays
    as it was until the new one replaces it. ``report(fraction, message)`` receives the progress (0..1).
    """
    target = os.path.abspath(target)
    _check_target(target)
    _check_wheel_folder(wheel_folder)
    parent, name = os.path.split(target)
    made = _missing_folders(parent)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{name}.building-", dir=parent)
    except OSError as exc:
        _remove_empty(made)
        raise SetupError(core_tr("FOLDER {folder} cannot be made ({reason}); choose a folder you may write "
                                 "to.").format(folder=target, reason=exc.strerror or exc)) from exc
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would stay with the environment after the rename
    try:
        _build(staging, base, build, report, cancelled, wheel_folder, requirements, environ, platform)
        _swap_into_place(staging, target, platform)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        raise
    python = venv_python(target, platform)
    report(1.0, core_tr("The PyTorch environment is ready: {python}").format(python=python))
    return python


def _build(staging, base, build, report, cancelled, wheel_folder, requirements, environ, platform) -> None:
    if not base.ensurepip:
        raise SetupError(core_tr("{python} cannot make virtual environments (its ensurepip module is missing). On "
                                 "Debian or Ubuntu install it with: sudo apt install python3-venv").format(
            python=base.path))
    run = _runner(report, cancelled, environ, platform)
    report(STEPS["venv"][0], core_tr("Making a virtual environment from {python}").format(python=base.path))
    run("venv", [base.path, "-m", "venv", "--system-site-packages", staging])
    python = venv_python(staging, platform)
    report(STEPS["pip"][0], core_tr("Updating pip (for download progress)"))
    run("pip", pip_install_command(python, ["--upgrade", "pip"], None, wheel_folder, False), must_succeed=False)
    version = run("pip", [python, "-m", "pip", "--version"], must_succeed=False)
    requirements = list(requirements or [build.requirement, *OTHER_PACKAGES]) + [f"numpy=={base.numpy}"]
    report(STEPS["install"][0], core_tr("Installing {packages} ({reason})").format(
        packages=", ".join(requirements), reason=build.reason or build.name))
    raw = pip_supports_raw_progress(version)
    run("install", pip_install_command(python, requirements, build, wheel_folder, raw))
    formats = _install_formats(run, report, python, base, wheel_folder, raw)
    report(STEPS["check"][0], core_tr("Checking that the worker's imports work"))
    answer = run("check", [python, "-c", WORKER_PROBE], must_succeed=False)
    if PROBE_ANSWER not in answer:
        raise SetupError(core_tr("The new environment cannot import what the worker needs: {answer}").format(
            answer=answer.strip()[-800:]))
    with open(os.path.join(staging, RECORD), "w", encoding="utf-8") as record:
        json.dump({"base_python": base.path, "torch_build": build.name, "requirements": requirements,
                   "block_model_formats": formats, "wheel_folder": wheel_folder}, record, indent=1)


def _install_formats(run, report: Report, python: str, base: BasePython, wheel_folder: str | None,
                     raw: bool) -> str:
    """The block-model formats' libraries, as `make setup` installs them. Without them the worker still reads
    slices and CSV files, so a failure here is said, not fatal: 'installed' or 'failed'."""
    packages = [*format_requirements(base.version)[0], *format_requirements(base.version)[1]]
    report(STEPS["formats"][0], core_tr("Installing the block-model formats' libraries: {packages}").format(
        packages=", ".join(packages)))
    commands = format_install_commands(python, base.version, base.numpy, wheel_folder, raw)
    for step, command in zip(("formats", "formats_alone"), commands, strict=False):
        output = run(step, command, must_succeed=False, none_on_failure=True)
        if output is None:
            report(None, core_tr("The block-model formats' libraries ({packages}) did not install; training, "
                                 "prediction and CSV block models work without them, VTK, OMF and geoh5 files "
                                 "need them (run Set up the PyTorch environment again, or install them into this "
                                 "environment with pip).").format(packages=", ".join(packages)))
            return "failed"
    return "installed"


def _runner(report: Report, cancelled: Callable[[], bool], environ, platform):
    """A function that runs one step's command with its output relayed to ``report``; returns the output."""
    def run(step: str, command: list[str], must_succeed: bool = True, none_on_failure: bool = False) -> str | None:
        """The command's output; a failure raises where ``must_succeed``, else returns None with ``none_on_failure``."""
        start, end = STEPS[step]
        seen: list[str] = []

        def relay(line: str) -> None:
            seen.append(line)
            fraction, message = pip_progress(line)
            if fraction is not None or message:
                report(None if fraction is None else start + (end - start) * fraction, message or "")

        finished = watch(child_process(command, environ, platform), relay, cancelled, merge_stderr=True)
        if finished.cancelled:
            raise SetupCancelled(core_tr("Cancelled; no environment was made, an earlier one is as it was."))
        output = "".join(seen)
        if finished.returncode != 0 and must_succeed:
            raise SetupError(core_tr("{step} failed (exit status {code}); nothing was left behind. The last "
                                     "messages: {messages}").format(step=core_tr(STEP_NAMES[step]),
                                                                    code=finished.returncode,
                                                                    messages=output.strip()[-1500:]))
        return None if finished.returncode != 0 and none_on_failure else output
    return run


def _check_target(target: str) -> None:
    """An existing ``target`` is replaced only when it is an environment (or empty), never a folder of files;
    checked before any work, so that a folder under a file fails at once and by name."""
    if os.path.isfile(target):
        raise SetupError(core_tr("FOLDER {folder} is a file; give a folder for the environment.").format(
            folder=target))
    missing = _missing_folders(target)
    above = os.path.dirname(missing[-1]) if missing else target
    if not os.path.isdir(above):
        raise SetupError(core_tr("FOLDER {folder} lies under {file}, which is a file; give a folder for the "
                                 "environment.").format(folder=target, file=above))
    if os.path.isdir(target) and os.listdir(target) and not os.path.isfile(os.path.join(target, "pyvenv.cfg")):
        raise SetupError(core_tr("FOLDER {folder} holds files and is not a Python environment; choose an empty "
                                 "or new folder.").format(folder=target))


def _check_wheel_folder(wheel_folder: str | None) -> None:
    """An offline install from a folder that is missing or holds no wheel would fail only after the venv."""
    if not wheel_folder:
        return
    if not os.path.isdir(wheel_folder):
        raise SetupError(core_tr("WHEEL_FOLDER {folder} is not a folder; give the folder pip download filled, "
                                 "or leave it empty to install from the internet.").format(folder=wheel_folder))
    if not any(name.endswith(".whl") for name in os.listdir(wheel_folder)):
        raise SetupError(core_tr("WHEEL_FOLDER {folder} holds no wheels (.whl files); fill it elsewhere with pip "
                                 "download, or leave it empty to install from the internet.").format(
            folder=wheel_folder))


def _missing_folders(folder: str) -> list[str]:
    """The folders of ``folder``'s path that do not exist yet, deepest first."""
    missing = []
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def _remove_empty(folders: Sequence[str]) -> None:
    """Remove the folders a failed run made (deepest first), so that it leaves no empty parent behind."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return


def _swap_into_place(staging: str, target: str, platform: str) -> None:
    """Rename the finished environment onto ``target``; the one it replaces goes only after that worked."""
    old = None
    if os.path.isdir(target):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    if platform != "win32":
        _repoint_scripts(os.path.join(target, "bin"), staging, target)


def _repoint_scripts(folder: str, staging: str, target: str) -> None:
    """Scripts in the environment (pip, activate) name the folder they were made in; name ``target`` instead.
    The worker itself runs ``python -m``, which does not depend on them."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            content = handle.read()
        if staging.encode() in content:
            with open(path, "wb") as handle:
                handle.write(content.replace(staging.encode(), target.encode()))
