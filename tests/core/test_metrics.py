import json

import numpy as np
import pytest
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.results.metrics import evaluate, mmd_rbf, proxy_a_distance
from sklearn.metrics import roc_auc_score


def synthetic(seed: int = 0, shape=(4, 20, 25)):
    """Prospectivity that is higher on ore, with ties (rounded), NaN holes and unknown labels."""
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(shape) < 0.1, 1, 0).astype(np.int8)
    label[rng.random(shape) < 0.3] = -1
    prospectivity = np.round(np.clip(0.3 + 0.3 * (label == 1) + rng.normal(0, 0.2, shape), 0, 1), 2)
    prospectivity[rng.random(shape) < 0.05] = np.nan
    z = np.array([0.0, -50.0, -100.0, -200.0])[: shape[0]]
    return prospectivity, label, z


def test_auc_matches_sklearn_with_ties():
    prospectivity, label, z = synthetic()
    result = evaluate(prospectivity, label, z)
    known = np.isfinite(prospectivity) & (label >= 0)
    expected = roc_auc_score(label[known], prospectivity[known])
    assert result["auc"] == pytest.approx(expected, abs=1e-12)
    assert result["n_ore"] == int(((label == 1) & known).sum())
    assert result["n_barren"] == int(((label == 0) & known).sum())
    json.dumps(result, allow_nan=False)


def test_per_level_auc_matches_sklearn_and_single_class_level_is_none():
    prospectivity, label, z = synthetic(seed=1)
    label[2][label[2] == 1] = 0  # level 2: barren only
    result = evaluate(prospectivity, label, z)
    assert [level["z"] for level in result["levels"]] == list(z)
    for k, level in enumerate(result["levels"]):
        known = np.isfinite(prospectivity[k]) & (label[k] >= 0)
        if k == 2:
            assert level["auc"] is None and level["n_ore"] == 0 and level["capture_top10"] is None
        else:
            assert level["auc"] == pytest.approx(roc_auc_score(label[k][known], prospectivity[k][known]))


def test_roc_curve_is_monotone_and_downsampled():
    rng = np.random.default_rng(2)
    shape = (10, 60, 60)
    label = (rng.random(shape) < 0.2).astype(np.int8)
    prospectivity = rng.random(shape) + 0.5 * label
    roc = evaluate(prospectivity, label, np.arange(10.0))["roc"]
    assert 2 < len(roc["fpr"]) <= 500
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert roc["fpr"][0] == 0 and roc["tpr"][0] == 0 and roc["fpr"][-1] == 1 and roc["tpr"][-1] == 1
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    assert np.all(np.diff(roc["thresholds"]) < 0)


def test_perfect_ranking_captures_and_crosses_where_expected():
    # 100 voxels, p = 0.00 .. 0.99; the 10 best are ore, the rest barren.
    prospectivity = (np.arange(100) / 100.0).reshape(1, 10, 10)
    label = (prospectivity >= 0.9).astype(np.int8)
    result = evaluate(prospectivity, label, np.array([0.0]))
    assert result["auc"] == 1.0
    assert result["capture_top10"] == pytest.approx(1.0)
    assert result["capture_top5"] == pytest.approx(0.5)
    assert result["capture_top20"] == pytest.approx(1.0)
    success = result["success_rate"]
    assert (
        success["volume_share"][0] == 0 and success["volume_share"][-1] == 1 and success["ore_share"][-1] == 1
    )
    crossing = result["pv"]["intersection"]
    assert crossing["ore_share"] == pytest.approx(1 - crossing["volume_share"])
    assert 0.85 < crossing["threshold"] < 0.95
    assert crossing["volume_share"] == pytest.approx(0.1, abs=0.02)


def test_ties_capture_is_expected_value():
    # All voxels tie: capture in the top 10 % is 10 % of the ore whatever the order.
    prospectivity = np.full((1, 10, 10), 0.5)
    label = np.zeros((1, 10, 10), np.int8)
    label[0, :3] = 1
    result = evaluate(prospectivity, label, np.array([0.0]))
    assert result["auc"] == 0.5
    assert result["capture_top10"] == pytest.approx(0.1)


def test_nan_prospectivity_is_outside_the_volume():
    prospectivity = (np.arange(100) / 100.0).reshape(1, 10, 10)
    label = (prospectivity >= 0.9).astype(np.int8)
    prospectivity[0, :5] = np.nan  # half the voxels are nodata
    result = evaluate(prospectivity, label, np.array([0.0]))
    assert result["n_volume"] == 50
    assert result["capture_top20"] == pytest.approx(1.0)  # 10 ore in 50 voxels


@pytest.mark.parametrize("kept_class", [0, 1])
def test_one_class_only_is_a_clear_error(kept_class):
    prospectivity = np.random.default_rng(0).random((2, 3, 3))
    label = np.full((2, 3, 3), kept_class, np.int8)
    with pytest.raises(Mpm3dError, match="ore" if kept_class == 0 else "barren"):
        evaluate(prospectivity, label, np.array([0.0, -10.0]))


def test_a_prediction_that_is_nodata_everywhere_says_so_not_that_ore_is_missing():
    label = np.zeros((2, 3, 3), np.int8)
    label[0, 0, 0] = 1
    with pytest.raises(Mpm3dError, match=r"^The prospectivity \(PROSPECTIVITY\) is nodata on every voxel, so there "
                                         r"is nothing to score"):
        evaluate(np.full((2, 3, 3), np.nan), label, np.array([0.0, -10.0]))


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(Mpm3dError, match="same"):
        evaluate(np.zeros((2, 3, 3)), np.zeros((2, 3, 4), np.int8), np.array([0.0, -10.0]))
    with pytest.raises(Mpm3dError, match="elevations"):
        evaluate(np.zeros((2, 3, 3)), np.zeros((2, 3, 3), np.int8), np.array([0.0]))


def test_domain_discrepancy_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(600, 5))
    same = rng.normal(size=(600, 5))
    shifted = rng.normal(size=(600, 5)) + 2.0
    assert proxy_a_distance(a, same) < 0.3
    assert proxy_a_distance(a, shifted) > 1.5
    assert mmd_rbf(a, same) < 0.01
    assert mmd_rbf(a, shifted) > 10 * mmd_rbf(a, same)
    assert mmd_rbf(a, shifted, gamma=0.1) > 0


def test_mmd_subsamples_large_inputs_and_drops_nan_rows():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5000, 3))
    a[0] = np.nan
    b = rng.normal(size=(4000, 3)) + 1.0
    assert np.isfinite(mmd_rbf(a, b))
    with pytest.raises(Mpm3dError, match=r"^The MMD needs at least one finite sample from each domain\.$"):
        mmd_rbf(np.full((3, 2), np.nan), b)


def test_roc_points_match_sklearn_when_not_downsampled():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(3)
    prospectivity = np.round(rng.random((2, 8, 8)), 1)
    label = (rng.random((2, 8, 8)) < 0.3).astype(np.int8)
    roc = evaluate(prospectivity, label, np.array([0.0, -10.0]))["roc"]
    fpr, tpr, thresholds = roc_curve(label.ravel(), prospectivity.ravel(), drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    np.testing.assert_allclose(roc["thresholds"][1:], thresholds[1:])


def test_float32_cube_gives_the_same_numbers():
    prospectivity, label, z = synthetic(seed=4)
    as_64 = evaluate(prospectivity, label, z)
    as_32 = evaluate(prospectivity.astype(np.float32), label, z)
    assert as_32["auc"] == pytest.approx(as_64["auc"])
    assert as_32["capture_top10"] == pytest.approx(as_64["capture_top10"])


def test_auc_by_halves_scores_each_half_of_the_volume_on_its_own():
    from mpm3d.core.results.metrics import auc_by_halves

    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, (4, 10, 10)).astype(np.int8)
    by = np.broadcast_to(np.arange(4.0)[:, None, None], label.shape)  # levels 0-1 low, 2-3 high
    prospectivity = np.where(by < 2, label * 0.8 + 0.1, rng.random(label.shape)).astype(np.float32)
    halves = auc_by_halves(prospectivity, label, by)
    assert halves["auc_low"] == 1.0 and 0.3 < halves["auc_high"] < 0.7 and halves["median"] == 1.5
    assert halves["ore_low"] == int(label[:2].sum()) and halves["ore_high"] == int(label[2:].sum())
    label[:2] = 0
    assert auc_by_halves(prospectivity, label, by)["auc_low"] is None


def test_trust_summary_reports_only_the_maps_a_prediction_has():
    from mpm3d.core.results.metrics import auc_by_halves, trust_summary

    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, (3, 8, 8)).astype(np.int8)
    prospectivity = rng.random(label.shape)
    uncertainty = rng.random(label.shape) * 0.2
    novelty = rng.random(label.shape)
    novelty[0] = np.nan  # no novelty on the top level: it counts neither as novel nor as familiar
    assert trust_summary(prospectivity, label) == {}
    assert set(trust_summary(prospectivity, label, uncertainty=uncertainty)) == {
        "mean_uncertainty", "uncertainty_halves", "target_uncertainty_halves"}
    summary = trust_summary(prospectivity, label, uncertainty, novelty)
    assert summary["mean_uncertainty"] == pytest.approx(uncertainty.mean())
    assert summary["novel_share"] == pytest.approx(np.mean(novelty[1:] > 0.5))
    assert summary["novelty_halves"] == auc_by_halves(prospectivity, label, novelty)
    single_network = trust_summary(prospectivity, label, uncertainty=np.zeros(label.shape))
    assert single_network["mean_uncertainty"] == 0.0
    assert single_network["uncertainty_halves"]["auc_low"] is None is single_network["uncertainty_halves"]["auc_high"]
    targets = single_network["target_uncertainty_halves"]
    assert targets["ore_share_low"] is None is targets["ore_share_high"]


def test_ore_share_by_halves_splits_the_top_five_percent_that_extract_targets_keeps():
    from mpm3d.core.data.grid import Grid
    from mpm3d.core.results.metrics import ore_share_by_halves, top_share_cut
    from mpm3d.core.results.targets import extract_targets

    rng = np.random.default_rng(2)
    shape = (4, 25, 20)  # 2,000 voxels: the top 5 % is 100 of them
    prospectivity = rng.random(shape)
    prospectivity[0, 0, :3] = np.nan  # no prediction: not part of the volume that is ranked
    rank = np.argsort(np.argsort(np.where(np.isfinite(prospectivity), prospectivity, -1).ravel())).reshape(shape)
    top = rank >= prospectivity.size - int(np.ceil(np.isfinite(prospectivity).sum() * 0.05))
    assert int(top.sum()) == 100 and top_share_cut(prospectivity, 0.05) == prospectivity[top].min()
    grid = Grid(crs="EPSG:32650", x=10.0 * np.arange(20), y=-10.0 * np.arange(25), z=-20.0 * np.arange(4))
    assert {body["cut"] for body in extract_targets(prospectivity, grid, top_percent=5)} == {
        top_share_cut(prospectivity, 0.05)}  # the targets' own cut
    uncertainty = rng.random(shape)
    label = np.zeros(shape, np.int8)
    label[top & (uncertainty <= np.median(uncertainty[top]))] = 1  # every certain target voxel is ore
    label[top & (uncertainty > np.median(uncertainty[top])) & (rng.random(shape) < 0.25)] = 1
    label[~top & (rng.random(shape) < 0.5)] = 1  # ore outside the top does not count
    label[0, 1, 1] = -1  # unknown: counts neither way
    halves = ore_share_by_halves(prospectivity, label, uncertainty)
    assert halves["ore_share_low"] == 1.0 and 0.1 < halves["ore_share_high"] < 0.4
    assert halves["labelled_low"] + halves["labelled_high"] == int((top & (label >= 0)).sum())
    flipped = ore_share_by_halves(prospectivity, label, -uncertainty)
    assert flipped["ore_share_high"] == 1.0 and flipped["ore_share_low"] == halves["ore_share_high"]


def test_domain_classifiers_fit_on_one_blas_thread(monkeypatch):
    """The proxy A-distance and DEV fit small logistic regressions of many iterations: on one BLAS thread, since
    on a many-core server the threads' synchronisation made each fit 4-5 s (core.results.metrics.one_blas_thread)."""
    from mpm3d.core.learning.selection_scores import deep_embedded_validation
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info

    threads_at_fit = []
    real_fit = LogisticRegression.fit

    def fit(self, *args, **kwargs):
        threads_at_fit.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"])
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", fit)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 4)), rng.normal(0.5, 1.0, size=(300, 4))
    proxy_a_distance(a, b)
    deep_embedded_validation(a, b, a[:50], rng.normal(size=50), (rng.random(50) > 0.5).astype(float), np.ones(50))
    assert len(threads_at_fit) == 3  # two folds of the distance, one for DEV
    # Debian 13's reference BLAS has no thread pool to limit; a threaded BLAS (OpenBLAS, MKL) must run on one
    if any(lib["user_api"] == "blas" for lib in threadpool_info()):
        assert all(threads and set(threads) == {1} for threads in threads_at_fit), threads_at_fit


def test_predictive_entropy_is_zero_where_the_map_decides_and_ln2_where_it_hedges():
    from mpm3d.core.results.metrics import predictive_entropy

    entropy = predictive_entropy(np.array([0.0, 1.0, 0.5, 0.1, np.nan]))
    np.testing.assert_allclose(entropy[:3], [0.0, 0.0, np.log(2)], atol=1e-9)
    assert entropy[3] == pytest.approx(-(0.1 * np.log(0.1) + 0.9 * np.log(0.9)))
    assert np.isnan(entropy[4])
