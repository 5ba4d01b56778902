"""A block model runs the whole chain as the rasters do: the synthetic pair stacked from its depth slices, and
the same pair as block-model CSVs imported, trained on with one seed, predicted and scored, give the same model,
the same prospectivity block by block and the same target AUC; the prediction goes back out as a block-model CSV
that reads back unchanged."""

import numpy as np
import pytest
from mpm3d.core import cli, jobs
from mpm3d.core.data.blockmodel import BlockOptions
from mpm3d.core.data.cubefile import CubeReader, read_cube
from safetensors.numpy import load_file

CRS = "EPSG:4528"
TRAINING = ["--method", "dann_cta", "--patch-size", "3", "--epochs", "2", "--batch-size", "16", "--members", "1",
            "--device", "cpu", "--seed", "3"]


def _chain(folder, source_cube, target_cube) -> dict:
    """train -> predict -> evaluate on two cube files, through the command line as a user runs it."""
    model = folder / "model.safetensors"
    assert cli.main(["train", "--source", str(source_cube), "--target", str(target_cube), "--out", str(model),
                     *TRAINING]) == 0
    prediction = folder / "prospectivity.nc"
    assert cli.main(["predict", "--model", str(model), "--cube", str(target_cube), "--out-cube", str(prediction),
                     "--out-folder", str(folder / "levels"), "--device", "cpu"]) == 0
    scores = jobs.evaluate_job(str(prediction), str(target_cube), None, None, lambda *_a, **_k: None)
    return {"weights": load_file(str(model)), "prediction": prediction, "auc": scores["AUC"]}


def _prospectivity(path) -> np.ndarray:
    return CubeReader(str(path)).read_variable("prospectivity")


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory):
    """The pair through the raster path (slices -> stack) and the block-model path (stacked cube -> CSV ->
    import), then the same training, prediction and scores on each."""
    root = tmp_path_factory.mktemp("block_chain")
    pair = jobs.generate_pair(str(root / "slices"), shape=(12, 24, 24), voxel_size=(50.0, 70.0, 70.0), seed=1)
    paths = {}
    for deposit in ("source", "target"):
        stacked = str(root / f"{deposit}_stacked.nc")
        jobs.stack(pair[f"{deposit.upper()}_EVIDENCE"], stacked, pair[f"{deposit.upper()}_LABELS"])
        csv = str(root / f"{deposit}_blocks.csv")
        jobs.export_blocks(stacked, csv)
        imported = str(root / f"{deposit}_imported.nc")
        jobs.import_blocks(csv, imported, BlockOptions(crs=CRS, label="label"))
        paths[deposit] = {"stacked": stacked, "imported": imported}
    for path in ("stacked", "imported"):
        (root / path).mkdir()
        paths[path] = _chain(root / path, paths["source"][path], paths["target"][path])
    return paths


def test_the_imported_cubes_are_the_stacked_cubes(both_paths):
    for deposit in ("source", "target"):
        stacked, imported = (read_cube(both_paths[deposit][path]) for path in ("stacked", "imported"))
        assert imported.feature_names == stacked.feature_names
        np.testing.assert_array_equal(imported.features, stacked.features)
        np.testing.assert_array_equal(imported.label, stacked.label)
        for axis in ("x", "y", "z"):
            np.testing.assert_array_equal(getattr(imported.grid, axis), getattr(stacked.grid, axis))


def test_a_block_model_trains_and_predicts_as_the_rasters_do(both_paths):
    stacked, imported = both_paths["stacked"], both_paths["imported"]
    assert 0.5 < stacked["auc"] < 1.0  # a real score, not a degenerate one
    assert imported["auc"] == stacked["auc"]
    assert imported["weights"].keys() == stacked["weights"].keys() and len(stacked["weights"]) > 10
    for name, weights in stacked["weights"].items():  # the model file's metadata names its cubes: weights only
        assert imported["weights"][name].tobytes() == weights.tobytes(), name
    np.testing.assert_array_equal(_prospectivity(imported["prediction"]), _prospectivity(stacked["prediction"]))


def test_the_prediction_goes_back_out_as_a_block_model(both_paths, tmp_path):
    """Every block with a probability, at its centre, with its value (read by numpy, as any other program would:
    'prospectivity' is a name the cube reserves, so Import block model does not take it as evidence)."""
    prediction = str(both_paths["imported"]["prediction"])
    csv = str(tmp_path / "prospectivity.csv")
    written = jobs.export_blocks(prediction, csv, ["prospectivity"])
    reader = CubeReader(prediction)
    probability = reader.read_variable("prospectivity")
    assert written["BLOCKS"] == int(np.isfinite(probability).sum()) > 0
    rows = np.genfromtxt(csv, delimiter=",", names=True)
    assert rows.dtype.names == ("x", "y", "z", "dx", "dy", "dz", "prospectivity") and len(rows) == written["BLOCKS"]
    grid = reader.grid
    level, row, column = (np.searchsorted(-grid.z, -rows["z"]), np.searchsorted(-grid.y, -rows["y"]),
                          np.searchsorted(grid.x, rows["x"]))
    np.testing.assert_array_equal(grid.z[level], rows["z"])
    np.testing.assert_array_equal(grid.y[row], rows["y"])
    np.testing.assert_array_equal(grid.x[column], rows["x"])
    np.testing.assert_array_equal(rows["prospectivity"].astype(np.float32), probability[level, row, column])
