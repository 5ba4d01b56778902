"""Target drill holes through QGIS: the sample table voxelised by its algorithm, training in validate mode on
the label cube, evaluation away from the holes, and a mode that needs holes refused without them."""

import os

import numpy as np
import pytest
from algorithm_calls import fails, run

# the session's synthetic_slices fixture: 8 levels of 24 x 28 cells of 25 m, 50 m apart, seed 3
TARGET = dict(kind="target", shape=(8, 24, 28), voxel_size=(50.0, 25.0, 25.0), seed=3)


@pytest.fixture(scope="module")
def hole_cubes(synthetic_slices, tmp_path_factory):
    """Both deposits stacked, and 12 inclined holes drilled at the target's anomalies, voxelised by the
    algorithm from the CSV table the command line writes."""
    from mpm3d.core.data.cubefile import read_cube
    from mpm3d.core.data.synthetic import CRS, drill_holes, synthetic_deposit
    from mpm3d.core.data.voxelise import hole_groups
    from qgis.core import QgsVectorLayer

    folder = tmp_path_factory.mktemp("holes")
    source = run("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"],
                                        "LABELS": synthetic_slices["SOURCE_LABELS"],
                                        "OUTPUT": folder / "source.nc"})["OUTPUT"]
    target = run("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["TARGET_EVIDENCE"],
                                        "OUTPUT": folder / "target.nc"})["OUTPUT"]
    table = drill_holes(synthetic_deposit(**TARGET), 12, seed=3, placement="anomaly", dip_deg=60.0)
    csv_path = table.write_csv(str(folder / "target_drill_holes.csv"))
    layer = QgsVectorLayer(f"file://{csv_path}?delimiter=,&xField=x&yField=y&zField=z&crs={CRS}", "holes",
                           "delimitedtext")
    assert layer.isValid()
    voxelised = run("mpm3d:voxelise_samples", {"INPUT": layer, "ORE_FIELD": "ore", "CUBE": target,
                                               "OUTPUT": folder / "target_holes.nc"})
    assert voxelised["USED"] == len(table.samples["x"]) and voxelised["ORE_VOXELS"] > 0
    return {"source": source, "target": target, "holes": voxelised["OUTPUT"], "folder": folder,
            "n_holes": hole_groups(read_cube(voxelised["OUTPUT"]).label)[1]}


def test_validate_mode_scores_the_model_on_the_holes(hole_cubes):
    folder = hole_cubes["folder"]
    result = run("mpm3d:train_model", {
        "SOURCE": hole_cubes["source"], "TARGET": hole_cubes["target"], "METHOD": 3, "EPOCHS": 2, "PATCH_SIZE": 5,
        "BATCH_SIZE": 32, "DEVICE": 2, "ENSEMBLE_MEMBERS": 1, "TARGET_LABELS": 1, "TARGET_HOLES": hole_cubes["holes"],
        "OUTPUT_MODEL": os.path.join(folder, "validated.safetensors"), "OUTPUT_REPORT": ""})
    assert result["HOLES_VALIDATING"] == hole_cubes["n_holes"] and result["HOLES_TRAINING"] == 0
    assert 0 <= result["TARGET_AUC_LOW"] <= result["TARGET_AUC"] <= result["TARGET_AUC_HIGH"] <= 1
    assert result.get("TARGET_CV_AUC") is None


def test_a_mode_that_needs_holes_without_any_is_refused(hole_cubes):
    fails("mpm3d:train_model", {
        "SOURCE": hole_cubes["source"], "TARGET": hole_cubes["target"], "METHOD": 4, "PATCH_SIZE": 5,
        "TARGET_LABELS": 2, "OUTPUT_MODEL": os.path.join(hole_cubes["folder"], "never.safetensors"),
        "OUTPUT_REPORT": ""},
        "TARGET_LABELS 'train' needs the target's drill holes as a label cube \\(TARGET_HOLES\\)")
    assert not os.path.exists(os.path.join(hole_cubes["folder"], "never.safetensors"))


def test_evaluation_leaves_out_the_voxels_near_the_holes(hole_cubes, tmp_path):
    from mpm3d.core.data.cubefile import read_cube, write_cube
    from mpm3d.core.data.synthetic import synthetic_deposit

    truth = synthetic_deposit(**TARGET)
    cube = read_cube(hole_cubes["target"])
    probability = np.where(cube.valid, np.random.default_rng(0).uniform(0, 1, cube.grid.shape), np.nan)
    prediction = write_cube(str(tmp_path / "p.nc"), cube.grid, label=truth.label,
                            extra={"prospectivity": probability.astype(np.float32)})
    plain = run("mpm3d:evaluate_prospectivity", {"PROSPECTIVITY": prediction, "OUTPUT_REPORT": tmp_path / "a.html"})
    away = run("mpm3d:evaluate_prospectivity", {"PROSPECTIVITY": prediction, "HOLES": hole_cubes["holes"],
                                                "HOLE_BUFFER": 2, "OUTPUT_REPORT": tmp_path / "b.html"})
    assert away["N_HOLES"] == hole_cubes["n_holes"] and away["EXCLUDED_VOXELS"] > 0
    assert away["SCORED_VOXELS"] + away["EXCLUDED_VOXELS"] == int(cube.valid.sum())
    assert plain.get("N_HOLES") is None and away["AUC"] != plain["AUC"]


def test_the_generator_drills_target_holes_that_voxelise_from_the_csv_path(provider, tmp_path):
    """The few-holes case as the demo chains it: the generator writes the holes' samples beside the slices,
    and 'Voxelise' reads that CSV by its path (a table with x, y, z fields) into the label the core computes."""
    from mpm3d.core.data.cubefile import read_cube
    from mpm3d.core.data.synthetic import CRS, drill_holes, synthetic_pair
    from mpm3d.core.data.voxelise import hole_groups, voxelise_samples

    shape, cell, spacing = (6, 20, 20), 25.0, 50.0
    data = run("mpm3d:generate_synthetic_pair", {
        "LEVELS": shape[0], "ROWS": shape[1], "COLUMNS": shape[2], "CELL_SIZE": cell, "LEVEL_SPACING": spacing,
        "SEED": 2, "TARGET_DRILL_HOLES": 4, "HOLE_PLACEMENT": 1, "HOLE_DIP": 60, "OUTPUT_FOLDER": tmp_path / "slices"})
    expected = drill_holes(synthetic_pair(shape=shape, voxel_size=(spacing, cell, cell), seed=2)[1], 4, seed=2,
                           placement="anomaly", dip_deg=60.0).samples
    assert data["TARGET_HOLES"] == 4 and data["TARGET_HOLES_CSV"] == str(tmp_path / "slices" / "target_drill_holes.csv")
    assert os.path.exists(str(tmp_path / "slices" / "target_drill_holes.csvt"))
    table = np.genfromtxt(data["TARGET_HOLES_CSV"], delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert len(table) == len(expected["x"]) and np.allclose(table["z"], expected["z"], atol=0.01)
    assert list(table["ore"]) == list(expected["ore"])

    target = run("mpm3d:stack_slices", {"EVIDENCE": data["TARGET_EVIDENCE"], "OUTPUT": tmp_path / "target.nc"})
    voxelised = run("mpm3d:voxelise_samples", {
        "INPUT": data["TARGET_HOLES_CSV"], "X_FIELD": "x", "Y_FIELD": "y", "Z_FIELD": "z", "SAMPLE_CRS": CRS,
        "ORE_FIELD": "ore", "CUBE": target["OUTPUT"], "OUTPUT": tmp_path / "holes.nc"})
    label = read_cube(voxelised["OUTPUT"]).label
    core_label, _ = voxelise_samples(table["x"], table["y"], table["z"], read_cube(target["OUTPUT"]).grid,
                                     ore=table["ore"])
    assert voxelised["USED"] == len(table) and np.array_equal(label, core_label)
    assert hole_groups(label)[1] == 4


def test_the_generator_writes_no_holes_by_default(synthetic_slices):
    assert not synthetic_slices.get("TARGET_HOLES_CSV")
    assert not os.path.exists(os.path.join(synthetic_slices["OUTPUT_FOLDER"], "target_drill_holes.csv"))
