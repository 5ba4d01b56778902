"""Headless QGIS: the plugin imported as package ``mpm3d`` and its provider registered once."""

import os
import sys

import pytest
from mpm3d.core.package import child_code

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))


@pytest.fixture(scope="session")
def provider(qgis_processing, tmp_path_factory):
    from mpm3d.provider.provider import Mpm3dProvider  # the checkout, loaded as mpm3d by tests/conftest.py
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    if registry.providerById("mpm3d") is None:
        registry.addProvider(Mpm3dProvider())
    return registry.providerById("mpm3d")


@pytest.fixture(scope="session")
def qgis_profile(tmp_path_factory):
    """An isolated QGIS profile with the plugin enabled, for qgis_process runs."""
    import qgis_process

    return qgis_process.isolated_profile(str(tmp_path_factory.mktemp("profile")))


@pytest.fixture(scope="session")
def synthetic_slices(provider, tmp_path_factory):
    """The synthetic pair at test size, written once through the algorithm."""
    import processing

    folder = str(tmp_path_factory.mktemp("synthetic"))
    return processing.run("mpm3d:generate_synthetic_pair", {
        "LEVELS": 8, "ROWS": 24, "COLUMNS": 28, "CELL_SIZE": 25, "LEVEL_SPACING": 50, "SEED": 3,
        "OUTPUT_FOLDER": folder})


@pytest.fixture(scope="session")
def hooked_python(tmp_path_factory):
    """A worker interpreter that runs the real worker with a test hook chosen by MPM3D_TEST_HOOK:
    ``kill_after_progress`` (SIGKILL after the first progress line, like the out-of-memory killer),
    ``kill_in_rasters`` (SIGKILL while the level rasters are being written), ``kill_in_report`` (SIGKILL while
    the training report is being written, the model file already staged), ``kill_in_commit_N`` (SIGKILL
    right after the Nth rename of the commit), ``sigterm_in_commit_N`` (SIGTERM, what Cancel sends, right
    after the Nth rename), ``sigint_after_progress`` (Ctrl-C), ``slow`` (a pause after every progress line,
    so that Cancel lands in the middle of the job), ``no_cuda`` (torch sees no GPU, as on a machine without one)."""
    folder = tmp_path_factory.mktemp("hooked_python")
    hook = folder / "hook.py"
    hook.write_text(child_code(REPO, '''import os, signal, sys, time
import mpm3d.core.atomic, mpm3d.core.cli, mpm3d.core.progress, mpm3d.core.results.reports, mpm3d.core.data.slices
from mpm3d import core
''' + '''hook = os.environ.get("MPM3D_TEST_HOOK", "")
emit = core.progress.Reporter.progress
if hook == "kill_after_progress":
    def progress(self, *args, **kwargs):
        emit(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    core.progress.Reporter.progress = progress
if hook == "sigint_after_progress":  # Ctrl-C in the terminal reaches the worker too
    # as in a terminal: a suite started in the background ignores SIGINT, and the worker would inherit that
    signal.signal(signal.SIGINT, signal.default_int_handler)
    def progress(self, *args, **kwargs):
        emit(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    core.progress.Reporter.progress = progress
if hook == "slow":
    def progress(self, *args, **kwargs):
        emit(self, *args, **kwargs)
        time.sleep(5)
    core.progress.Reporter.progress = progress
if hook == "kill_in_rasters":
    write_raster, calls = core.data.slices.write_raster, []
    def killing_write_raster(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return write_raster(*args, **kwargs)
    core.data.slices.write_raster = killing_write_raster
if hook == "kill_in_report":
    write_report = core.results.reports.write_training_report
    def killing_write_report(path, *args, **kwargs):
        write_report(path, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    core.results.reports.write_training_report = killing_write_report
if hook.startswith(("kill_in_commit", "sigterm_in_commit")):  # a signal between two renames: after the Nth one
    replace, renames = os.replace, []
    sent = signal.SIGKILL if hook.startswith("kill") else signal.SIGTERM
    def signalling_replace(*args, **kwargs):
        replace(*args, **kwargs)
        renames.append(args)
        if len(renames) == int(hook.rsplit("_", 1)[1]):
            os.kill(os.getpid(), sent)
    core.atomic.os.replace = signalling_replace
if hook == "no_cuda":
    import torch
    torch.cuda.is_available = lambda: False
sys.exit(core.cli.main(sys.argv[1:]))
'''))
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\ncase "$2" in *core.cli*) shift 2; exec "{sys.executable}" "{hook}" "$@";; '
                       f'esac\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture()
def worker_hook(monkeypatch, hooked_python):
    """``worker_hook(name)``: the algorithms' worker runs with that test hook of ``hooked_python``."""
    def use(hook: str) -> None:
        monkeypatch.setenv("MPM3D_PYTHON", hooked_python)
        monkeypatch.setenv("MPM3D_TEST_HOOK", hook)
    return use


@pytest.fixture(scope="session")
def tiny_cubes(synthetic_slices, tmp_path_factory):
    """The synthetic pair stacked (source with labels), and the target less its last feature: the cubes the
    bad-input tests feed to training and prediction."""
    from bad_input import derived_cube, drop_last_feature, stack

    folder = tmp_path_factory.mktemp("tiny_cubes")
    return {"source": stack(synthetic_slices["SOURCE_EVIDENCE"], folder / "source.nc",
                            synthetic_slices["SOURCE_LABELS"])["OUTPUT"],
            "target": stack(synthetic_slices["TARGET_EVIDENCE"], folder / "target.nc")["OUTPUT"],
            "fewer": derived_cube(folder / "fewer.nc", str(folder / "target.nc"), drop_last_feature)}


@pytest.fixture(scope="session")
def tiny_model(tiny_cubes, tmp_path_factory):
    """A tiny model, trained with DEVICE auto (which must fall back to the CPU where there is no CUDA)."""
    from algorithm_calls import run
    from bad_input import train_parameters

    return run("mpm3d:train_model", train_parameters(tiny_cubes, str(tmp_path_factory.mktemp("tiny_model")), DEVICE=0))


@pytest.fixture(scope="session")
def random_prospectivity(tiny_cubes, tmp_path_factory):
    """A prospectivity cube on the target grid, without running a model."""
    import numpy as np
    from mpm3d.core.data.cubefile import CubeReader, write_cube

    grid = CubeReader(tiny_cubes["target"]).grid
    values = np.random.default_rng(0).random(grid.shape).astype(np.float32)
    return write_cube(str(tmp_path_factory.mktemp("random_p") / "p.nc"), grid, extra={"prospectivity": values})
