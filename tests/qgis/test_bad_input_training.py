"""Bad input at training: parameters, features, the device.

Every mistake ends in a message that names the parameter (or layer) and what to do, never a traceback;
no partial output is left behind, and an earlier good output survives a failed or cancelled run."""

import os

import pytest
from algorithm_calls import fails as _fails
from bad_input import qgis_process_fails, train_parameters
from file_state import tree

# --- Training parameters, features, device ------------------------------------------------------------------

@pytest.mark.parametrize("parameters, match", [
    ({"PATCH_SIZE": 4}, r"patch size \(PATCH_SIZE\) must be an odd whole number from 3 to 31, got 4"),
    ({"PATCH_SIZE": 9}, r"patch size 9 \(PATCH_SIZE\) is larger than the source cube \(SOURCE\)"),
    ({"ENSEMBLE_MEMBERS": 2.5}, r"ENSEMBLE_MEMBERS must be a whole number, got 2.5"),  # not rounded to 2 unseen
])
def test_bad_patch_sizes_name_patch_size(tiny_cubes, tmp_path, parameters, match):
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path / "out", **parameters), match)
    assert not (tmp_path / "out").exists()


def test_zero_epochs_is_refused_before_anything_runs(tiny_cubes, tmp_path):
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path / "out", EPOCHS=0),
           r"EPOCHS \(Epochs\) must be a whole number from 1 to 10000; got 0")
    assert not (tmp_path / "out").exists()


def test_a_batch_larger_than_the_samples_keeps_the_earlier_model(tiny_cubes, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    (tmp_path / "training.html").write_text("earlier report")
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path, BATCH_SIZE=100000),
           r"batch size 100000 is larger than the \d+ training samples per epoch.*lower the batch size \(BATCH_SIZE\)")
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"
    assert (tmp_path / "training.html").read_text() == "earlier report"
    assert tree(tmp_path) == ["model.safetensors", "training.html"]


def test_a_target_with_other_features_is_refused(tiny_cubes, tmp_path):
    _fails("mpm3d:train_model", train_parameters(dict(tiny_cubes, target=tiny_cubes["fewer"]), tmp_path / "out"),
           r"SOURCE and TARGET cubes must have the same features in the same order")
    assert not (tmp_path / "out").exists()


def test_a_source_without_labels_or_not_a_cube_is_named(tiny_cubes, tmp_path):
    _fails("mpm3d:train_model", train_parameters(dict(tiny_cubes, source=tiny_cubes["target"]), tmp_path / "out"),
           r"The SOURCE cube .*target\.nc has no labels: stack it again with its label slices \(LABELS\)")
    text = tmp_path / "notes.nc"
    text.write_text("not a cube")
    _fails("mpm3d:train_model", train_parameters(dict(tiny_cubes, source=str(text)), tmp_path / "out"),
           r"SOURCE .*notes\.nc is not a readable cube file \(NetCDF\); give a cube made by 'Stack depth slices")
    assert not (tmp_path / "out").exists()


def test_unwritable_training_outputs_are_named_before_the_worker_starts(tiny_cubes, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path / "file.txt"),
           r"OUTPUT_MODEL: cannot write .*file\.txt/model\.safetensors: .*is a file, not a folder; choose another")
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path, OUTPUT_REPORT=str(tmp_path)),
           r"OUTPUT_REPORT: cannot write .*: it is a folder; give a file name")
    assert tree(tmp_path) == ["file.txt"]


def test_auto_device_falls_back_to_the_cpu(tiny_model):
    import torch

    assert tiny_model["DEVICE_USED"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_a_gpu_is_a_clear_error(tiny_cubes, tmp_path, worker_hook):
    worker_hook("no_cuda")  # the worker's torch sees no GPU, on a machine with CUDA as on one without
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path / "out", DEVICE=1),
           r"CUDA was requested \(DEVICE set to cuda.*no CUDA device; set DEVICE to auto .* or cpu")
    assert not (tmp_path / "out").exists()




def test_qgis_process_zero_epochs(tiny_cubes, qgis_profile, tmp_path):
    qgis_process_fails("mpm3d:train_model", train_parameters(tiny_cubes, str(tmp_path / "out"), EPOCHS=0), qgis_profile,
                        "EPOCHS (Epochs) must be a whole number from 1 to 10000")
    assert not (tmp_path / "out").exists()


def test_the_same_cube_as_source_and_target_is_a_warning_in_qgis(tiny_cubes, tmp_path):
    """Accepted (a user may want the source-only model), but the dialog's log says that nothing is transferred."""
    from algorithm_calls import run
    from bad_input import Recorder

    feedback = Recorder()
    result = run("mpm3d:train_model", train_parameters(dict(tiny_cubes, target=tiny_cubes["source"]), tmp_path),
                 feedback)
    assert os.path.isfile(result["OUTPUT_MODEL"])
    assert [w for w in feedback.warnings if w.startswith("SOURCE and TARGET are the same cube: no transfer happens")]
