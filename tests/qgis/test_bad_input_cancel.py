"""A worker that dies and Cancel, at every stage: no output, earlier files as they were."""

from algorithm_calls import fails as _fails
from algorithm_calls import run as _run
from bad_input import CANCELLED, Recorder, predict_parameters, train_parameters
from file_state import checksums, tree

# --- A worker that dies, and Cancel at every stage ----------------------------------------------------------

def test_a_training_worker_killed_mid_run_is_a_clear_error(tiny_cubes, tmp_path, worker_hook):
    worker_hook("kill_after_progress")
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path),
           r"worker process was killed \(for example by the out-of-memory killer\); no output was written\. "
           r"Lower BATCH_SIZE or PATCH_SIZE\.")
    assert tree(tmp_path) == ["model.safetensors"]
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"


def test_a_prediction_worker_killed_while_writing_leaves_neither_cube_nor_rasters(
        tiny_model, tiny_cubes, tmp_path, worker_hook):
    """SIGKILL while the second level raster is written, over an earlier run: no new file, no half-written raster,
    and the earlier cube and rasters byte for byte; into a new folder: not even the folder."""
    _run("mpm3d:predict_prospectivity", predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["target"],
                                                           tmp_path / "earlier"))
    before = checksums(tmp_path), tree(tmp_path)
    worker_hook("kill_in_rasters")
    for folder in ("earlier", "new"):
        _fails("mpm3d:predict_prospectivity", predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["target"],
                                                                 tmp_path / folder),
               r"worker process was killed .*no output was written\. Lower CHUNK_VOXELS\.")
    assert (checksums(tmp_path), tree(tmp_path)) == before  # "new" was never made


def test_cancel_while_stacking_leaves_no_cube(synthetic_slices, tmp_path):
    feedback = Recorder(cancel=True)
    _fails("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"],
                                  "LABELS": synthetic_slices["SOURCE_LABELS"],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"}, CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()


def test_cancel_while_training_leaves_no_model(tiny_cubes, tmp_path, worker_hook):
    worker_hook("slow")
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    feedback = Recorder(cancel=True)
    _fails("mpm3d:train_model", train_parameters(tiny_cubes, tmp_path), CANCELLED, feedback)
    assert feedback.isCanceled()
    assert tree(tmp_path) == ["model.safetensors"]
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"


def test_cancel_while_predicting_leaves_no_cube_and_no_rasters(tiny_model, tiny_cubes, tmp_path, worker_hook):
    worker_hook("slow")
    feedback = Recorder(cancel=True)
    _fails("mpm3d:predict_prospectivity", predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["target"],
                                                             tmp_path / "out"),
           CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()
