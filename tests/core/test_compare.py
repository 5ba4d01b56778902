"""Comparing methods: several prediction cubes scored against one label cube, through the core's command line."""

import json
import re

import numpy as np
import pytest
from mpm3d.core import cli
from mpm3d.core.data.cubefile import write_cube
from mpm3d.core.data.grid import Grid
from sklearn.metrics import roc_auc_score
from test_reports import parse, table_with


@pytest.fixture(scope="module")
def deposit(tmp_path_factory):
    """A labelled cube and three predictions of it: a sharp one with uncertainty and novelty maps, a blurred
    one with uncertainty only, and a nearly random one with no maps (as an older model file gives)."""
    folder = tmp_path_factory.mktemp("deposit")
    grid = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 20, 16, [-100, -150, -200, -250])
    rng = np.random.default_rng(7)
    label = (rng.random(grid.shape) < 0.1).astype(np.int8)
    label[:, :2] = -1  # unknown along one edge
    nodata = np.zeros(grid.shape, bool)
    nodata[:, -1] = True  # no prediction in the last row
    ore = (label == 1).astype(float)
    predictions = {
        "dann_cta": (0.5 * ore + 0.6 * rng.random(grid.shape), True, True),
        "rf": (0.2 * ore + 0.8 * rng.random(grid.shape), True, False),
        "cnn": (0.02 * ore + rng.random(grid.shape), False, False),
    }
    cubes = {}
    for method, (values, with_uncertainty, with_novelty) in predictions.items():
        maps = {"prospectivity": np.where(nodata, np.nan, np.clip(values, 0, 1))}
        if with_uncertainty:
            maps["uncertainty"] = np.where(nodata, np.nan, 0.1 * rng.random(grid.shape))
        if with_novelty:
            maps["novelty"] = np.where(nodata, np.nan, rng.random(grid.shape))
        (folder / method).mkdir()
        cubes[method] = write_cube(str(folder / method / "prospectivity.nc"), grid, extra=maps,
                                   attrs={"method": method})
    labels = write_cube(str(folder / "target_with_labels.nc"), grid, label=label)
    return {"grid": grid, "label": label, "maps": predictions, "cubes": cubes, "labels": labels, "folder": folder,
            "nodata": nodata}


def compare(capsys, *arguments) -> tuple[int, str]:
    status = cli.main(["compare", *arguments])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_the_report_names_every_method_with_the_auc_of_its_cube(deposit, tmp_path, capsys):
    report, metrics = tmp_path / "compare.html", tmp_path / "compare.json"
    status, out = compare(capsys, "--prospectivity", *deposit["cubes"].values(), "--labels", deposit["labels"],
                          "--report", str(report), "--json", str(metrics))
    assert status == 0, out
    known = (deposit["label"] >= 0) & ~deposit["nodata"]
    expected = {}
    for method, (values, *_) in deposit["maps"].items():
        scores = np.clip(values, 0, 1).astype(np.float32)[known]  # as stored in the cube
        expected[method] = roc_auc_score(deposit["label"][known], scores)
    assert expected["dann_cta"] > expected["rf"] > expected["cnn"]  # the fixture separates them

    text, parser = parse(report)
    side_by_side = table_with(parser, "method")
    assert [row[0] for row in side_by_side[1:]] == ["dann_cta", "rf", "cnn"]  # one row per method, in given order
    columns = side_by_side[0]
    for row in side_by_side[1:]:
        assert row[columns.index("AUC")] == f"{expected[row[0]]:.3f}"
    # uncertainty where a prediction has it, a dash where it has not; novelty only for the one that has it
    uncertainty = {row[0]: row[columns.index("mean uncertainty")] for row in side_by_side[1:]}
    assert uncertainty["cnn"] == "\u2013" and re.fullmatch(r"0\.0\d\d", uncertainty["rf"])
    novelty = {row[0]: row[columns.index("AUC, novel half")] for row in side_by_side[1:]}
    assert novelty["rf"] == novelty["cnn"] == "\u2013" and novelty["dann_cta"] != "\u2013"
    assert f"Highest target AUC: dann_cta ({expected['dann_cta']:.3f}), then rf ({expected['rf']:.3f}), " \
           f"cnn ({expected['cnn']:.3f})." in parser.items
    assert parser.alts == ["ROC curves", "Success-rate curves; The top quarter of the volume", "AUC per level"]
    per_level = table_with(parser, "z")
    assert per_level[0] == ["z", "ore voxels", "AUC dann_cta", "AUC rf", "AUC cnn"] and len(per_level) == 1 + 4

    scores = json.loads(metrics.read_text())
    assert list(scores) == ["dann_cta", "rf", "cnn"]
    for method, auc in expected.items():
        assert scores[method]["auc"] == pytest.approx(auc)
        assert scores[method]["prospectivity"] == deposit["cubes"][method]
    assert "mean_uncertainty" in scores["rf"] and "mean_uncertainty" not in scores["cnn"]
    assert f"AUCS: dann_cta {expected['dann_cta']:.4f}, rf {expected['rf']:.4f}, cnn {expected['cnn']:.4f}" in out


def test_predictions_of_one_method_are_told_apart_by_folder(deposit, tmp_path, capsys):
    copy = tmp_path / "seed1"
    copy.mkdir()
    values = deposit["maps"]["rf"][0]
    other = write_cube(str(copy / "prospectivity.nc"), deposit["grid"], extra={"prospectivity": np.clip(values, 0, 1)},
                       attrs={"method": "rf"})
    metrics = tmp_path / "m.json"
    status, out = compare(capsys, "--prospectivity", deposit["cubes"]["rf"], other, "--labels", deposit["labels"],
                          "--json", str(metrics))
    assert status == 0, out
    assert list(json.loads(metrics.read_text())) == ["rf (rf/prospectivity.nc)", "rf (seed1/prospectivity.nc)"]


def test_one_cube_is_refused_and_points_to_evaluate(deposit, tmp_path, capsys):
    status, out = compare(capsys, "--prospectivity", deposit["cubes"]["rf"], "--labels", deposit["labels"],
                          "--report", str(tmp_path / "r.html"))
    assert status == 2
    assert "needs at least two prospectivity cubes (PROSPECTIVITY), got 1" in out and "Evaluate prospectivity" in out
    assert not list(tmp_path.iterdir())


def test_the_same_cube_twice_is_refused(deposit, tmp_path, capsys):
    rf = deposit["cubes"]["rf"]
    status, out = compare(capsys, "--prospectivity", rf, rf, "--labels", deposit["labels"],
                          "--report", str(tmp_path / "r.html"))
    assert status == 2 and f"{rf} is given twice" in out


def test_cubes_on_different_grids_are_refused_by_name(deposit, tmp_path, capsys):
    grid = deposit["grid"]
    shifted = Grid(grid.crs, grid.x + 25, grid.y, grid.z)
    moved = write_cube(str(tmp_path / "moved.nc"), shifted, extra={"prospectivity": np.full(grid.shape, 0.5)})
    status, out = compare(capsys, "--prospectivity", deposit["cubes"]["rf"], moved, "--labels", deposit["labels"],
                          "--report", str(tmp_path / "r.html"))
    assert status == 2
    assert f"{moved} is not on the grid of {deposit['cubes']['rf']}: extent" in out
    assert "Compare predictions of the same cube" in out
    assert not (tmp_path / "r.html").exists()


def test_labels_are_required_on_the_same_grid(deposit, tmp_path, capsys):
    status, out = compare(capsys, "--prospectivity", deposit["cubes"]["rf"], deposit["cubes"]["cnn"],
                          "--report", str(tmp_path / "r.html"))
    assert status == 2 and "has no label variable" in out and "LABEL_CUBE" in out
