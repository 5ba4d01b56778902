"""Bad input at prediction: model files that are not good models, cubes that do not fit, outputs that
cannot be written.

Every mistake ends in a message that names the parameter (or layer) and what to do, never a traceback;
no partial output is left behind, and an earlier good output survives a failed or cancelled run."""

import os
import pickle

import pytest
from algorithm_calls import fails as _fails
from bad_input import predict_parameters, qgis_process_fails
from file_state import tree
from pickle_payload import CreatesMarker

# --- Model files and prediction ----------------------------------------------------------------------------

def test_a_model_applied_to_a_cube_with_other_features_is_refused(tiny_model, tiny_cubes, tmp_path):
    _fails("mpm3d:predict_prospectivity", predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["fewer"],
                                                             tmp_path / "out"),
           r"CUBE's features differ from the MODEL's \(names and order must match\)")
    assert not (tmp_path / "out").exists()


def _bad_model(kind, good, folder):
    path = os.path.join(folder, f"{kind}.safetensors")
    data = open(good, "rb").read()
    if kind == "truncated":
        open(path, "wb").write(data[:len(data) // 2])
    elif kind == "not_a_model":
        open(path, "w").write("weights, honestly\n")
    elif kind == "pickle":
        open(path, "wb").write(pickle.dumps({"weights": CreatesMarker(os.path.join(folder, "payload-ran"))}))
    elif kind == "version":
        import json

        import safetensors.numpy

        length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + length])["__metadata__"]
        safetensors.numpy.save_file(safetensors.numpy.load_file(good), path,
                                    metadata={**metadata, "format_version": "99"})
    return path


@pytest.mark.parametrize("kind, match", [
    ("truncated", r"MODEL file .*truncated\.safetensors is truncated .*copy the complete file again"),
    ("not_a_model", r"MODEL .*not_a_model\.safetensors is not an mpm3d model file"),
    ("pickle", r"MODEL .*pickle\.safetensors is not an mpm3d model file .*nothing in it ran"),
    ("version", r"MODEL file .*version\.safetensors has format version 99, this mpm3d reads version 1"),
])
def test_model_files_that_are_not_good_models_are_refused_unrun(tiny_model, tiny_cubes, tmp_path, kind, match):
    path = _bad_model(kind, tiny_model["OUTPUT_MODEL"], str(tmp_path))
    _fails("mpm3d:predict_prospectivity", predict_parameters(path, tiny_cubes["target"], tmp_path / "out"), match)
    assert tree(tmp_path) == [os.path.basename(path)]  # no payload ran, no output


def test_prediction_outputs_that_cannot_be_written_are_named(tiny_model, tiny_cubes, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:predict_prospectivity",
           predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["target"], tmp_path,
                              OUTPUT_FOLDER=str(tmp_path / "file.txt")),
           r"OUTPUT_FOLDER: cannot use .*file\.txt as the output folder: it is a file; choose another folder")
    _fails("mpm3d:predict_prospectivity",
           predict_parameters(tiny_model["OUTPUT_MODEL"], tiny_cubes["target"], tmp_path,
                    OUTPUT_CUBE=str(tmp_path / "file.txt" / "p.nc")),
           r"OUTPUT_CUBE: cannot write .*is a file, not a folder")
    assert tree(tmp_path) == ["file.txt"]




def test_qgis_process_refuses_a_pickled_model_without_running_it(tiny_cubes, qgis_profile, tmp_path):
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"weights": CreatesMarker(str(tmp_path / "payload-ran"))}))
    qgis_process_fails("mpm3d:predict_prospectivity", predict_parameters(str(evil), tiny_cubes["target"],
                                                                         str(tmp_path / "out")),
                        qgis_profile, "is not an mpm3d model file", "MODEL")
    assert tree(tmp_path) == ["evil.safetensors"]


# --- A one-network model and the uncertainty cut ---------------------------------------------------------------

def test_a_one_network_model_writes_no_uncertainty_and_an_uncertainty_cut_on_it_is_refused(
        tiny_model, tiny_cubes, tmp_path):
    """One network has no members' spread: no uncertainty map (not one of zeros), and MAX_UNCERTAINTY on its
    prediction is refused by name; an empty MAX_UNCERTAINTY (the default: no cut) extracts as before."""
    from algorithm_calls import run
    from mpm3d.core.data.cubefile import CubeReader

    predicted = run("mpm3d:predict_prospectivity", predict_parameters(tiny_model["OUTPUT_MODEL"],
                                                                      tiny_cubes["target"], tmp_path / "out"))
    assert predicted["UNCERTAINTY_LAYERS"] == [] and predicted["OUTPUT_LAYERS"]
    assert not CubeReader(predicted["OUTPUT_CUBE"]).has("uncertainty")
    assert not [name for name in os.listdir(tmp_path / "out" / "levels") if "uncertainty" in name]
    _fails("mpm3d:extract_targets", {"PROSPECTIVITY": predicted["OUTPUT_CUBE"], "MAX_UNCERTAINTY": 0.1,
                                     "OUTPUT": str(tmp_path / "t.gpkg")},
           r"^MAX_UNCERTAINTY: the PROSPECTIVITY cube .* has no 'uncertainty' variable")
    assert not (tmp_path / "t.gpkg").exists()
    assert run("mpm3d:extract_targets", {"PROSPECTIVITY": predicted["OUTPUT_CUBE"],
                                         "OUTPUT": str(tmp_path / "t.gpkg")})["TARGETS"] >= 0


def test_an_uncertainty_cut_that_removes_every_voxel_is_named(tiny_cubes, tmp_path):
    import numpy as np
    from mpm3d.core.data.cubefile import CubeReader, write_cube

    grid = CubeReader(tiny_cubes["target"]).grid
    values = np.random.default_rng(0).random(grid.shape).astype(np.float32)
    cube = write_cube(str(tmp_path / "p.nc"), grid, extra={"prospectivity": values,
                                                          "uncertainty": np.full(grid.shape, 0.2, np.float32)})
    above = int(np.sum(values >= 0.5))
    _fails("mpm3d:extract_targets", {"PROSPECTIVITY": cube, "CUT_BY": 1, "MIN_PROBABILITY": 0.5,
                                     "MAX_UNCERTAINTY": 0.1, "OUTPUT": str(tmp_path / "t.gpkg")},
           rf"^MAX_UNCERTAINTY 0.1 removed all {above} voxels above the cut \(probability >= 0.500\): the lowest "
           r"uncertainty among them is 0.2\. Raise MAX_UNCERTAINTY")
    assert sorted(os.listdir(tmp_path)) == ["p.nc"]
