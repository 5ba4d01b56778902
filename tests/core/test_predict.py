"""Dense prediction: equal to one patch per voxel, independent of chunking, streamable, nodata-aware."""

import dataclasses

import numpy as np
import pytest
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.predict import predict_cube, predict_patches
from mpm3d.core.learning.sampling import SlabSource, cube_stats, standardise
from mpm3d.core.learning.training import train
from mpm3d.core.settings import METHODS, TrainConfig


@pytest.fixture(scope="module")
def pair():
    return synthetic_pair(shape=(10, 18, 16), voxel_size=(60.0, 90.0, 100.0), seed=2)


@pytest.fixture(scope="module")
def models(pair):
    """One briefly trained model per method (dann_cta also at a larger patch), so BatchNorm and gates are not
    at their initial values. No input alignment (the forest's default aligns): these tests compare the prediction
    with the evidence as it is; tests/core/test_input_alignment.py predicts through an alignment."""
    source, target = pair
    trained = {}
    for method, patch_size in [(m, 5) for m in METHODS] + [("dann_cta", 7)]:
        config = TrainConfig(members=1, method=method, patch_size=patch_size, epochs=1, batch_size=16, device="cpu",
                             val_fraction=0, input_alignment="none")
        trained[method, patch_size] = train(source, dataclasses.replace(target, label=None), config).model
    return trained


@pytest.mark.parametrize("key", [(m, 5) for m in METHODS] + [("dann_cta", 7)], ids=str)
def test_dense_equals_one_patch_per_voxel(pair, models, key, device, dense_atol):
    """On CUDA both paths run under bf16 autocast; the tolerance is bf16's (tests/conftest.py)."""
    _, target = pair
    model = models[key]
    dense = predict_cube(model, target, device=device)
    every_voxel = np.argwhere(np.ones(target.grid.shape, bool))
    reference = predict_patches(model, target, every_voxel, device=device).reshape(target.grid.shape)
    assert dense.dtype == np.float32 and dense.shape == target.grid.shape
    np.testing.assert_array_equal(np.isnan(dense), ~target.valid)
    assert np.nanmax(np.abs(dense - reference)) <= dense_atol
    if device != "cpu":  # and what the GPU gives is what the CPU gives
        assert np.nanmax(np.abs(dense - predict_cube(model, target, device="cpu"))) <= dense_atol
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
        with pytest.raises(Mpm3dError, match=r"^the CUBE's features differ from the MODEL's \(names and order must "
                                             r"match\); model: .* predict a cube stacked from slices") as error:
            call()
        assert str(model.feature_names) in str(error.value) and str(swapped) in str(error.value)


def test_device_statistics_equal_the_host_ones(pair, device):
    """The GPU path of the feature statistics (in float64 on the device) gives the host's numbers; on the CPU the
    same code runs with torch there."""
    import torch
    from mpm3d.core.learning.predict import _feature_stats_on_device
    from mpm3d.core.learning.sampling import cube_stats

    target = pair[1]
    source = SlabSource(lambda z0, z1: target.features[:, z0:z1], target.grid.shape, list(target.feature_names))
    on_device = _feature_stats_on_device(source, torch.device(device), None)
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


def test_ensemble_members_differ_and_prediction_is_their_mean_and_spread(pair, ensemble, device, dense_atol):
    """On the CPU in float32 the ensemble is its members' mean to 1e-6; on CUDA to bf16's tolerance, since other
    tile shapes run other kernels."""
    from mpm3d.core.learning.model import TrainedModel
    from mpm3d.core.learning.predict import predict_ensemble

    _, target = pair
    model = ensemble.model
    assert len(model.networks) == 3 and [m.seed for m in ensemble.members] == [4, 1004, 2004]
    singles = []
    for net in model.networks:
        single = TrainedModel(model.method, model.feature_names, model.patch_size, model.normalisation,
                              networks=[net])
        singles.append(predict_cube(single, target, device=device))
    assert min(np.nanmax(np.abs(a - b)) for i, a in enumerate(singles) for b in singles[i + 1:]) > 1e-3
    mean, spread = predict_ensemble(model, target, device=device, chunk_voxels=200)
    same_kernels = 1e-6 if device == "cpu" else dense_atol
    np.testing.assert_allclose(mean, np.mean(singles, axis=0), rtol=0, atol=same_kernels)
    np.testing.assert_allclose(spread, np.std(singles, axis=0), rtol=0, atol=same_kernels)
    np.testing.assert_array_equal(np.isnan(spread), ~target.valid)
    every_voxel = np.argwhere(target.valid)
    np.testing.assert_allclose(predict_patches(model, target, every_voxel, device=device), mean[target.valid],
                               rtol=0, atol=dense_atol)


def test_identical_members_have_no_uncertainty_and_the_forest_spread_is_its_trees(pair, ensemble, models):
    from mpm3d.core.learning.model import TrainedModel
    from mpm3d.core.learning.predict import predict_ensemble

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


def test_a_prediction_streamed_from_a_cube_file_equals_the_one_in_memory(pair, ensemble, tmp_path, monkeypatch):
    """The predict job reads its cube from disk, slab by slab; the maps it writes are those of the same array
    predicted in memory: prospectivity, uncertainty and novelty."""
    from mpm3d.core.data.cubefile import CubeReader, save_cube
    from mpm3d.core.jobs import predict_job
    from mpm3d.core.learning.modelfile import save_model
    from mpm3d.core.learning.novelty import novelty_map
    from mpm3d.core.learning.predict import predict_ensemble

    _, target = pair
    model = ensemble.model
    save_model(str(tmp_path / "model.safetensors"), model)
    cube_path = save_cube(str(tmp_path / "target.nc"), target)
    reads = []
    read_features = CubeReader.read_features

    def recorded(reader, z0=0, z1=None):
        reads.append((z0, z1))
        return read_features(reader, z0, z1)

    monkeypatch.setattr(CubeReader, "read_features", recorded)
    n_levels, n_rows, n_cols = target.grid.shape
    chunk_voxels = 3 * n_rows * n_cols
    predict_job(str(tmp_path / "model.safetensors"), cube_path, str(tmp_path / "p.nc"), str(tmp_path / "levels"),
                "p", "cpu", chunk_voxels, lambda *_args, **_kwargs: None)
    slabs = [(z0, z1) for z0, z1 in reads if z1 - z0 < n_levels]  # the novelty's slabs hold this small cube whole
    assert len(slabs) > 2 and set().union(*(range(z0, z1) for z0, z1 in slabs)) == set(range(n_levels))
    written = CubeReader(str(tmp_path / "p.nc"))
    mean, spread = predict_ensemble(model, target, device="cpu", chunk_voxels=chunk_voxels)
    novelty, _ = novelty_map(model.source_sample, target, cube_stats(target))
    for name, in_memory in (("prospectivity", mean), ("uncertainty", spread), ("novelty", novelty)):
        np.testing.assert_allclose(written.read_variable(name), in_memory, rtol=0, atol=1e-6, err_msg=name)


def test_batch_norm_folded_into_the_convolutions_is_the_same_network(pair, models):
    """Prediction's copy of a network (core.learning.predict.inference_network) computes what the trained one does."""
    import torch
    from mpm3d.core.learning.predict import inference_network

    net = models["dann_cta", 7].networks[0]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    folded = inference_network(net)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in folded.modules())
    x = torch.randn(2, len(pair[1].feature_names), 9, 11, 10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net.eval()(x), rtol=0, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # the model itself is untouched


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="the GPU's own choices: CUDA only")
def test_gpu_dense_choices_change_no_number(pair, models, monkeypatch):
    """Each of the GPU's dense-pass choices (core.learning.predict.GPU_DENSE), and a cube too large to keep on the
    device, give the default's map within bf16's tolerance."""
    from mpm3d.core.learning import predict
    _, target = pair
    model = models["dann_cta", 7]
    default = predict_cube(model, target, device="cuda")
    for choice in predict.GPU_DENSE:
        monkeypatch.setitem(predict.GPU_DENSE, choice, False)
        assert np.nanmax(np.abs(predict_cube(model, target, device="cuda") - default)) <= 0.02, choice
        monkeypatch.undo()
    monkeypatch.setattr(predict, "RESIDENT_SHARE", 0.0)  # streamed slab by slab from the host
    streamed = predict_cube(model, target, device="cuda", chunk_voxels=2 * target.grid.shape[1] * target.grid.shape[2])
    np.testing.assert_array_equal(np.isnan(streamed), ~target.valid)
    assert np.nanmax(np.abs(streamed - default)) <= 0.02


def test_one_network_writes_no_uncertainty(pair, models, tmp_path):
    """One network has no members' spread: prediction writes no 'uncertainty' variable nor its level rasters (a
    map of zeros would claim a perfect confidence nobody computed); the forest keeps its trees' spread."""
    import glob

    from mpm3d.core.data.cubefile import CubeReader, save_cube
    from mpm3d.core.jobs import predict_job
    from mpm3d.core.learning.modelfile import save_model
    from mpm3d.core.learning.predict import predict_ensemble

    _, target = pair
    single = models["dann_cta", 5]
    assert len(single.networks) == 1
    assert predict_ensemble(single, target, device="cpu")[1] is None
    cube_path = save_cube(str(tmp_path / "target.nc"), target)
    for name, model in (("single", single), ("forest", models["rf", 5])):
        save_model(str(tmp_path / f"{name}.safetensors"), model)
        outputs = predict_job(str(tmp_path / f"{name}.safetensors"), cube_path, str(tmp_path / f"{name}.nc"),
                              str(tmp_path / name), "p", "cpu", 0, lambda *_args, **_kwargs: None)
        has_spread = name == "forest"
        assert CubeReader(str(tmp_path / f"{name}.nc")).has("uncertainty") is has_spread
        assert bool(glob.glob(str(tmp_path / name / "p_uncertainty_*.tif"))) is has_spread
        assert ("UNCERTAINTY_LAYERS" in outputs) is has_spread
