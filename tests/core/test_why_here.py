"""Why here (core.learning.predict.dominant_evidence) and the feature gate made visible (core.learning.attention):
the dominant layer is the one a direct recomputation names, a layer the model ignores never wins, the change is
the difference of two dense predictions, and the rasters sit on the prospectivity's grid."""

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from mpm3d.core.data.cubefile import CubeReader, save_cube
from mpm3d.core.data.slices import CLASSES_TAG
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.jobs import predict_job
from mpm3d.core.learning.alignment import aligned_cube
from mpm3d.core.learning.attention import gate_summary, gate_weights, has_feature_gate
from mpm3d.core.learning.modelfile import save_model
from mpm3d.core.learning.predict import dominant_evidence, model_input, own_stats, predict_ensemble
from mpm3d.core.learning.training import TrainConfig, train
from osgeo import gdal

QUICK = {"epochs": 1, "patch_size": 5, "batch_size": 16, "members": 1, "device": "cpu", "val_fraction": 0}


@pytest.fixture(scope="module")
def models(small_pair):
    source, target = small_pair
    return {method: train(source, dataclasses.replace(target, label=None),
                          TrainConfig(method=method, **QUICK)).model for method in ("cta", "cnn", "rf")}


def _by_hand(model, cube):
    """Each layer's change at every voxel, recomputed from cubes whose layer holds its mean (0 once standardised
    with the cube's own statistics, which every prediction here keeps), on the cube as the model reads it: through
    its input alignment (the forest's default), once."""
    cube = aligned_cube(model.alignment, cube)
    stats = own_stats(model_input(model, cube), torch.device("cpu"))
    plain = predict_ensemble(model, cube, device="cpu", stats=stats)[0]
    changes = []
    for feature in range(len(cube.feature_names)):
        features = cube.features.copy()
        features[feature] = np.where(np.isfinite(features[feature]), np.float32(stats.mean[feature]), np.nan)
        without = predict_ensemble(model, dataclasses.replace(cube, features=features), device="cpu", stats=stats)[0]
        changes.append(plain - without)
    return plain, np.array(changes)


@pytest.mark.parametrize("method", ["cta", "rf"])
def test_the_dominant_layer_is_the_one_a_direct_recomputation_names(small_pair, models, method):
    _, target = small_pair
    model = models[method]
    plain, changes = _by_hand(model, target)
    dominant, change = dominant_evidence(model, target, plain, device="cpu")
    valid = target.valid
    np.testing.assert_array_equal(np.isnan(dominant), ~valid)
    moved = np.abs(changes).max(axis=0) > 1e-6
    expected = np.argmax(np.abs(changes), axis=0) + 1
    # ties within float rounding may go either way; everywhere else the class is the recomputed argmax
    margin = np.sort(np.abs(changes), axis=0)
    clear = valid & moved & (margin[-1] - margin[-2] > 1e-5)
    assert clear.sum() > 0.5 * valid.sum()
    np.testing.assert_array_equal(dominant[clear], expected[clear])
    # the change is the difference of two dense predictions: with and without the dominant layer
    picked = np.take_along_axis(changes, (np.nan_to_num(dominant, nan=1).astype(int) - 1).clip(0)[None], 0)[0]
    np.testing.assert_allclose(change[valid & moved], picked[valid & moved], atol=1e-6)
    assert np.unique(dominant[valid]).size >= 2


def test_a_layer_the_model_ignores_never_wins(small_pair, models):
    _, target = small_pair
    model = copy.deepcopy(models["cnn"])
    ignored = target.feature_names.index("fault_distance")
    with torch.no_grad():  # the first convolution no longer reads the layer
        model.networks[0].convs[0].weight[:, ignored] = 0.0
    plain = predict_ensemble(model, target, device="cpu")[0]
    dominant, change = dominant_evidence(model, target, plain, device="cpu")
    assert not np.any(dominant == ignored + 1)
    assert np.nanmax(np.abs(change)) > 1e-3  # the other layers do move it


def test_chunks_change_nothing(small_pair, models):
    _, target = small_pair
    model = models["cta"]
    plain = predict_ensemble(model, target, device="cpu")[0]
    whole = dominant_evidence(model, target, plain, device="cpu", chunk_voxels=10**9)
    events = []
    chunked = dominant_evidence(model, target, plain, device="cpu", chunk_voxels=target.grid.shape[2] * 5 + 1,
                                on_progress=events.append)
    np.testing.assert_allclose(chunked[1], whole[1], atol=1e-6)
    n_levels, n_features = target.grid.shape[0], len(target.feature_names)
    assert events[-1] == {"stage": "why", "done": n_levels * n_features, "total": n_levels * n_features}


def test_prediction_writes_class_and_change_rasters_on_the_prospectivity_grid(small_pair, models, tmp_path):
    _, target = small_pair
    model_path, cube_path = str(tmp_path / "model.safetensors"), str(tmp_path / "target.nc")
    save_model(model_path, models["cta"])
    save_cube(cube_path, dataclasses.replace(target, label=None))
    outputs = predict_job(model_path, cube_path, str(tmp_path / "p.nc"), str(tmp_path / "levels"), "p", "cpu", 0,
                          lambda *_a, **_k: None, why_here=True, gate_weights=True)
    levels = len(target.grid.z)
    assert len(outputs["DOMINANT_LAYERS"]) == len(outputs["DOMINANT_CHANGE_LAYERS"]) == levels
    for class_path, change_path, map_path in zip(outputs["DOMINANT_LAYERS"], outputs["DOMINANT_CHANGE_LAYERS"],
                                                 outputs["OUTPUT_LAYERS"], strict=True):
        classes, changes, prospectivity = (gdal.Open(p) for p in (class_path, change_path, map_path))
        for raster in (classes, changes):
            assert raster.GetGeoTransform() == prospectivity.GetGeoTransform()
            assert raster.GetProjection() == prospectivity.GetProjection()
        band = classes.GetRasterBand(1)
        assert band.DataType == gdal.GDT_Int16 and band.GetNoDataValue() == -1
        assert json.loads(band.GetMetadataItem(CLASSES_TAG)) == ["none", *target.feature_names]
        values = band.ReadAsArray()
        p_band = prospectivity.GetRasterBand(1)
        np.testing.assert_array_equal(values == -1, p_band.ReadAsArray() == p_band.GetNoDataValue())
        assert values.max() <= len(target.feature_names)
    reader = CubeReader(outputs["OUTPUT_CUBE"], "CUBE")
    assert reader.has("dominant_evidence") and reader.has("dominant_change")
    gates = [reader.read_variable(f"gate_{name}") for name in target.feature_names]
    assert all(np.nanmin(g) > 0 and np.nanmax(g) < 1 for g in gates)


def test_gate_weights_are_refused_for_a_model_without_a_gate(small_pair, models, tmp_path):
    _, target = small_pair
    model_path, cube_path = str(tmp_path / "model.safetensors"), str(tmp_path / "target.nc")
    save_model(model_path, models["cnn"])
    save_cube(cube_path, dataclasses.replace(target, label=None))
    with pytest.raises(Mpm3dError, match="GATE_WEIGHTS"):
        predict_job(model_path, cube_path, str(tmp_path / "p.nc"), str(tmp_path / "levels"), "p", "cpu", 0,
                    lambda *_a, **_k: None, gate_weights=True)
    assert not has_feature_gate(models["rf"]) and gate_summary(models["cnn"], *small_pair) is None


def test_the_gate_summary_averages_the_gate_maps_over_ore_barren_and_target(small_pair, models):
    source, target = small_pair
    model = models["cta"]
    summary = gate_summary(model, source, dataclasses.replace(target, label=None))
    stats = own_stats(model_input(model, source), torch.device("cpu"))
    weights = gate_weights(model, model_input(model, source), stats)
    ore = source.label == 1
    np.testing.assert_allclose(summary["source_ore"]["mean"], np.nanmean(weights[:, ore], axis=1), atol=1e-5)
    assert summary["source_ore"]["voxels"] == int(ore.sum()) and summary["layers"] == list(model.feature_names)
    assert summary["target"]["voxels"] == int(target.valid.sum())
