"""Bad input that used to lose the user's data: relative paths, an output over an input, mixed result sets.

Every case checks the files before and after by their SHA-256: a refused or failed run changes nothing.
Also here: non-finite numbers, a model file without its extension, a cube given as a slice, Ctrl-C.
"""

import gc
import hashlib
import os
import signal
import subprocess
import time
import warnings

import numpy as np
import pytest
from algorithm_calls import fails as _fails
from algorithm_calls import run as _run
from bad_input import REPO, TINY, Recorder
from file_state import checksums


@pytest.fixture(scope="module")
def workspace(synthetic_slices, tmp_path_factory):
    """A user's folder: source and target cubes, a tiny model, and a prediction with its levels."""
    folder = tmp_path_factory.mktemp("workspace")
    source = _run("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"],
                                         "LABELS": synthetic_slices["SOURCE_LABELS"],
                                         "OUTPUT": folder / "base" / "source.nc"})["OUTPUT"]
    target = _run("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["TARGET_EVIDENCE"],
                                         "LABELS": synthetic_slices["TARGET_LABELS"],
                                         "OUTPUT": folder / "base" / "target.nc"})["OUTPUT"]
    model = _run("mpm3d:train_model", {"SOURCE": source, "TARGET": target, **TINY,
                                       "OUTPUT_MODEL": folder / "model.safetensors"})["OUTPUT_MODEL"]
    predicted = _run("mpm3d:predict_prospectivity", {"MODEL": model, "CUBE": target, "PREFIX": "p",
                                                     "OUTPUT_CUBE": folder / "run1" / "p.nc",
                                                     "OUTPUT_FOLDER": folder / "run1" / "levels"})
    return {"folder": folder, "source": source, "target": target, "model": model, "prediction": predicted,
            "evidence": list(synthetic_slices["TARGET_EVIDENCE"])}


# --- Relative paths: against the user's folder, never the plugin's ------------------------------------------

def test_qgis_process_reads_and_writes_relative_paths_in_the_folder_it_was_started_in(workspace, qgis_profile,
                                                                                         tmp_path):
    import qgis_process

    os.symlink(os.path.dirname(workspace["source"]), tmp_path / "base")
    plugin_files = checksums(os.path.join(REPO, "core")) | {
        name: hashlib.sha256(open(os.path.join(REPO, name), "rb").read()).hexdigest()
        for name in os.listdir(REPO) if os.path.isfile(os.path.join(REPO, name))}
    run, result = qgis_process.run_algorithm("mpm3d:train_model", {
        "SOURCE": "base/source.nc", "TARGET": "base/target.nc", **TINY,
        "OUTPUT_MODEL": "out/model.safetensors", "OUTPUT_REPORT": "README.md"}, qgis_profile, timeout=300,
        cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (tmp_path / "README.md").read_text().lstrip().startswith("<!DOCTYPE html>")
    assert (tmp_path / "out" / "model.safetensors").stat().st_size > 1000
    assert result["results"]["OUTPUT_MODEL"] == str(tmp_path / "out" / "model.safetensors")
    after = checksums(os.path.join(REPO, "core")) | {
        name: hashlib.sha256(open(os.path.join(REPO, name), "rb").read()).hexdigest()
        for name in os.listdir(REPO) if os.path.isfile(os.path.join(REPO, name))}
    assert after == plugin_files


def test_an_output_inside_the_plugin_folder_is_refused(workspace):
    before = checksums(os.path.join(REPO, "core"))
    _fails("mpm3d:evaluate_prospectivity", {"PROSPECTIVITY": workspace["prediction"]["OUTPUT_CUBE"],
                                            "LABEL_CUBE": workspace["target"],
                                            "OUTPUT_REPORT": os.path.join(REPO, "core", "grid.py")},
           r"OUTPUT_REPORT: will not write .*core/grid\.py: it is inside the mpm3d plugin's own folder")
    assert checksums(os.path.join(REPO, "core")) == before


# --- An output that is an input ------------------------------------------------------------------------------

def test_qgis_process_refuses_a_prediction_over_its_own_cube(workspace, qgis_profile):
    import qgis_process

    before = checksums(workspace["folder"])
    run, _ = qgis_process.run_algorithm("mpm3d:predict_prospectivity", {
        "MODEL": workspace["model"], "CUBE": workspace["target"], "OUTPUT_CUBE": workspace["target"],
        "OUTPUT_FOLDER": workspace["folder"] / "run2"}, qgis_profile, timeout=300)
    text = run.stdout + run.stderr
    assert run.returncode != 0
    assert "OUTPUT_CUBE would overwrite the input CUBE" in text and "Choose another file name for OUTPUT_CUBE" in text
    assert checksums(workspace["folder"]) == before


@pytest.mark.parametrize("case", ["same path", "symbolic link", "hard link", "other spelling"])
def test_an_output_that_is_an_input_is_refused_before_any_work(workspace, tmp_path, case):
    source = workspace["source"]
    if case == "symbolic link":
        os.symlink(source, tmp_path / "link.nc")
        output = str(tmp_path / "link.nc")
    elif case == "hard link":
        os.link(source, tmp_path / "hard.nc")
        output = str(tmp_path / "hard.nc")
    elif case == "other spelling":
        output = os.path.join(os.path.dirname(source), "..", "base", ".", "source.nc")
    else:
        output = source
    before = checksums(workspace["folder"], tmp_path)
    _fails("mpm3d:train_model", {"SOURCE": source, "TARGET": workspace["target"], **TINY,
                                 "OUTPUT_MODEL": tmp_path / "m.safetensors", "OUTPUT_REPORT": output},
           r"OUTPUT_REPORT would overwrite the input SOURCE \(.*source\.nc\): the run would destroy its own input")
    assert checksums(workspace["folder"], tmp_path) == before


def test_a_stack_over_one_of_its_slices_and_two_outputs_in_one_file_are_refused(workspace, tmp_path):
    evidence = workspace["evidence"]
    before = checksums(os.path.dirname(evidence[0]), workspace["folder"])
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence, "OUTPUT": evidence[3]},
           r"OUTPUT would overwrite the input EVIDENCE \(.*evidence_z-\d+\.tif\)")
    _fails("mpm3d:evaluate_prospectivity", {"PROSPECTIVITY": workspace["prediction"]["OUTPUT_CUBE"],
                                            "LABEL_CUBE": workspace["target"],
                                            "OUTPUT_REPORT": tmp_path / "e.html", "OUTPUT_JSON": tmp_path / "e.html"},
           r"OUTPUT_REPORT and OUTPUT_JSON are the same file")
    assert checksums(os.path.dirname(evidence[0]), workspace["folder"]) == before
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("extra, match", [
    ({"PREFIX": "p\nq"}, r"^PREFIX 'p\\nq' holds a control character \(\\n\); remove it"),
    ({"PREFIX": "p" * 240}, r"^OUTPUT_FOLDER: the level raster p{40}\.\.\.p+_novelty_z[-+]\d+\.tif would be 259 bytes "
                            r"long, and a file name may have at most 255; choose a PREFIX of at most 236 bytes"),
    ({"OUTPUT_CUBE": "run\t1.nc"}, r"^OUTPUT_CUBE: the output path .*run\\t1\.nc' holds a control character"),
], ids=["newline-in-prefix", "overlong-prefix", "tab-in-output-name"])
def test_an_output_name_that_cannot_be_written_is_refused_by_name_before_any_work(workspace, tmp_path, extra, match):
    parameters = {"MODEL": workspace["model"], "CUBE": workspace["target"], "PREFIX": "p",
                  "OUTPUT_CUBE": tmp_path / "p.nc", "OUTPUT_FOLDER": tmp_path / "levels"}
    parameters.update({key: tmp_path / value if key == "OUTPUT_CUBE" else value for key, value in extra.items()})
    _fails("mpm3d:predict_prospectivity", parameters, match)
    assert os.listdir(tmp_path) == []


# --- A result set is committed whole, or not at all ---------------------------------------------------------

def _predict(workspace, folder, **extra):
    return {"MODEL": workspace["model"], "CUBE": workspace["target"], "PREFIX": "p",
            "OUTPUT_CUBE": folder / "p.nc", "OUTPUT_FOLDER": folder / "levels", **extra}


@pytest.mark.parametrize("hook", ["kill_in_commit_1", "kill_in_commit_4", "kill_in_commit_33", "sigterm_in_commit_4",
                                  "sigterm_in_commit_34"])
def test_a_worker_stopped_between_the_renames_of_its_commit_leaves_the_earlier_run_intact(
        workspace, tmp_path, worker_hook, hook):
    """SIGKILL after the 1st, 4th or 33rd rename of a prediction's commit (34 in all: 17 files, the cube and the
    prospectivity and novelty levels of the one-network model, each earlier one moved aside first, then the new
    one moved in), or SIGTERM (what Cancel sends) after the 4th or the last:
    every earlier output is back, no new one and no staging folder remains."""
    first = _run("mpm3d:predict_prospectivity", _predict(workspace, tmp_path))
    before = checksums(tmp_path)
    worker_hook(hook)
    how = "stopped with exit code 143" if hook.startswith("sigterm") else \
        r"was killed \(for example by the out-of-memory killer\)"
    _fails("mpm3d:predict_prospectivity", _predict(workspace, tmp_path, DEVICE=2),
           rf"worker process {how}; no output was written")
    assert checksums(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["levels", "p.nc"]
    layers = first["OUTPUT_LAYERS"] + first["NOVELTY_LAYERS"]
    assert len(layers) == 16 and all(os.path.isfile(p) for p in layers) and first["UNCERTAINTY_LAYERS"] == []
    assert not any(entry.is_dir() for entry in os.scandir(tmp_path / "levels"))  # no staging folder left there


def test_level_rasters_of_an_earlier_level_set_are_named_and_left(workspace, tmp_path):
    (tmp_path / "levels").mkdir()
    stale = tmp_path / "levels" / "p_z-9000.tif"
    stale.write_bytes(b"an earlier run's deepest level")
    feedback = Recorder()
    result = _run("mpm3d:predict_prospectivity", _predict(workspace, tmp_path), feedback)
    assert stale.read_bytes() == b"an earlier run's deepest level"
    assert str(stale) not in result["OUTPUT_LAYERS"]
    assert any("OUTPUT_FOLDER also holds 1 raster(s) named like this run's levels that this run did not write "
               "(p_z-9000.tif)" in w and "left as they are" in w for w in feedback.warnings), feedback.warnings


def test_a_prediction_run_leaves_no_open_file_behind(workspace, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        _run("mpm3d:predict_prospectivity", _predict(workspace, tmp_path))
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


# --- Numbers that are not numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [("LAMBDA_MAX", "nan"), ("LEARNING_RATE", "nan"),
                                         ("VALIDATION_FRACTION", "nan"), ("NEGATIVE_RATIO", "inf")])
def test_non_finite_training_numbers_are_refused_by_name(workspace, tmp_path, name, value):
    _fails("mpm3d:train_model", {"SOURCE": workspace["source"], "TARGET": workspace["target"], **TINY,
                                 name: value, "OUTPUT_MODEL": tmp_path / "m.safetensors"},
           rf"{name} \(.*\) must be a number.*(, not |; got ')(nan|inf)'?\.$")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("algorithm, name", [("extract_targets", "TOP_PERCENT"), ("extract_targets", "MIN_PROBABILITY"),
                                             ("voxels_3d", "THRESHOLD")])
def test_a_non_finite_threshold_is_refused_by_name(workspace, tmp_path, algorithm, name):
    _fails(f"mpm3d:{algorithm}", {"PROSPECTIVITY": workspace["prediction"]["OUTPUT_CUBE"], name: "nan",
                                  "OUTPUT": str(tmp_path / "t.gpkg")}, rf"{name} \(.*\) must be a number")
    assert os.listdir(tmp_path) == []


# --- Files that are not what they should be --------------------------------------------------------------

def test_a_model_file_named_without_its_extension(workspace, tmp_path):
    feedback = Recorder()
    trained = _run("mpm3d:train_model", {"SOURCE": workspace["source"], "TARGET": workspace["target"], **TINY,
                                         "OUTPUT_MODEL": tmp_path / "model"}, feedback)
    assert trained["OUTPUT_MODEL"] == str(tmp_path / "model.safetensors")
    os.rename(trained["OUTPUT_MODEL"], tmp_path / "renamed_model")
    predicted = _run("mpm3d:predict_prospectivity", {"MODEL": tmp_path / "renamed_model", "CUBE": workspace["target"],
                                                     "OUTPUT_CUBE": tmp_path / "p.nc",
                                                     "OUTPUT_FOLDER": tmp_path / "levels"})
    assert len(predicted["OUTPUT_LAYERS"]) == 8


def test_a_cube_given_as_evidence_slices_is_named(workspace, tmp_path):
    _fails("mpm3d:stack_slices", {"EVIDENCE": workspace["evidence"][:3] + [workspace["target"]],
                                  "OUTPUT": tmp_path / "c.nc"},
           r"EVIDENCE: .*target\.nc is a cube file; give depth-slice rasters .*'Export cube to depth slices'")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("algorithm", ["extract_targets", "voxels_3d"])
def test_an_empty_cube_file_names_the_prospectivity_parameter(tmp_path, algorithm):
    (tmp_path / "empty.nc").write_bytes(b"")
    _fails(f"mpm3d:{algorithm}", {"PROSPECTIVITY": tmp_path / "empty.nc", "OUTPUT": str(tmp_path / "t.gpkg")},
           r"^PROSPECTIVITY .*empty\.nc is empty \(0 bytes\)")
    assert os.listdir(tmp_path) == ["empty.nc"]


# --- Ctrl-C --------------------------------------------------------------------------------------------------

def test_an_interrupted_worker_reads_as_a_cancel(workspace, tmp_path, worker_hook):
    worker_hook("sigint_after_progress")
    (tmp_path / "m.safetensors").write_bytes(b"earlier model")
    message = _fails("mpm3d:train_model", {"SOURCE": workspace["source"], "TARGET": workspace["target"], **TINY,
                                           "OUTPUT_MODEL": tmp_path / "m.safetensors"},
                     r"^Cancelled \(interrupted\); no output was written")
    assert "BATCH_SIZE" not in message
    assert checksums(tmp_path) == {str(tmp_path / "m.safetensors"): hashlib.sha256(b"earlier model").hexdigest()}


def test_ctrl_c_to_qgis_process_cancels_with_a_failure_status(workspace, qgis_profile, tmp_path, hooked_python):
    import qgis_process

    (tmp_path / "m.safetensors").write_bytes(b"earlier model")
    env = dict(qgis_process.environment(qgis_profile), MPM3D_PYTHON=hooked_python, MPM3D_TEST_HOOK="slow")
    arguments = qgis_process.parameter_arguments({"SOURCE": workspace["source"], "TARGET": workspace["target"],
                                                  **TINY, "OUTPUT_MODEL": tmp_path / "m.safetensors"})
    process = subprocess.Popen([qgis_process.qgis_process_command(), "run", "mpm3d:train_model", "--", *arguments],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output = []
    for line in process.stdout:  # wait until the worker has reported progress, then press Ctrl-C
        output.append(line)
        if "Reading cubes" in line or "Epoch" in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    started = time.monotonic()
    output.append(process.communicate(timeout=60)[0])
    text = "".join(output)
    assert process.returncode != 0, text[-2000:]
    assert "Cancelled" in text and "Traceback" not in text, text[-2000:]
    assert time.monotonic() - started < 30
    assert (tmp_path / "m.safetensors").read_bytes() == b"earlier model"
    assert not np.any([name.startswith(".mpm3d-staging") for name in os.listdir(tmp_path)])


# --- Failures injected where they hurt: while writing and between the renames of a commit -------------------

@pytest.mark.parametrize("hook", ["kill_in_report", "kill_in_commit_2"])
def test_a_training_worker_killed_between_model_and_report_keeps_the_earlier_pair(workspace, tmp_path, worker_hook,
                                                                                  hook):
    """The worker dies with the new model staged and its report just written, or two renames into the commit
    of model + report (earlier model aside, new model in): the earlier model and report are both back, byte for
    byte, and nothing else is there."""
    parameters = {"SOURCE": workspace["source"], "TARGET": workspace["target"], **TINY,
                  "OUTPUT_MODEL": tmp_path / "m.safetensors", "OUTPUT_REPORT": tmp_path / "r.html"}
    _run("mpm3d:train_model", parameters)
    before = checksums(tmp_path)
    worker_hook(hook)
    _fails("mpm3d:train_model", {**parameters, "SEED": 7}, r"worker process was killed")
    assert checksums(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["m.safetensors", "r.html"]


def test_a_stack_that_fails_while_writing_or_committing_keeps_the_earlier_cube(workspace, tmp_path, monkeypatch):
    """Stacking runs inside QGIS, not in the worker: a writer that fails half-way, and a rename that fails,
    both leave the earlier cube as it was and nothing half-made."""
    from mpm3d.core import atomic
    from mpm3d.core.data import cubefile
    output = tmp_path / "cube.nc"
    parameters = {"EVIDENCE": workspace["evidence"], "OUTPUT": output}
    _run("mpm3d:stack_slices", parameters)
    before = checksums(tmp_path)

    def disk_full(*_args):  # the disk fills while the cube's attributes are written, deep inside the writer
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cubefile, "_string_attribute", disk_full)
    _fails("mpm3d:stack_slices", parameters, r"^cannot write .*cube\.nc: No space left on device; nothing was "
                                             r"replaced")
    assert checksums(tmp_path) == before
    monkeypatch.undo()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src, None, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse)
    _fails("mpm3d:stack_slices", parameters, r"cannot write .*cube\.nc: Permission denied; nothing was replaced")
    monkeypatch.undo()
    assert checksums(tmp_path) == before and os.listdir(tmp_path) == ["cube.nc"]
