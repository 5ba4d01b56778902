"""TARGET_LOSS mcc: Minimum Class Confusion on the target's ore logits (core/learning/class_confusion.py)."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.class_confusion import minimum_class_confusion
from mpm3d.core.learning.training import train
from mpm3d.core.settings import TrainConfig, check_settings


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _matrix_mcc(logits: torch.Tensor, temperature: float) -> float:
    """The paper's recipe with the full two-class matrices, as tllib writes it for C classes."""
    predictions = torch.softmax(torch.stack([torch.zeros_like(logits), logits], dim=1) / temperature, dim=1)
    entropy = -(predictions * predictions.log()).sum(dim=1)
    weight = 1 + torch.exp(-entropy)
    weight = (len(logits) * weight / weight.sum())[:, None]
    confusion = (predictions * weight).T @ predictions
    confusion = confusion / confusion.sum(dim=1, keepdim=True)
    return float((confusion.sum() - confusion.trace()) / 2)


def test_two_patches_by_hand():
    """p = 0.2 and 0.9 at temperature 1: entropies 0.500 and 0.325, weights 0.965 and 1.035, confusion
    c = 0.2476 over rows of 0.8756 (barren) and 1.1244 (ore): (0.2476 / 0.8756 + 0.2476 / 1.1244) / 2 = 0.2515."""
    logits = torch.tensor([_logit(0.2), _logit(0.9)])
    assert float(minimum_class_confusion(logits, temperature=1.0)) == pytest.approx(0.2515, abs=2e-4)
    assert float(minimum_class_confusion(logits, temperature=1.0)) == pytest.approx(_matrix_mcc(logits, 1.0), abs=1e-6)


def test_matches_the_matrix_form_at_the_default_temperature_per_member():
    logits = torch.randn(3, 64, generator=torch.Generator().manual_seed(0)) * 4 - 3  # mostly barren, as a target
    losses = minimum_class_confusion(logits)
    assert losses.shape == (3,)
    for member in range(3):
        assert float(losses[member]) == pytest.approx(_matrix_mcc(logits[member], 2.5), abs=1e-6)


def test_a_sure_split_is_unconfused_and_calling_everything_barren_is_not():
    """At a 2 % ore share, the class normalisation keeps the one ore patch in view: all-barren scores as badly
    as a coin toss, a confident split near 0."""
    split = torch.tensor([30.0] + [-30.0] * 49)
    all_barren = torch.full((50,), -30.0)
    assert float(minimum_class_confusion(split)) < 1e-3
    assert float(minimum_class_confusion(all_barren)) == pytest.approx(0.5, abs=1e-3)
    assert float(minimum_class_confusion(torch.zeros(50))) == pytest.approx(0.5, abs=1e-6)


def test_its_gradient_sharpens_the_predictions():
    """One descent step moves an ore-leaning logit up and a barren-leaning one down (the weights carry none)."""
    logits = torch.tensor([1.0, -1.0, -2.0], requires_grad=True)
    minimum_class_confusion(logits).backward()
    assert logits.grad[0] < 0 < logits.grad[1] and logits.grad[2] > 0


@pytest.mark.parametrize("method", ["cnn", "dann_cta"])
def test_trains_end_to_end_on_a_tiny_pair(small_pair, method):
    source, target = small_pair
    config = TrainConfig(method=method, patch_size=5, epochs=2, batch_size=32, device="cpu", seed=2, members=1,
                         target_loss="mcc")
    unlabelled = dataclasses.replace(target, label=None)
    result = train(source, unlabelled, config)
    assert all(0 <= h["loss_target"] <= 1 for h in result.history)
    assert result.model.provenance["train_config"]["target_loss"] == "mcc"
    plain = train(source, unlabelled, dataclasses.replace(config, target_loss="none"))
    assert "loss_target" not in plain.history[0]
    first, second = (r.model.networks[0].state_dict() for r in (result, plain))
    assert not all(torch.equal(first[k], second[k]) for k in first)  # the loss acts on the weights
    assert all(np.isfinite(h["loss_label"]) for h in result.history)


def test_block_training_refuses_it_naming_the_setting():
    config = TrainConfig(method="dann_cta", training_mode="block", target_loss="mcc")
    with pytest.raises(Mpm3dError, match=r"TRAINING_MODE 'block'.*TARGET_LOSS 'mcc'"):
        check_settings((12, 24, 24), (12, 24, 24), config)
