"""Dense prediction: equal to one patch per voxel, independent of chunking, streamable, nodata-aware."""

import dataclasses

import numpy as np
import pytest

from core.errors import Mpm3dError
from core.model import METHODS
from core.predict import SlabSource, predict_cube, predict_patches
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
