"""The samples-per-epoch budget: ore voxels cycle over the epochs, an epoch's batches are bounded, and a small
deposit trains exactly as without a budget; the time-left estimate of the progress text."""

import math

import numpy as np
import pytest
import torch
from mpm3d.core.cli import build_parser
from mpm3d.core.data.synthetic import PROFILES, synthetic_deposit, synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.sampling import OreCycle, draw_source_epoch, epoch_ore_count, spatial_block_split
from mpm3d.core.learning.training import train
from mpm3d.core.progress import TimeLeft, duration
from mpm3d.core.settings import DEFAULTS, TrainConfig

SMALL = dict(patch_size=3, epochs=2, batch_size=16, device="cpu", seed=0, members=1)


@pytest.fixture(scope="module")
def small_pair():
    return synthetic_pair(shape=(10, 20, 20), voxel_size=(50.0, 80.0, 80.0), seed=2)


def test_cycle_visits_every_ore_voxel_once_before_any_twice():
    ore = np.arange(1000, 1103)  # 103 voxels, 25 an epoch: all seen within ceil(103 / 25) = 5 epochs
    cycle = OreCycle(ore, 25, np.random.default_rng(0))
    epochs = [cycle.next_epoch() for _ in range(math.ceil(len(ore) / 25))]
    assert all(len(e) == 25 and len(np.unique(e)) == 25 for e in epochs)
    seen = np.concatenate(epochs)
    assert set(seen) == set(ore)
    assert len(np.unique(seen[:len(ore)])) == len(ore)  # the first pass holds each voxel once
    assert set(cycle.next_epoch()) <= set(ore)


def test_cycle_without_budget_gives_every_ore_voxel_each_epoch():
    ore = np.arange(50)
    cycle = OreCycle(ore, 50, np.random.default_rng(0))
    assert cycle.next_epoch() is ore and cycle.next_epoch() is ore


def test_epoch_ore_count_is_class_balanced_within_the_budget():
    assert epoch_ore_count(10_000, 1.0, 0) == 10_000
    assert epoch_ore_count(10_000, 1.0, 4_000) == 2_000
    assert epoch_ore_count(10_000, 3.0, 4_000) == 1_000
    assert epoch_ore_count(100, 1.0, 4_000) == 100


def test_budgeted_epoch_draws_the_shares_ore_and_its_barren():
    label = np.zeros((6, 12, 12), np.int8)
    label[2:4, 3:9, 3:9] = 1
    split = spatial_block_split(label, np.ones(label.shape, bool), 1, 0.0, 0)
    cycle = OreCycle(split.train_ore, 20, np.random.default_rng(1))
    voxels, labels = draw_source_epoch(split, 2.0, np.random.default_rng(2), cycle.next_epoch())
    assert labels.sum() == 20 and len(labels) == 60
    assert set(voxels[labels == 1]) <= set(split.train_ore) and set(voxels[labels == 0]) <= set(split.train_barren)


def _steps_per_epoch(events):
    return {e["steps"] for e in events if e.get("stage") == "train"}


def test_budget_bounds_the_batches_per_epoch_and_every_ore_voxel_trains(small_pair, monkeypatch):
    import mpm3d.core.learning.training as train_module

    source, target = small_pair
    drawn = []
    real_draw = train_module.draw_source_epoch
    monkeypatch.setattr(train_module, "draw_source_epoch",
                        lambda split, ratio, rng, ore=None: drawn.append(ore) or real_draw(split, ratio, rng, ore))
    n_ore = len(spatial_block_split(source.label, source.valid, 1, 0.25, 0).train_ore)
    budget = 64  # 32 ore + 32 barren an epoch: 4 steps of 16
    epochs = math.ceil(n_ore / 32)
    assert n_ore > 32
    events = []
    train(source, target, TrainConfig(method="cnn", **{**SMALL, "epochs": epochs}, samples_per_epoch=budget,
                                      training_mode="patch"),  # the per-patch budget; block mode has its own test
          events.append)
    assert _steps_per_epoch(events) == {budget // SMALL["batch_size"]}
    assert all(len(ore) == 32 for ore in drawn)
    assert len(np.unique(np.concatenate(drawn))) == n_ore


def test_default_budget_leaves_a_small_deposit_unchanged(small_pair):
    source, target = small_pair
    weights = []
    for budget in (DEFAULTS["samples_per_epoch"], 0):
        result = train(source, target, TrainConfig(method="dann_cta", **SMALL, samples_per_epoch=budget))
        weights.append(result.model.networks[0].state_dict())
        assert TrainConfig(members=1).samples_per_epoch == DEFAULTS["samples_per_epoch"]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.parametrize("profile", ["test", "demo"])
def test_default_budget_holds_a_whole_epoch_of_the_synthetic_profiles(profile):
    """The synthetic deposits the tests, the demo and the quick benchmark train on are below the budget (the
    largest, the bench profile's, was measured at 30,886 training ore voxels over seeds 0-9: see core/choices)."""
    for seed in range(3):
        source = synthetic_deposit("source", **PROFILES[profile], seed=seed)
        for patch in (5, 7, 9):
            n_ore = len(spatial_block_split(source.label, source.valid, patch // 2, 0.0, seed).train_ore)
            assert epoch_ore_count(n_ore, DEFAULTS["negative_ratio"],
                                   DEFAULTS["samples_per_epoch"]) == n_ore


def test_a_budget_below_the_batch_is_refused(small_pair):
    source, target = small_pair
    with pytest.raises(Mpm3dError, match=r"SAMPLES_PER_EPOCH 8 allowing 4.*lower the batch size"):
        train(source, target, TrainConfig(method="cnn", **SMALL, samples_per_epoch=8))
    with pytest.raises(Mpm3dError, match="SAMPLES_PER_EPOCH"):
        train(source, target, TrainConfig(method="cnn", **SMALL, samples_per_epoch=-1))


def test_command_line_passes_the_budget():
    args = build_parser().parse_args(["train", "--source", "s.nc", "--target", "t.nc", "--out", "m.safetensors",
                                      "--samples-per-epoch", "4096"])
    assert args.samples_per_epoch == 4096
    default = build_parser().parse_args(["train", "--source", "s.nc", "--target", "t.nc", "--out", "m.safetensors"])
    assert default.samples_per_epoch == DEFAULTS["samples_per_epoch"]


def test_time_left_from_the_measured_pace():
    now = [100.0]
    left = TimeLeft(min_seconds=5.0, clock=lambda: now[0])
    assert left.text(0.10) == ""  # the first report starts the clock
    now[0] = 102.0
    assert left.text(0.12) == ""  # too soon to tell
    now[0] = 160.0
    assert left.seconds(0.40) == pytest.approx(60.0 / 0.30 * 0.60)
    assert left.text(0.40) == ", about 2 min left"
    assert duration(45) == "45 s" and duration(12 * 60) == "12 min" and duration(3 * 3600 + 300) == "3 h 05 min"
