"""Bad input and failures below the algorithms: atomic output groups, leftovers of a killed writer,
the command line's exit status, and model files that are not what they claim (without running them)."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
from mpm3d.core import atomic, jobs
from mpm3d.core.atomic import atomic_group, atomic_path
from mpm3d.core.data import slices
from mpm3d.core.data.cubefile import CubeReader, write_cube
from mpm3d.core.data.grid import Grid
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.modelfile import FORMAT, load_model
from pickle_payload import CreatesMarker

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture()
def grid():
    return Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 6, 5, [-100, -150, -200])


def _tree(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, dirs, files in os.walk(folder) for name in files + dirs)


def _write(path, text):
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        handle.write(text)


def test_a_group_appears_together_or_not_at_all(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "new" / "deep" / "b.txt"
    first.write_text("earlier")
    with pytest.raises(RuntimeError), atomic_group():
        _write(str(first), "new a")
        _write(str(second), "new b")
        raise RuntimeError("the second writer's job failed after writing")
    assert first.read_text() == "earlier" and _tree(tmp_path) == ["a.txt"]  # no temporaries, no new folders
    with atomic_group():
        _write(str(first), "new a")
        _write(str(second), "new b")
        assert first.read_text() == "earlier"  # nothing shows before the group succeeds
    assert first.read_text() == "new a" and second.read_text() == "new b"


def test_unwritable_paths_are_named_before_anything_is_made(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(Mpm3dError, match=r"cannot write .*file\.txt/out\.nc: .*file\.txt is a file, not a folder"):
        _write(str(blocker / "out.nc"), "x")
    with pytest.raises(Mpm3dError, match="it is a folder; give a file name"):
        _write(str(tmp_path), "x")
    with pytest.raises(Mpm3dError, match="it is a file; choose another folder"):
        atomic.check_output_path(str(blocker), is_folder=True)
    assert _tree(tmp_path) == ["file.txt"]


def test_prediction_outputs_are_all_written_or_none(tmp_path, grid, monkeypatch):
    """A failure while writing the level rasters leaves neither a cube nor a part of the rasters."""
    cube, folder = str(tmp_path / "p.nc"), tmp_path / "levels"
    probability = np.random.default_rng(0).random(grid.shape).astype(np.float32)
    original, calls = slices.write_raster, []

    def failing_write_raster(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise Mpm3dError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(slices, "write_raster", failing_write_raster)
    with pytest.raises(Mpm3dError, match="disk full"):
        jobs.write_prospectivity(cube, grid, {"prospectivity": probability}, str(folder), "p")
    assert _tree(tmp_path) == []
    monkeypatch.setattr(slices, "write_raster", original)
    written = jobs.write_prospectivity(cube, grid, {"prospectivity": probability}, str(folder), "p")
    assert len(written["OUTPUT_LAYERS"]) == 3 and _tree(folder) == sorted(os.path.basename(p)
                                                                           for p in written["OUTPUT_LAYERS"])


def test_evaluation_report_and_json_appear_together(tmp_path, grid, monkeypatch):
    label = np.zeros(grid.shape, np.int8)
    label[0, :2] = 1
    cube = write_cube(str(tmp_path / "p.nc"), grid, label=label,
                      extra={"prospectivity": np.random.default_rng(1).random(grid.shape)})
    report, json_path = tmp_path / "out" / "evaluation.html", tmp_path / "out" / "metrics.json"

    def no_space(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mpm3d.core.results.reports.write_metrics_json", no_space)
    with pytest.raises(OSError):
        jobs.evaluate_job(cube, None, str(report), str(json_path), lambda *a, **k: None)
    assert _tree(tmp_path) == ["p.nc"]


def test_a_label_cube_on_a_shifted_grid_is_refused(tmp_path, grid):
    label = np.zeros(grid.shape, np.int8)
    cube = write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": np.zeros(grid.shape)})
    shifted = Grid(grid.crs, grid.x + 25, grid.y, grid.z)
    labels = write_cube(str(tmp_path / "labels.nc"), shifted, label=label)
    with pytest.raises(Mpm3dError, match=r"LABEL_CUBE .*labels\.nc is not on the grid of the PROSPECTIVITY cube: "
                                         r"extent.*Predict on the cube that carries the labels"):
        jobs.evaluate_job(cube, labels, str(tmp_path / "r.html"), None, lambda *a, **k: None)


def test_level_spacing_is_stored_and_reported():
    attrs, note = slices.level_spacing(np.array([0.0, -50.0, -100.0, -200.0]))
    assert attrs == {"level_spacing": "uneven", "level_gaps_m": [50.0, 50.0, 100.0]}
    assert "not evenly spaced (gaps from 50 to 100 m)" in note
    assert slices.level_spacing(np.array([0.0, -50.0, -100.0]))[1] is None


def _model_header_file(path, metadata, tensor_bytes=16):
    safetensors.numpy.save_file({"network.w": np.zeros(tensor_bytes // 4, np.float32)}, str(path),
                                metadata={"format": FORMAT, "format_version": "1", **metadata})
    return str(path)


def test_model_files_that_are_not_models_name_the_model_parameter(tmp_path):
    truncated = _model_header_file(tmp_path / "cut.safetensors", {})
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[:-8])
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"weights": CreatesMarker(str(marker))}))
    text = tmp_path / "notes.safetensors"
    text.write_text("these are not weights")
    cases = [
        (truncated, r"MODEL file .*cut\.safetensors is truncated .*train the model again"),
        (str(evil), r"MODEL .*evil\.safetensors is not an mpm3d model file .*nothing in it ran"),
        (str(text), r"MODEL .*notes\.safetensors is not an mpm3d model file"),
        (_model_header_file(tmp_path / "v9.safetensors", {"format_version": "9"}),
         r"MODEL file .*v9\.safetensors has format version 9, this mpm3d reads version 1"),
    ]
    for path, match in cases:
        with pytest.raises(Mpm3dError, match=match):
            load_model(path)
    assert not marker.exists()


def _cli(*arguments):
    run = subprocess.run([sys.executable, "-m", "core", "--json-lines", *arguments], cwd=PLUGIN_DIR,
                         capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return run.returncode, [e for e in events if e["event"] == "error"]


def test_the_command_line_says_what_is_wrong_with_exit_status_2(tmp_path, grid):
    cube = write_cube(str(tmp_path / "c.nc"), grid, np.ones((1, *grid.shape), np.float32), ["a"])
    code, errors = _cli("stack", "--evidence", cube, "--out", str(tmp_path / "out.nc"))
    assert code == 2 and "EVIDENCE holds 1 slice(s); a cube needs at least 3 levels" in errors[0]["message"]
    code, errors = _cli("export", "--cube", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "slices"))
    assert code == 2 and "missing.nc is not a readable cube file" in errors[0]["message"]
    assert sorted(os.listdir(tmp_path)) == ["c.nc"]


def test_a_cube_reader_names_its_parameter(tmp_path):
    path = tmp_path / "text.nc"
    path.write_text("not netcdf")
    with pytest.raises(Mpm3dError, match=r"^SOURCE .*text\.nc is not a readable cube file .*'Stack depth slices"):
        CubeReader(str(path), "SOURCE")
