"""Training: schedules, sampling, honesty about target labels, input errors, and that adaptation helps."""

import dataclasses

import numpy as np
import pytest
import torch
from mpm3d.core.data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN
from mpm3d.core.data.synthetic import PROFILES, synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.alignment import aligned_cube
from mpm3d.core.learning.attention import gate_summary
from mpm3d.core.learning.domain import annealed_learning_rate, grl_lambda
from mpm3d.core.learning.importance import evidence_importance
from mpm3d.core.learning.predict import predict_cube, predict_patches
from mpm3d.core.learning.sampling import (
    PatchGatherer,
    cube_stats,
    draw_source_epoch,
    padded_standardised,
    spatial_block_split,
)
from mpm3d.core.learning.training import train
from mpm3d.core.results.metrics import labelled_scores, roc_auc
from mpm3d.core.settings import TrainConfig

HISTORY_KEYS = {"epoch", "loss_label", "loss_domain", "lambda", "lr", "val_auc", "disc_acc", "patches_per_s",
                "seconds"}
# The synthetic "test" profile at seed 0: which method wins on the target moves with the seed (measured over
# seeds 0-4: dann_cta beat cnn on 3 of 5), so that claim lives in the benchmark, over seeds, not here.
PROFILE_SEED = 0
PROFILE_CONFIG = dict(patch_size=5, epochs=20, batch_size=64, device="cpu", seed=PROFILE_SEED, members=1)


@pytest.fixture(scope="module")
def profile_runs():
    """dann_cta, cnn and rf trained once on the synthetic "test" profile, scored on the target's labels."""
    source, target = synthetic_pair(**PROFILES["test"], seed=PROFILE_SEED)
    target_label = target.label
    target = dataclasses.replace(target, label=None)
    runs = {}
    for method in ("dann_cta", "cnn", "rf"):
        events = []
        result = train(source, target, TrainConfig(method=method, **PROFILE_CONFIG), events.append)
        probability = predict_cube(result.model, target, device="cpu")
        auc = roc_auc(*labelled_scores(probability, target_label))
        runs[method] = {"result": result, "target_auc": auc, "events": events}
    return runs


def test_schedules_at_start_middle_and_end():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(0.5) == pytest.approx(2 / (1 + np.exp(-5)) - 1)
    assert grl_lambda(1.0) == pytest.approx(2 / (1 + np.exp(-10)) - 1)
    assert grl_lambda(1.0, lambda_max=0.3) == pytest.approx(0.3 * (2 / (1 + np.exp(-10)) - 1))
    assert annealed_learning_rate(0.0, 0.01) == 0.01
    assert annealed_learning_rate(0.5, 0.01) == pytest.approx(0.01 / 6**0.75)
    assert annealed_learning_rate(1.0, 0.01) == pytest.approx(0.01 / 11**0.75)


def test_history_and_progress_events(profile_runs):
    run = profile_runs["dann_cta"]
    history = run["result"].history
    assert [h["epoch"] for h in history] == list(range(1, PROFILE_CONFIG["epochs"] + 1))
    assert all(set(h) == HISTORY_KEYS | {"entropy", "dev", "mixval"} for h in history)  # label-free rules' scores
    assert history[-1]["lambda"] > history[0]["lambda"] and history[-1]["lr"] < history[0]["lr"]
    epoch_ends = [e for e in run["events"] if "val_auc" in e]
    assert len(epoch_ends) == PROFILE_CONFIG["epochs"]
    assert all(e["stage"] == "train" and e["step"] == e["steps"] for e in epoch_ends)
    assert all(HISTORY_KEYS <= set(e) for e in epoch_ends)
    assert profile_runs["cnn"]["result"].history[0]["lambda"] is None
    forest_fit = profile_runs["rf"]["result"].history[0]
    assert set(forest_fit) == HISTORY_KEYS | {"trees", "feature_importance"}
    assert forest_fit["trees"] == 200 and sum(forest_fit["feature_importance"]) == pytest.approx(1.0)


# Regression guards on the "test" profile at seed 0 (PROFILE_CONFIG): the figures this suite measured on 2 CPU
# cores (profile_runs), and a tolerance of 0.05, so a drop of 0.1 fails. Source validation AUC (the chosen epoch),
# then the target AUC scored on the target's labels after training: dann_cta 0.972 / 0.898, cnn 0.974 / 0.911,
# rf 0.970 / 0.884.
MEASURED_AUC = {"dann_cta": (0.972, 0.898), "cnn": (0.974, 0.911), "rf": (0.970, 0.884)}
AUC_TOLERANCE = 0.05


@pytest.mark.parametrize("method", ["dann_cta", "cnn"])
def test_training_loss_falls_and_validation_is_good(profile_runs, method):
    result = profile_runs[method]["result"]
    losses = [h["loss_label"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0]
    assert result.val_auc == max(h["val_auc"] for h in result.history)
    assert result.best_epoch == next(h["epoch"] for h in result.history if h["val_auc"] == result.val_auc)


@pytest.mark.parametrize("method", ["dann_cta", "cnn", "rf"])
def test_target_and_validation_auc_hold_their_measured_level(profile_runs, method):
    """Not which method wins (that moves with the seed: the benchmark's question), but that none got worse."""
    validation, target = MEASURED_AUC[method]
    assert profile_runs[method]["result"].val_auc > validation - AUC_TOLERANCE
    assert profile_runs[method]["target_auc"] > target - AUC_TOLERANCE


# Measured on seeds 0-4 (data and training), 20 epochs, patch 5: the probe beside the plain cnn ends at
# 0.615-0.735 accuracy (mean of the last 5 epochs); dann_cta's discriminator at 0.472-0.554, at most 0.054
# from chance; the first is farther from chance by 0.082-0.233. The thresholds leave about half of the
# smallest measured margin and hold on every seed measured, so no seed is picked for passing.
DISCRIMINATOR_SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def discriminator_runs():
    """Discriminator accuracy at the end of training, dann_cta and cnn, on three seeds."""
    runs = {}
    for seed in DISCRIMINATOR_SEEDS:
        source, target = synthetic_pair(**PROFILES["test"], seed=seed)
        target = dataclasses.replace(target, label=None)
        for method in ("dann_cta", "cnn"):
            result = train(source, target, TrainConfig(method=method, **{**PROFILE_CONFIG, "seed": seed}))
            runs[method, seed] = float(np.mean([h["disc_acc"] for h in result.history[-5:]]))
    return runs


@pytest.mark.parametrize("seed", DISCRIMINATOR_SEEDS)
def test_the_reversed_gradient_pushes_the_discriminator_to_chance(discriminator_runs, seed):
    """Without the reversed gradient a probe tells the domains apart; with it the discriminator cannot."""
    adapted, plain = discriminator_runs["dann_cta", seed], discriminator_runs["cnn", seed]
    assert plain > 0.58
    assert abs(adapted - 0.5) < 0.08
    assert abs(plain - 0.5) - abs(adapted - 0.5) > 0.04


def _weights(result, member=0):
    return {k: v.clone() for k, v in result.model.networks[member].state_dict().items()}


# every path that reads the target: the adversary, its extra steps, the input alignments, the target batch norms,
# the label-free target loss (also with the members side by side)
ADAPTED = {"input_alignment": "quantile", "discriminator": "large", "domain_steps": 1, "target_batch_norm": True,
           "target_loss": "mcc"}


@pytest.mark.parametrize(("method", "options"), [("dann_cta", {}), ("rf", {}), ("dann_cta", ADAPTED),
                                                 ("rf", {"input_alignment": "coral"}),
                                                 ("cnn", {"target_loss": "mcc", "members_together": True}),
                                                 ("dann_cta", {"training_mode": "block"})])
def test_target_labels_are_never_read(small_pair, method, options):
    """Deleting or scrambling the target's labels changes nothing, so they cannot leak into training, nor into the
    report's evidence importance and feature-gate summary."""
    source, target = small_pair
    config = TrainConfig(method=method, patch_size=5, epochs=2, batch_size=32, device="cpu", seed=3,
                         members=2 if method != "rf" else 1, **options)
    labels = [LABEL_UNKNOWN, LABEL_BARREN, LABEL_ORE]
    scrambled = np.random.default_rng(9).choice(labels, size=target.label.shape)
    targets = [dataclasses.replace(target, label=label) for label in (None, scrambled)]
    results = [train(source, relabelled, config) for relabelled in targets]
    importances = [{k: v for k, v in evidence_importance(r.model, source, relabelled, config, repeats=1).items()
                    if k != "seconds"} for r, relabelled in zip(results, targets, strict=True)]
    assert importances[0] == importances[1]
    gates = [gate_summary(r.model, source, aligned_cube(r.model.alignment, relabelled, config.seed))
             for r, relabelled in zip(results, targets, strict=True)]
    assert gates[0] == gates[1] and (gates[0] is not None) == (method == "dann_cta")
    untimed = [[[{k: v for k, v in h.items() if k not in ("patches_per_s", "seconds")} for h in member.history]
                for member in r.members] for r in results]
    assert untimed[0] == untimed[1]
    for first, second in zip(*(r.model.source_sample for r in results), strict=True):  # what novelty is measured on
        np.testing.assert_array_equal(first, second)
    indices = np.argwhere(target.valid)[::7]
    predictions = [predict_patches(r.model, target, indices, device="cpu") for r in results]
    np.testing.assert_array_equal(*predictions)
    if method != "rf":
        assert len(results[0].model.networks) == 2
        for member in range(2):
            first, second = (_weights(r, member) for r in results)
            assert all(torch.equal(first[k], second[k]) for k in first)


def test_epoch_hook_sees_each_epoch_in_eval_mode_and_changes_nothing(small_pair):
    """The benchmark traces diagnostics with the hook; a traced run must give the untraced weights."""
    source, target = small_pair
    config = TrainConfig(members=1, method="dann", patch_size=5, epochs=2, batch_size=32, device="cpu", seed=4)
    seen = []

    def trace(epoch, net):
        seen.append((epoch, net.training))
        net(torch.zeros(2, len(source.feature_names), 5, 5, 5))  # a forward pass, as a trace makes

    traced, plain = train(source, target, config, on_epoch_end=trace), train(source, target, config)
    assert seen == [(1, False), (2, False)]
    first, second = _weights(traced), _weights(plain)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_spatial_block_split_keeps_training_patches_off_validation_blocks(small_pair):
    source, _ = small_pair
    half = 3
    split = spatial_block_split(source.label, source.valid, half, 0.25, seed=5)
    shape = source.grid.shape
    val_columns = np.argwhere(split.val_columns)
    for voxels in (split.train_ore, split.train_barren):
        _, y, x = np.unravel_index(voxels, shape)
        distance = np.min(np.maximum(np.abs(y[:, None] - val_columns[None, :, 0]),
                                     np.abs(x[:, None] - val_columns[None, :, 1])), axis=1)
        assert distance.min() > half
    assert min(len(split.train_ore), len(split.train_barren), len(split.val_ore), len(split.val_barren)) > 0
    assert 0.05 < split.val_columns.mean() < 0.5
    again = spatial_block_split(source.label, source.valid, half, 0.25, seed=5)
    np.testing.assert_array_equal(again.val_columns, split.val_columns)


def test_negatives_follow_the_ratio_and_are_redrawn_each_epoch(small_pair):
    source, _ = small_pair
    split = spatial_block_split(source.label, source.valid, 2, 0.25, seed=0)
    rng = np.random.default_rng(0)
    first, labels = draw_source_epoch(split, 2.0, rng)
    second, _ = draw_source_epoch(split, 2.0, rng)
    n_ore = len(split.train_ore)
    assert labels.sum() == n_ore and len(labels) == 3 * n_ore
    assert set(first[labels == 1]) == set(split.train_ore)
    assert set(first[labels == 0]) <= set(split.train_barren)
    assert set(first[labels == 0]) != set(second[np.isin(second, split.train_barren)])


def test_gather_cuts_patches_and_their_rotations_and_flips(small_pair):
    source, _ = small_pair
    p, half = 5, 2
    padded = padded_standardised(source, cube_stats(source), half)
    gatherer = PatchGatherer(padded, p, torch.device("cpu"))
    z, y, x = 4, 7, 0
    centre = gatherer.centre_index(np.array([np.ravel_multi_index((z, y, x), source.grid.shape)]))
    window = padded[:, z:z + p, y:y + p, x:x + p]
    expected = [np.rot90(w, k, axes=(2, 3)) for w in (window, window[:, :, :, ::-1]) for k in range(4)]
    for transform, want in enumerate(expected):
        got = gatherer.gather(centre, torch.tensor([transform]))[0].numpy()
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gatherer.gather(centre)[0].numpy(), window)
    assert len({e.tobytes() for e in expected}) == 8


def test_standardisation_is_per_domain_and_nodata_becomes_zero(small_pair):
    source, target = small_pair
    for cube in (source, target):
        stats = cube_stats(cube)
        padded = padded_standardised(cube, stats, 1)
        inner = padded[:, 1:-1, 1:-1, 1:-1][:, cube.valid]
        np.testing.assert_allclose(inner.mean(axis=1), 0, atol=1e-4)
        np.testing.assert_allclose(inner.std(axis=1), 1, atol=1e-4)
        assert np.all(padded[:, 1:-1, 1:-1, 1:-1][:, ~cube.valid] == 0) and np.all(padded[:, 0] == 0)


def _expect_error(source, target, match, **config):
    with pytest.raises(Mpm3dError, match=match):
        train(source, target, TrainConfig(**{"epochs": 1, "batch_size": 16, "device": "cpu", **config}))


def test_bad_inputs_are_clear_errors(small_pair):
    source, target = small_pair
    _expect_error(source, target, "odd", patch_size=6)
    _expect_error(source, target, "larger than the source cube", patch_size=13)
    _expect_error(source, target, r"number of epochs \(EPOCHS\) must be a whole number from 1 to 10000, got 0",
                  epochs=0)
    _expect_error(source, target, "batch size 100000 is larger", batch_size=100000)
    _expect_error(source, target, "unknown method", method="svm")
    _expect_error(dataclasses.replace(source, label=None), target, "no labels")
    only_barren = np.where(source.label == LABEL_ORE, LABEL_BARREN, source.label)
    _expect_error(dataclasses.replace(source, label=only_barren), target, r"no ore \(1\)")
    only_ore = np.where(source.label == LABEL_BARREN, LABEL_ORE, source.label)
    _expect_error(dataclasses.replace(source, label=only_ore), target, r"no barren \(0\)")
    renamed = dataclasses.replace(target, feature_names=list(reversed(target.feature_names)))
    with pytest.raises(Mpm3dError, match=r"^the SOURCE and TARGET cubes must have the same features in the same "
                                         r"order; source: .* stack both deposits from slices with the same bands"
                       ) as error:
        train(source, renamed, TrainConfig(members=1, epochs=1, device="cpu"))
    assert str(source.feature_names) in str(error.value) and str(renamed.feature_names) in str(error.value)


def test_ore_in_one_block_asks_for_validation_fraction_zero(small_pair):
    """No block split leaves ore on both sides: the message names the parameter, and 0 trains anyway."""
    source, target = small_pair
    corner = np.zeros(source.label.shape, bool)
    corner[:, :5, :5] = True  # inside one of the 4 x 4 x-y blocks of a 24 x 24 grid
    label = np.where(source.valid, np.where(corner, LABEL_ORE, LABEL_BARREN), LABEL_UNKNOWN)
    clustered = dataclasses.replace(source, label=label)
    _expect_error(clustered, target, r"VALIDATION_FRACTION\) to 0", patch_size=3)
    result = train(clustered, target, TrainConfig(members=1, method="cnn", patch_size=3, epochs=2, batch_size=16,
                                                  device="cpu",
                                                  val_fraction=0))
    assert result.best_epoch == 2 and result.val_auc is None


def test_target_normalisation_source_stores_the_source_statistics_for_the_target(small_pair):
    """The benchmark's ablation without per-deposit standardisation: the model applies the source's to both."""
    source, target = small_pair
    config = TrainConfig(members=1, method="rf", patch_size=3, epochs=1, device="cpu", target_normalisation="source",
                         input_alignment="none")  # the target's statistics as it is, not as aligned
    normalisation = train(source, target, config).model.normalisation
    assert normalisation["target"] == normalisation["source"] == cube_stats(source).to_dict()
    own = train(source, target, dataclasses.replace(config, target_normalisation="own")).model.normalisation
    assert own["target"] == cube_stats(target).to_dict() != own["source"]
    _expect_error(source, target, "'own' or 'source'", target_normalisation="target")


def test_constant_feature_is_named(small_pair):
    source, target = small_pair
    features = target.features.copy()
    features[2][np.isfinite(features[2])] = 7.0
    constant = dataclasses.replace(target, features=features)
    _expect_error(source, constant, "'fault_dip_change' has zero spread")


def test_cuda_requested_without_a_gpu(small_pair, monkeypatch):
    """What training says on a machine without a GPU; on one with CUDA, torch is told there is none."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _expect_error(*small_pair, r"^CUDA was requested \(DEVICE set to cuda, device=cuda\) but torch reports no CUDA "
                               r"device; set DEVICE to auto \(which falls back to the CPU\) or cpu$", device="cuda")


def test_training_steps_on_the_device_give_a_model_that_saves_and_predicts(small_pair, device, tmp_path):
    """Two members trained on ``device`` (bf16 autocast on CUDA): each took steps away from its initial weights,
    the weights come back on the CPU, and the model file holds exactly them."""
    from mpm3d.core.learning.model import ProspectivityNet, config_for_method
    from mpm3d.core.learning.modelfile import load_model, save_model

    source, target = small_pair
    config = TrainConfig(method="dann_cta", patch_size=5, epochs=1, batch_size=32, device=device, seed=6, members=2)
    result = train(source, dataclasses.replace(target, label=None), config)
    assert result.device == device and result.model.provenance["device"] == device
    assert all(np.isfinite(h["loss_label"]) and np.isfinite(h["loss_domain"]) for h in result.history)
    for member, run in zip(result.model.networks, result.members, strict=True):
        torch.manual_seed(run.seed)
        initial = ProspectivityNet(config_for_method("dann_cta", len(source.feature_names), 5)).state_dict()
        weights = member.state_dict()
        assert {v.device.type for v in weights.values()} == {"cpu"}
        assert not all(torch.equal(weights[k], initial[k]) for k in weights)
    save_model(str(tmp_path / "model.safetensors"), result.model)
    loaded = load_model(str(tmp_path / "model.safetensors"))
    for saved, trained in zip(loaded.networks, result.model.networks, strict=True):
        first, second = saved.state_dict(), trained.state_dict()
        assert all(torch.equal(first[k], second[k]) for k in first)
    probability = predict_cube(loaded, target, device=device)
    assert np.all(np.isfinite(probability[target.valid]))
    assert 0 <= np.nanmin(probability) and np.nanmax(probability) <= 1


def test_the_returned_weights_are_those_of_the_epoch_chosen(small_pair, monkeypatch):
    """Validation AUCs forced to 0.6, 0.9, 0.7: the model handed back is epoch 2's, not the last epoch's."""
    from mpm3d import core

    source, target = small_pair
    forced = iter([0.6, 0.9, 0.7])
    real_scores = core.learning.training.epoch_scores
    monkeypatch.setattr(core.learning.training, "epoch_scores",
                        lambda *args: {**real_scores(*args), "val_auc": next(forced)})
    seen = {}

    def keep(epoch, net):
        seen[epoch] = {k: v.detach().clone() for k, v in net.state_dict().items()}

    config = TrainConfig(members=1, method="cnn", patch_size=5, epochs=3, batch_size=32, device="cpu", seed=2)
    result = train(source, dataclasses.replace(target, label=None), config, on_epoch_end=keep)
    returned = result.model.networks[0].state_dict()
    assert result.best_epoch == 2 and result.val_auc == 0.9
    assert all(torch.equal(returned[k], seen[2][k]) for k in returned)
    assert not all(torch.equal(returned[k], seen[3][k]) for k in returned)
