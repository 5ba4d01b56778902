"""Dense prediction: equal to one patch per voxel, independent of chunking, streamable, nodata-aware."""

import dataclasses

import numpy as np
import pytest

from core.errors import Mpm3dError
from core.model import METHODS
from core.predict import SlabSource, predict_cube, predict_patches
from core.sampling import cube_stats, standardise
from core.synthetic import synthetic_pair
from core.train import TrainConfig, train


@pytest.fixture(scope="module")
def pair():
    return synthetic_pair(shape=(10, 18, 16), voxel_size=(60.0, 90.0, 100.0), seed=2)


@pytest.fixture(scope="module")
def models(pair):
    """One briefly trained model per method (dann_cta also at a larger patch), so BatchNorm and gates are not
    at their initial values."""
    source, target = pair
    trained = {}
    for method, patch_size in [(m, 5) for m in METHODS] + [("dann_cta", 7)]:
        config = TrainConfig(method=method, patch_size=patch_size, epochs=1, batch_size=16, device="cpu",
                             val_fraction=0)
        trained[method, patch_size] = train(source, dataclasses.replace(target, label=None), config).model
    return trained


@pytest.mark.parametrize("key", [(m, 5) for m in METHODS] + [("dann_cta", 7)], ids=str)
def test_dense_equals_one_patch_per_voxel(pair, models, key):
    _, target = pair
    model = models[key]
    dense = predict_cube(model, target, device="cpu")
    every_voxel = np.argwhere(np.ones(target.grid.shape, bool))
    reference = predict_patches(model, target, every_voxel, device="cpu").reshape(target.grid.shape)
    assert dense.dtype == np.float32 and dense.shape == target.grid.shape
    np.testing.assert_array_equal(np.isnan(dense), ~target.valid)
    assert np.nanmax(np.abs(dense - reference)) <= 1e-4
    assert 0 <= np.nanmin(dense) and np.nanmax(dense) <= 1
    assert np.nanstd(dense) > 0


@pytest.mark.parametrize("key", [("dann_cta", 7), ("rf", 5)], ids=str)
def test_chunking_and_streaming_change_nothing(pair, models, key):
    _, target = pair
    model = models[key]
    whole = predict_cube(model, target, device="cpu", chunk_voxels=10**9)
    n_levels, n_rows, n_cols = target.grid.shape
    # tile shapes change the order in which the convolutions sum
    tolerance = 0 if model.forest is not None else 1e-6
    for chunk_voxels in (n_cols * 3 + 1, n_rows * n_cols, 2 * n_rows * n_cols + 5):
        chunked = predict_cube(model, target, device="cpu", chunk_voxels=chunk_voxels)
        np.testing.assert_allclose(chunked, whole, rtol=0, atol=tolerance)
    reads = []

    def read_slab(z0, z1):
        reads.append((z0, z1))
        return target.features[:, z0:z1].copy()

    events = []
    streamed = predict_cube(model, SlabSource(read_slab, target.grid.shape, list(target.feature_names)),
                            device="cpu", chunk_voxels=n_rows * n_cols, on_progress=events.append)
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=tolerance)
    assert max(z1 - z0 for z0, z1 in reads) < n_levels  # never the whole cube at once
    assert {e["stage"] for e in events} == {"stats", "predict"}
    assert events[-1] == {"stage": "predict", "done": n_levels, "total": n_levels}


def test_stored_target_normalisation_matches_own_on_the_target(pair, models):
    _, target = pair
    model = models["dann_cta", 5]
    np.testing.assert_array_equal(predict_cube(model, target, device="cpu", normalisation="target"),
                                  predict_cube(model, target, device="cpu"))
    with pytest.raises(Mpm3dError, match="unknown normalisation"):
        predict_cube(model, target, device="cpu", normalisation="global")


def test_feature_mismatch_names_both_lists(pair, models):
    _, target = pair
    model = models["cnn", 5]
    swapped = list(target.feature_names)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    cube = dataclasses.replace(target, feature_names=swapped)
    for call in (lambda: predict_cube(model, cube, device="cpu"),
                 lambda: predict_patches(model, cube, np.zeros((1, 3), int), device="cpu")):
        with pytest.raises(Mpm3dError) as error:
            call()
        assert str(model.feature_names) in str(error.value) and str(swapped) in str(error.value)


def test_device_statistics_equal_the_host_ones(pair):
    """The GPU path of the feature statistics, run here with torch on the CPU, gives the host's numbers."""
    import torch

    from core.predict import _feature_stats_on_device
    from core.sampling import cube_stats

    target = pair[1]
    source = SlabSource(lambda z0, z1: target.features[:, z0:z1], target.grid.shape, list(target.feature_names))
    on_device = _feature_stats_on_device(source, torch.device("cpu"), None)
    host = cube_stats(target)
    np.testing.assert_allclose(on_device.mean, host.mean, rtol=1e-12)
    np.testing.assert_allclose(on_device.std, host.std, rtol=1e-12)


@pytest.fixture(scope="module")
def ensemble(pair):
    """Three dann_cta members, each from its own seed."""
    source, target = pair
    config = TrainConfig(method="dann_cta", patch_size=5, epochs=1, batch_size=16, device="cpu", val_fraction=0,
                         members=3, seed=4)
    return train(source, dataclasses.replace(target, label=None), config)


def test_ensemble_members_differ_and_prediction_is_their_mean_and_spread(pair, ensemble):
    from core.model import TrainedModel
    from core.predict import predict_ensemble

    _, target = pair
    model = ensemble.model
    assert len(model.networks) == 3 and [m.seed for m in ensemble.members] == [4, 1004, 2004]
    singles = []
    for net in model.networks:
        single = TrainedModel(model.method, model.feature_names, model.patch_size, model.normalisation,
                              networks=[net])
        singles.append(predict_cube(single, target, device="cpu"))
    assert min(np.nanmax(np.abs(a - b)) for i, a in enumerate(singles) for b in singles[i + 1:]) > 1e-3
    mean, spread = predict_ensemble(model, target, device="cpu", chunk_voxels=200)
    np.testing.assert_allclose(mean, np.mean(singles, axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(spread, np.std(singles, axis=0), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(spread), ~target.valid)
    every_voxel = np.argwhere(target.valid)
    np.testing.assert_allclose(predict_patches(model, target, every_voxel, device="cpu"), mean[target.valid],
                               rtol=0, atol=1e-4)


def test_identical_members_have_no_uncertainty_and_the_forest_spread_is_its_trees(pair, ensemble, models):
    from core.model import TrainedModel
    from core.predict import predict_ensemble

    _, target = pair
    net = ensemble.model.networks[0]
    twins = TrainedModel("dann_cta", ensemble.model.feature_names, 5, ensemble.model.normalisation,
                         networks=[net, net])
    mean, spread = predict_ensemble(twins, target, device="cpu")
    assert np.nanmax(spread) == 0 and np.nanmax(mean) > 0
    forest = models["rf", 5]
    mean, spread = predict_ensemble(forest, target, device="cpu")
    flat = np.flatnonzero(target.valid)[::5]
    trees = forest.forest.predict_trees(
        standardise(target.features.reshape(len(target.feature_names), -1)[:, flat], cube_stats(target)).T)
    assert trees.shape == (len(flat), 200)
    np.testing.assert_allclose(spread.ravel()[flat], trees.std(axis=1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(mean.ravel()[flat], trees.mean(axis=1), rtol=0, atol=1e-6)
    assert np.nanmax(spread) > 0.05
