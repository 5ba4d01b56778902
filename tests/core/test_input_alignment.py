"""Input alignment, the target batch norms and the adversary's settings: what a user who switches them on
relies on."""

import dataclasses
import json

import numpy as np
import pytest
import safetensors.numpy
import torch
from mpm3d.core.data.grid import Cube
from mpm3d.core.data.synthetic import PROFILES, synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.alignment import aligned_cube, aligned_source, reference_summary
from mpm3d.core.learning.domain import domain_discriminator
from mpm3d.core.learning.model import ProspectivityNet, config_for_method
from mpm3d.core.learning.modelfile import load_model, save_model
from mpm3d.core.learning.predict import predict_cube
from mpm3d.core.learning.sampling import PatchGatherer, cube_stats, padded_standardised
from mpm3d.core.learning.training import target_batch_norm, train
from mpm3d.core.settings import NETWORK_METHODS, TrainConfig, resolved

QUICK = dict(patch_size=5, epochs=2, batch_size=32, device="cpu", seed=1, members=1)


@pytest.fixture(scope="module")
def source() -> Cube:
    return synthetic_pair(**PROFILES["test"], seed=0)[0]


def with_features(cube: Cube, features: np.ndarray) -> Cube:
    return dataclasses.replace(cube, features=features.astype(np.float32), attrs=dict(cube.attrs))


def valid_values(cube: Cube) -> np.ndarray:
    return cube.features[:, cube.valid]


def test_quantile_mapping_undoes_monotone_rescaling_of_each_layer(source):
    """Log units, a power and a shift: the mapped copy lands on the source's own values."""
    shifted = source.features.copy()
    shifted[5] = np.log10(1 + np.maximum(shifted[5], 0))
    shifted[4] = 3.0 * shifted[4] ** 2 - 7.0
    shifted[0] = -0.01 * shifted[0] + 5  # even a decreasing one keeps its order reversed, not lost: not undone
    reference = reference_summary("quantile", source)
    mapped = aligned_cube(reference, with_features(source, shifted))
    original, back = valid_values(source), valid_values(mapped)
    for k in (4, 5):
        spread = original[k].std()
        assert np.quantile(np.abs(back[k] - original[k]), 0.99) < 0.05 * spread, source.feature_names[k]
    assert mapped.attrs["input_alignment"] == "quantile"
    assert np.isnan(mapped.features[:, ~source.valid]).all()


def test_quantile_mapping_keeps_classes_as_classes(source):
    """A layer logged in classes maps each class to one value, in order (mid-ranks for ties)."""
    shifted = source.features.copy()
    shifted[6] = np.digitize(shifted[6], [5, 20, 40])
    mapped = aligned_cube(reference_summary("quantile", source), with_features(source, shifted))
    classes, back = valid_values(with_features(source, shifted))[6], valid_values(mapped)[6]
    values = [np.unique(back[classes == c]) for c in range(4)]
    assert all(len(v) == 1 for v in values)
    assert np.all(np.diff([v[0] for v in values]) > 0)


def test_coral_undoes_a_linear_mix_of_layers(source):
    """Density leaking susceptibility: after CORAL the layers correlate as on the source again."""
    shifted = source.features.copy()
    z = (shifted[5] - np.nanmean(shifted[5])) / np.nanstd(shifted[5])
    shifted[4] = shifted[4] + 0.8 * np.nanstd(shifted[4]) * z
    reference = reference_summary("coral", source)
    mapped = aligned_cube(reference, with_features(source, shifted))

    def correlation(cube):
        return np.corrcoef(valid_values(cube))

    assert np.abs(correlation(with_features(source, shifted)) - correlation(source)).max() > 0.2
    assert np.abs(correlation(mapped) - correlation(source)).max() < 0.05
    np.testing.assert_allclose(np.nanmean(valid_values(mapped), axis=1), np.nanmean(valid_values(source), axis=1),
                               rtol=0.02, atol=1e-3)


def test_alignment_read_slab_by_slab_equals_the_cube_at_once(source):
    target = synthetic_pair(**PROFILES["test"], seed=0, profile="measurement")[1]
    for method in ("quantile", "coral"):
        reference = reference_summary(method, source)
        streamed = aligned_source(reference, target)
        assert streamed.alignment == method
        slabs = np.concatenate([streamed.read_slab(z, min(z + 5, target.grid.shape[0]))
                                for z in range(0, target.grid.shape[0], 5)], axis=1)
        np.testing.assert_array_equal(slabs, aligned_cube(reference, target).features)
    assert aligned_cube(None, target) is target
    with pytest.raises(Mpm3dError, match="unknown input alignment 'whiten'"):
        reference_summary("whiten", source)


@pytest.mark.parametrize("method", ["rf", "cnn"])
def test_an_aligned_model_predicts_the_same_from_its_file(method, source, tmp_path):
    """The model keeps the source's side; prediction aligns the cube it is given, once, as training did."""
    target = synthetic_pair(**PROFILES["test"], seed=0, profile="measurement")[1]
    model = train(source, target, TrainConfig(method=method, input_alignment="quantile", **QUICK)).model
    path = str(tmp_path / "aligned.mpm3d")
    save_model(path, model)
    loaded = load_model(path)
    assert loaded.alignment["method"] == "quantile"
    in_memory, from_file = (predict_cube(m, target, device="cpu") for m in (model, loaded))
    np.testing.assert_array_equal(in_memory, from_file)
    unaligned = predict_cube(dataclasses.replace(model, alignment=None), target, device="cpu")
    assert np.nanmax(np.abs(unaligned - in_memory)) > 0.05  # the alignment really is applied
    already = aligned_cube(model.alignment, target)  # a cube that went through it is not aligned twice
    np.testing.assert_allclose(predict_cube(model, already, device="cpu"), in_memory, atol=1e-5)


def test_a_damaged_alignment_is_refused_by_name(source, tmp_path):
    target = synthetic_pair(**PROFILES["test"], seed=0)[1]
    model = train(source, target, TrainConfig(method="rf", input_alignment="coral", **QUICK)).model
    path = str(tmp_path / "model.mpm3d")
    save_model(path, model)
    tensors = safetensors.numpy.load_file(path)
    with open(path, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    metadata = header["__metadata__"]
    broken = json.loads(metadata["alignment"])
    broken["correlation"] = broken["correlation"][:-1]
    safetensors.numpy.save_file(tensors, path, metadata={**metadata, "alignment": json.dumps(broken)})
    with pytest.raises(Mpm3dError, match="damaged or was edited: its input alignment is not 8 features"):
        load_model(path)


def test_target_batch_norm_statistics_come_from_target_patches_only(source):
    """AdaBN: the first batch norm's mean is the mean of its convolution's output over the target patches."""
    target = synthetic_pair(**PROFILES["test"], seed=0, profile="measurement")[1]
    torch.manual_seed(0)
    net = ProspectivityNet(config_for_method("cnn", len(source.feature_names), 5))
    patches = PatchGatherer(padded_standardised(target, cube_stats(target), 2), 5, torch.device("cpu"))
    voxels = np.flatnonzero(target.valid)[::3]
    weights_before = {k: v.clone() for k, v in net.named_parameters()}
    target_batch_norm(net, patches, voxels)
    with torch.no_grad():
        conv_out = net.convs[0](patches.gather(patches.centre_index(voxels)))
        source_patches = PatchGatherer(padded_standardised(source, cube_stats(source), 2), 5, torch.device("cpu"))
        source_out = net.convs[0](source_patches.gather(source_patches.centre_index(np.flatnonzero(source.valid))))
    expected = conv_out.mean(dim=(0, 2, 3, 4))
    torch.testing.assert_close(net.convs[1].running_mean, expected, rtol=0, atol=1e-3)  # nine batches' average
    assert (net.convs[1].running_mean - source_out.mean(dim=(0, 2, 3, 4))).abs().max() > 0.01  # not the source's
    assert not net.training
    assert all(torch.equal(v, weights_before[k]) for k, v in net.named_parameters())


def test_target_batch_norm_changes_the_model_and_only_its_statistics(source):
    target = synthetic_pair(**PROFILES["test"], seed=0, profile="measurement")[1]
    plain, adapted = (train(source, target, TrainConfig(method="cnn", target_batch_norm=flag, **QUICK)).model
                      for flag in (False, True))
    first, second = plain.networks[0].state_dict(), adapted.networks[0].state_dict()
    moved = {k for k in first if not torch.equal(first[k], second[k])}
    assert moved and all(".running_" in k or "num_batches" in k for k in moved)


def test_the_large_discriminator_and_domain_steps_train_and_load(source, tmp_path):
    target = synthetic_pair(**PROFILES["test"], seed=0)[1]
    discriminator = domain_discriminator(64, "large")
    assert [m.out_channels for m in discriminator if isinstance(m, torch.nn.Conv3d)] == [1024, 1024, 1]
    assert sum(isinstance(m, torch.nn.BatchNorm3d) for m in discriminator) == 2
    plain = train(source, target, TrainConfig(method="dann", **QUICK))
    result = train(source, target, TrainConfig(method="dann", discriminator="large", domain_steps=2, **QUICK))
    assert result.model.networks[0].config.discriminator == "large"
    assert all(0 <= h["disc_acc"] <= 1 for h in result.history)
    # the extra steps move the weights: not the run without them
    assert not torch.equal(result.model.networks[0].convs[0].weight, plain.model.networks[0].convs[0].weight)
    path = str(tmp_path / "large.mpm3d")
    save_model(path, result.model)
    np.testing.assert_array_equal(predict_cube(load_model(path), target, device="cpu"),
                                  predict_cube(result.model, target, device="cpu"))


def test_a_cube_with_one_complete_voxel_is_refused_naming_the_setting(source):
    features = np.full_like(source.features, np.nan)
    features[:, 0, 0, 0] = 1.0
    with pytest.raises(Mpm3dError, match=r"^INPUT_ALIGNMENT quantile: the cube to align has 1 voxel\(s\) where every "
                                         r"evidence layer is valid.*choose INPUT_ALIGNMENT none"):
        aligned_cube(reference_summary("quantile", source), with_features(source, features))


def test_the_training_report_measures_the_evidence_shift_after_the_alignment_too():
    """The report's transfer section gives the evidence shift the model meets: after its quantile alignment the
    fault-geometry target's distance (in log units) has the source's shape, which standardisation alone leaves."""
    from mpm3d.core.jobs import transfer_section

    source, target = synthetic_pair(**PROFILES["test"], seed=0, profile="fault_geometry")
    unlabelled = dataclasses.replace(target, label=None)
    result = train(source, unlabelled, TrainConfig(method="rf", input_alignment="quantile", **QUICK))
    section = transfer_section(source, unlabelled, result, aligned_cube(result.model.alignment, unlabelled))
    aligned = section["aligned_shift"]
    assert aligned["method"] == "quantile" and 0 <= aligned["pad"] <= 2
    before = section["transfer"]["features"]["fault_distance"]["standardised"]["ks"]
    assert aligned["ks"]["fault_distance"] < 0.05 < 0.15 < before
    plain = train(source, unlabelled, TrainConfig(method="rf", input_alignment="none", **QUICK))
    assert "aligned_shift" not in transfer_section(source, unlabelled, plain, unlabelled)


def test_automatic_alignment_is_quantile_for_the_forest_and_none_for_the_networks(source):
    """INPUT_ALIGNMENT's default follows the method (THE FOREST'S RULE, bench/profiles.py); a value given stays."""
    assert TrainConfig().input_alignment == "auto"
    assert resolved(TrainConfig(method="rf")).input_alignment == "quantile"
    assert {resolved(TrainConfig(method=method)).input_alignment for method in NETWORK_METHODS} == {"none"}
    assert resolved(TrainConfig(method="rf", input_alignment="none")).input_alignment == "none"
    assert resolved(TrainConfig(method="cnn", input_alignment="coral")).input_alignment == "coral"
    target = synthetic_pair(**PROFILES["test"], seed=0, profile="fault_geometry")[1]
    forest = train(source, target, TrainConfig(method="rf", **QUICK)).model
    assert forest.alignment["method"] == "quantile"
    assert forest.provenance["train_config"]["input_alignment"] == "quantile"
    network = train(source, target, TrainConfig(method="cnn", **{**QUICK, "epochs": 1})).model
    assert network.alignment is None and network.provenance["train_config"]["input_alignment"] == "none"
