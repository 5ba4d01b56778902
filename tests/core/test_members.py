"""Ensemble members trained side by side (core/learning/members.py): each takes the steps it would take alone."""

import dataclasses

import pytest
import torch
from mpm3d.core.jobs import training_progress
from mpm3d.core.learning.members import trains_together

# Adam divides each gradient by its own running size, so a weight whose gradient is nothing but rounding noise
from mpm3d.core.learning.training import train

# Adam divides each gradient by its own running size, so a weight whose gradient is nothing but rounding noise
from mpm3d.core.settings import TrainConfig

# Adam divides each gradient by its own running size, so a weight whose gradient is nothing but rounding noise
# still moves by up to one learning rate, in the noise's direction. The biases of the convolutions in front of a
# batch norm are such weights (the norm subtracts whatever they add), and their noise differs between one
# member's kernels and the stacked ones. Every other weight must agree far inside one step (1e-3).
STEP_TOLERANCE = 5e-5


@pytest.fixture(scope="module")
def pair(small_pair):
    source, target = small_pair
    return source, dataclasses.replace(target, label=None)


def _one_step(pair, method: str, together: bool, device: str):
    # a budget of one batch an epoch: every member takes exactly one (per-patch) step, whatever its split
    config = TrainConfig(method=method, patch_size=5, epochs=1, batch_size=48, samples_per_epoch=48, members=3,
                         members_together=together, device=device, seed=4, training_mode="patch")
    return train(*pair, config)


@pytest.mark.parametrize("method", ["dann_cta", "cnn"])  # the domain head, and the probe of a network without one
def test_members_side_by_side_take_the_step_each_takes_alone(pair, method, device):
    """On CUDA, under bf16 autocast, the stacked kernels round otherwise: there the losses agree to bf16's
    precision, and the weights (after Adam's sign-like first step) are not compared."""
    alone, together = _one_step(pair, method, False, device), _one_step(pair, method, True, device)
    loss_tolerance = 1e-6 if device == "cpu" else 2e-2
    for one, other in zip(alone.members, together.members, strict=True):
        assert one.seed == other.seed
        for key in ("loss_label", "loss_domain"):
            assert one.history[0][key] == pytest.approx(other.history[0][key], abs=loss_tolerance), key
    moved = []
    for one, other in zip(alone.model.networks, together.model.networks, strict=True):
        first, second = one.state_dict(), other.state_dict()
        pre_norm_biases = {f"convs.{i}.bias" for i in range(0, len(one.convs), 3)}
        for name in first if device == "cpu" else ():
            if name not in pre_norm_biases:
                assert torch.allclose(first[name].float(), second[name].float(), atol=STEP_TOLERANCE), name
        moved.append(first["convs.0.weight"])
    # the members are different networks: their own seeds, their own draws
    assert not torch.allclose(moved[0], moved[1]) and not torch.allclose(moved[1], moved[2])


def test_members_train_side_by_side_on_cuda_and_one_after_the_other_on_the_cpu():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not trains_together(TrainConfig(members=3), cpu)
    assert trains_together(TrainConfig(members=3), cuda)
    assert not trains_together(TrainConfig(members=1), cuda)
    assert not trains_together(TrainConfig(method="rf", members=3), cuda)
    assert trains_together(TrainConfig(members=3, members_together=True), cpu)
    assert not trains_together(TrainConfig(members=3, members_together=False), cuda)


def test_progress_of_members_side_by_side_runs_once_to_the_end(pair):
    """Side by side there is no 'member 2 of 3' to report: the bar runs once over the epochs, said as such."""
    config = TrainConfig(method="cnn", patch_size=5, epochs=2, batch_size=48, samples_per_epoch=96, members=3,
                         members_together=True, device="cpu")
    reported = []
    train(*pair, config, reported.append)
    assert reported and all("member" not in event and event["members"] == 3 for event in reported)
    ends = [event for event in reported if "val_auc" in event]
    assert [event["epoch"] for event in ends] == [1, 2]  # one entry per epoch for the three members, not three
    fractions = [training_progress(event)[0] for event in reported]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # the epoch's scoring has its share of the bar: each member scored moves it on, so the time left is not
    # measured on the steps alone (at real size they are a third of an epoch)
    scoring = [event["done"] for event in reported if event["step"] == event["steps"] and "val_auc" not in event]
    assert len(scoring) == 2 * 2 and all(0 < done < 1 for done in scoring)
    assert training_progress(ends[0]) == (0.5, "3 members side by side, epoch 1/2" + "".join(
        f", {k} {ends[0][k]:.4g}" for k in ("loss_label", "loss_domain", "val_auc", "disc_acc")))
    one_after_another = training_progress({"epoch": 2, "epochs": 2, "step": 1, "steps": 2, "member": 2, "members": 3})
    assert one_after_another == (pytest.approx((1 + 1.5 / 2) / 3), "Member 2/3, epoch 2/2")
