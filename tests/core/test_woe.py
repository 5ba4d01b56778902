"""Weights of evidence (core/results/woe.py) against a hand-computed example, and in the evaluation job and report."""

import json
import math

import numpy as np
import pytest
from mpm3d.core.data.cubefile import save_cube, write_cube
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.jobs import evaluate_job
from mpm3d.core.results.woe import contrast, layer_weights, weights_of_evidence

# N(B∩D) = 6, N(B∩~D) = 4, N(~B∩D) = 2, N(~B∩~D) = 18, so N(D) = 8 and N(~D) = 22; by hand:
# W+ = ln[(6/8)/(4/22)] = ln 4.125 = 1.41707;  W- = ln[(2/8)/(18/22)] = ln 0.305556 = -1.18562
# C = 2.60269;  s(C) = sqrt(1/6 + 1/4 + 1/2 + 1/18) = sqrt(0.972222) = 0.986013;  C/s(C) = 2.63961
HAND = {"w_plus": 1.41707, "w_minus": -1.18562, "contrast": 2.60269, "s_contrast": 0.986013, "studentised": 2.63961}


def test_the_figures_are_the_hand_computed_ones():
    figures = contrast(6, 4, 2, 18)
    for key, value in HAND.items():
        assert figures[key] == pytest.approx(value, abs=1e-5), key
    assert contrast(6, 0, 2, 18) is None  # a weight would be infinite


def _layer():
    """Ten voxels at 10 (6 ore, 4 barren) and twenty at 0 (2 ore, 18 barren), plus a nodata and an unknown voxel."""
    values = np.array([10.0] * 10 + [0.0] * 20 + [np.nan, 10.0])
    label = np.array([1] * 6 + [0] * 4 + [1] * 2 + [0] * 18 + [1, -1], dtype=np.int8)
    return values, label


def test_the_best_cut_of_a_layer_is_found_in_either_direction():
    values, label = _layer()
    high = layer_weights(values, label)
    assert high["direction"] == "high" and high["cut"] == 10.0 and high["share_in_pattern"] == pytest.approx(1 / 3)
    assert (high["n_bd"], high["n_b_not_d"], high["n_not_b_d"], high["n_not_b_not_d"]) == (6, 4, 2, 18)
    for key, value in HAND.items():
        assert high[key] == pytest.approx(value, abs=1e-5), key
    low = layer_weights(-values, label)  # the same pattern, low values favourable
    assert low["direction"] == "low" and low["cut"] == -10.0
    assert low["studentised"] == pytest.approx(high["studentised"])
    assert layer_weights(np.ones(5), np.array([1, 0, 1, 0, 0])) is None  # one value: no cut splits it
    both = weights_of_evidence(np.stack([values, -values]), ["a", "b"], label)
    assert both["a"]["w_plus"] == pytest.approx(both["b"]["w_plus"])


def test_the_evaluation_report_shows_the_weights_of_the_labelled_cubes_evidence(tmp_path):
    source, _ = synthetic_pair(shape=(6, 16, 16), voxel_size=(50.0, 100.0, 100.0), seed=2)
    labels = str(tmp_path / "source.nc")
    save_cube(labels, source)
    fault = source.features[source.feature_names.index("fault_distance")]
    prediction = str(tmp_path / "prediction.nc")
    write_cube(prediction, source.grid, extra={"prospectivity": np.exp(-np.nan_to_num(fault, nan=0.0) / 100.0)})
    report, scores = str(tmp_path / "evaluation.html"), str(tmp_path / "scores.json")
    evaluate_job(prediction, labels, report, scores, lambda *a, **k: None)
    weights = json.load(open(scores, encoding="utf-8"))["weights_of_evidence"]
    assert set(weights) == set(source.feature_names)
    assert weights["fault_distance"]["direction"] == "low"  # ore lies near the fault
    text = open(report, encoding="utf-8").read()
    assert "<h2>Weights of evidence</h2>" in text and "C/s(C)" in text and "fault_distance" in text
    assert all(math.isfinite(w["studentised"]) for w in weights.values() if w)
    without = str(tmp_path / "bare.json")  # no cube with evidence: no weights
    write_cube(str(tmp_path / "labelled.nc"), source.grid, label=source.label,
               extra={"prospectivity": np.exp(-np.nan_to_num(fault, nan=0.0) / 100.0)})
    evaluate_job(str(tmp_path / "labelled.nc"), None, None, without, lambda *a, **k: None)
    assert "weights_of_evidence" not in json.load(open(without, encoding="utf-8"))
