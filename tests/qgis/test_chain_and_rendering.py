"""The shipped Model Designer chain through qgis_process, and the level rasters as a user sees them."""

import json
import os

import numpy as np

CHAIN = "mpm3d:Prospectivity chain (DANN-CTA)"


def test_the_shipped_chain_runs_headless_through_qgis_process(synthetic_slices, qgis_profile, tmp_path):
    import qgis_process

    outputs = {"train:Model file": tmp_path / "model.safetensors", "train:Training report": tmp_path / "train.html",
               "predict:Prospectivity cube": tmp_path / "prospectivity.nc",
               "predict:Prospectivity levels": tmp_path / "levels",
               "evaluate:Evaluation report": tmp_path / "evaluation.html", "evaluate:Metrics": tmp_path / "m.json"}
    run, result = qgis_process.run_algorithm(CHAIN, {
        "source_evidence": synthetic_slices["SOURCE_EVIDENCE"], "source_labels": synthetic_slices["SOURCE_LABELS"],
        "target_evidence": synthetic_slices["TARGET_EVIDENCE"], "target_labels": synthetic_slices["TARGET_LABELS"],
        "method": 0, "epochs": 1, "patch_size": 5, **{k: str(v) for k, v in outputs.items()}}, qgis_profile)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for path in outputs.values():
        assert os.path.exists(path), path
    levels = os.listdir(tmp_path / "levels")
    for kind in ("prospectivity_z", "prospectivity_uncertainty_z", "prospectivity_novelty_z"):
        assert len([name for name in levels if name.startswith(kind)]) == len(synthetic_slices["TARGET_EVIDENCE"])
    metrics = json.load(open(tmp_path / "m.json"))
    assert 0.0 < metrics["auc"] < 1.0 and len(metrics["levels"]) == len(synthetic_slices["TARGET_EVIDENCE"])
    assert result["results"]["predict:Prospectivity cube"] == str(outputs["predict:Prospectivity cube"])


def test_rendered_levels_are_not_blank_and_use_the_ramp(provider, tmp_path):
    """Render a styled level raster to PNG headlessly and look at its colours."""
    from mpm3d.algorithms.base import PROSPECTIVITY_COLOURS
    from mpm3d.core.grid import Grid
    from mpm3d.core.slices import write_slices
    from project import level_layers, render_png
    from qgis.PyQt.QtGui import QColor, QImage

    grid = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 40, 30, [-100, -150])
    ramp = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (2, 30, 1))
    ramp[:, :5, :5] = np.nan  # a nodata corner stays transparent (white background)
    write_slices(str(tmp_path), grid, ramp[None], ["prospectivity"], "p")
    layers = level_layers(str(tmp_path), "test", "p")
    assert [layer.name() for layer in layers] == ["test z -100 m", "test z -150 m"]
    png = render_png(layers[:1], str(tmp_path / "level.png"), size=200)
    image = QImage(png)
    colours = {image.pixel(x, y) for x in range(0, 200, 5) for y in range(0, 200, 5)}
    assert len(colours) > 10, "a blank or single-colour picture"
    low, high = QColor(PROSPECTIVITY_COLOURS[0]), QColor(PROSPECTIVITY_COLOURS[-1])
    left, right = QColor(image.pixel(190, 150)), QColor(image.pixel(195, 150))
    assert abs(QColor(image.pixel(2, 150)).red() - low.red()) < 30
    assert abs(right.green() - high.green()) < 30 and abs(left.blue() - high.blue()) < 60
    assert QColor(image.pixel(2, 2)) == QColor("white")
