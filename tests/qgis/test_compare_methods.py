"""Compare prospectivity methods through QGIS (Toolbox / processing.run) and through qgis_process."""

import json
import os

import numpy as np
import pytest
from algorithm_calls import fails, run

METHODS = ("dann_cta", "cnn", "rf")
SIGNAL = {"dann_cta": 0.5, "cnn": 0.1, "rf": 0.3}  # how much each fake prediction follows the ore


@pytest.fixture(scope="module")
def predictions(provider, tmp_path_factory):
    """One prediction cube per method on one grid, the labels as a cube and as level slices."""
    from mpm3d.core.data.cubefile import write_cube
    from mpm3d.core.data.grid import Grid
    from mpm3d.core.data.slices import write_slices

    folder = tmp_path_factory.mktemp("predictions")
    grid = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 18, 14, [-100, -150, -200, -250])
    rng = np.random.default_rng(3)
    label = (rng.random(grid.shape) < 0.12).astype(np.int8)
    cubes = []
    for method in METHODS:
        (folder / method).mkdir()
        values = np.clip(SIGNAL[method] * label + rng.random(grid.shape), 0, 1)
        cubes.append(write_cube(str(folder / method / "prospectivity.nc"), grid, attrs={"method": method},
                                extra={"prospectivity": values, "uncertainty": 0.1 * rng.random(grid.shape)}))
    labels = write_cube(str(folder / "labels.nc"), grid, label=label)
    slices = write_slices(str(folder / "label_slices"), grid, label[None], ["label"], "label")
    return {"cubes": cubes, "labels": labels, "slices": slices, "grid": grid, "folder": folder}


def test_the_toolbox_writes_one_report_naming_every_method(predictions, tmp_path, monkeypatch):
    from mpm3d.algorithms.compare_methods import CompareMethods

    def no_layers(self, parameters, name, context):
        assert name != "PROSPECTIVITY", "cube files must not be opened as QGIS layers (a mesh, in QGIS's process)"
        return []

    monkeypatch.setattr(CompareMethods, "parameterAsLayerList", no_layers)
    result = run("mpm3d:compare_methods", {"PROSPECTIVITY": predictions["cubes"], "LABEL_CUBE": predictions["labels"],
                                           "OUTPUT_REPORT": tmp_path / "compare.html",
                                           "OUTPUT_JSON": tmp_path / "compare.json"})
    scores = json.loads(open(result["OUTPUT_JSON"], encoding="utf-8").read())
    assert list(scores) == list(METHODS) and result["METHODS"] == 3
    assert scores["dann_cta"]["auc"] > scores["rf"]["auc"] > scores["cnn"]["auc"]
    report = open(result["OUTPUT_REPORT"], encoding="utf-8").read()
    for method in METHODS:
        assert f'<td class="key">{method}</td>' in report and f"{scores[method]['auc']:.3f}" in report
    assert report.count("<img") == 3
    targets = scores["dann_cta"]["target_uncertainty_halves"]  # ore among the top 5 %, certain / uncertain half
    assert targets["labelled_low"] + targets["labelled_high"] >= 0.05 * np.prod(predictions["grid"].shape)
    assert "<th>ore in targets, certain half</th>" in report
    assert f"{100 * targets['ore_share_low']:.1f} %" in report and f"{100 * targets['ore_share_high']:.1f} %" in report
    assert result["AUCS"] == ", ".join(f"{m} {scores[m]['auc']:.4f}" for m in METHODS)


def test_label_slices_score_as_the_label_cube_does(predictions, tmp_path):
    by_cube = run("mpm3d:compare_methods", {"PROSPECTIVITY": predictions["cubes"], "LABEL_CUBE": predictions["labels"],
                                            "OUTPUT_REPORT": tmp_path / "a.html"})
    by_slices = run("mpm3d:compare_methods", {"PROSPECTIVITY": predictions["cubes"], "LABEL_SLICES": predictions[
        "slices"], "OUTPUT_REPORT": tmp_path / "b.html"})
    assert by_slices["AUCS"] == by_cube["AUCS"]


def test_one_cube_is_a_clear_error(predictions, tmp_path):
    fails("mpm3d:compare_methods", {"PROSPECTIVITY": predictions["cubes"][:1], "LABEL_CUBE": predictions["labels"],
                                    "OUTPUT_REPORT": tmp_path / "r.html"},
          "needs at least two prospectivity cubes .*got 1; to score one cube, use 'Evaluate prospectivity'")
    assert not (tmp_path / "r.html").exists()


def test_cubes_on_different_grids_are_a_clear_error(predictions, tmp_path):
    from mpm3d.core.data.cubefile import write_cube
    from mpm3d.core.data.grid import Grid

    grid = predictions["grid"]
    coarser = Grid.from_geotransform(grid.crs, (40500000, 50, 0, 4130000, 0, -50), 9, 7, grid.z.tolist())
    other = write_cube(str(tmp_path / "coarse.nc"), coarser, extra={"prospectivity": np.full(coarser.shape, 0.5)})
    parameters = {"PROSPECTIVITY": [predictions["cubes"][0], other], "LABEL_CUBE": predictions["labels"],
                  "OUTPUT_REPORT": tmp_path / "r.html"}
    message = fails("mpm3d:compare_methods", parameters, "coarse.nc is not on the grid of")
    assert "Compare predictions of the same cube, one per method" in message


def test_the_report_may_not_overwrite_a_cube(predictions):
    fails("mpm3d:compare_methods", {"PROSPECTIVITY": predictions["cubes"], "LABEL_CUBE": predictions["labels"],
                                    "OUTPUT_REPORT": predictions["cubes"][1]},
          "OUTPUT_REPORT would overwrite the input PROSPECTIVITY")


def test_compare_through_qgis_process(predictions, qgis_profile, tmp_path):
    import qgis_process

    report = tmp_path / "compare.html"
    completed, result = qgis_process.run_algorithm("mpm3d:compare_methods", {
        "PROSPECTIVITY": predictions["cubes"], "LABEL_SLICES": predictions["slices"], "OUTPUT_REPORT": str(report),
        "OUTPUT_JSON": str(tmp_path / "compare.json")}, qgis_profile, timeout=300)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    assert result["results"]["METHODS"] == 3 and os.path.getsize(report) > 10_000
    assert all(method in result["results"]["AUCS"] for method in METHODS)

    completed, _ = qgis_process.run_algorithm("mpm3d:compare_methods", {
        "PROSPECTIVITY": predictions["cubes"][0], "LABEL_SLICES": predictions["slices"],
        "OUTPUT_REPORT": str(tmp_path / "one.html")}, qgis_profile, timeout=300)
    text = completed.stdout + completed.stderr
    assert completed.returncode != 0 and "needs at least two prospectivity cubes" in text, text[-3000:]
    assert "Traceback" not in text
