"""Label-free epoch selection: each rule's score means what it says, training returns the weights the rule
chose, and no rule reads a target label."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from mpm3d.core.data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.selection import SELECTION_RULES, averaged_epochs, chosen_epoch
from mpm3d.core.learning.selection_scores import average_states, deep_embedded_validation, mean_entropy
from mpm3d.core.learning.training import train
from mpm3d.core.settings import TrainConfig

NETWORK_RULES = [rule for rule in SELECTION_RULES if rule != "average"]


def _config(**changes):
    return TrainConfig(**{"method": "dann", "patch_size": 5, "epochs": 4, "batch_size": 32, "device": "cpu",
                          "members": 1,
                          "seed": 5, **changes})


def test_each_rule_keeps_its_best_epoch_and_the_earliest_of_ties():
    history = [{"epoch": 1, "val_auc": 0.8, "entropy": 0.5, "dev": 0.9, "mixval": 0.7},
               {"epoch": 2, "val_auc": 0.9, "entropy": 0.3, "dev": 0.4, "mixval": 0.7},
               {"epoch": 3, "val_auc": 0.9, "entropy": 0.2, "dev": 0.6, "mixval": 0.6}]
    assert [chosen_epoch(history, rule) for rule in NETWORK_RULES] == [2, 3, 2, 1]
    unscored = [{"epoch": e, "val_auc": None} for e in (1, 2, 3)]  # VALIDATION_FRACTION 0: the last epoch
    assert chosen_epoch(unscored, "source_val") == 3


def test_the_average_takes_the_last_quarter_and_averages_floats_only():
    assert averaged_epochs(20) == [16, 17, 18, 19, 20] and averaged_epochs(6) == [5, 6] and averaged_epochs(1) == [1]
    states = [{"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(4)},
              {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(8)}]
    averaged = average_states(states)
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0])) and int(averaged["n"]) == 8


def test_entropy_is_ln2_for_undecided_and_near_zero_for_confident_predictions():
    assert mean_entropy(np.zeros(10)) == pytest.approx(math.log(2))
    assert mean_entropy(np.array([-20.0, 20.0])) < 1e-6


def test_dev_is_the_plain_validation_loss_when_the_domains_look_alike_and_grows_with_worse_predictions():
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(2000, 4))
    labels = (rng.random(400) < 0.5).astype(float)
    good = np.where(labels == 1, 3.0, -3.0)
    plain_loss = np.mean(np.log1p(np.exp(-3.0)))
    dev = deep_embedded_validation(embedding[:1000], embedding[1000:], rng.normal(size=(400, 4)), good, labels,
                                   np.ones(400))
    assert dev == pytest.approx(plain_loss, rel=0.1)
    worse = deep_embedded_validation(embedding[:1000], embedding[1000:], rng.normal(size=(400, 4)), -good, labels,
                                     np.ones(400))
    assert worse > 10 * dev


def test_dev_counts_the_target_like_voxels_more():
    """Validation voxels whose embedding lies where the target is get the weight: their loss is DEV's."""
    rng = np.random.default_rng(1)
    source = rng.normal(0.0, 1.0, size=(2000, 2))
    target = rng.normal(3.0, 1.0, size=(2000, 2))
    val = np.concatenate([rng.normal(0.0, 1.0, size=(300, 2)), rng.normal(3.0, 1.0, size=(300, 2))])
    labels = np.tile([0.0, 1.0], 300)
    right = np.where(labels == 1, 4.0, -4.0)
    wrong_where_target_is = np.concatenate([right[:300], -right[300:]])
    wrong_where_source_is = np.concatenate([-right[:300], right[300:]])
    args = (source, target, val)
    assert deep_embedded_validation(*args, wrong_where_target_is, labels, np.ones(600)) > \
        5 * deep_embedded_validation(*args, wrong_where_source_is, labels, np.ones(600))


@pytest.mark.parametrize("rule", SELECTION_RULES)
def test_training_returns_the_weights_of_the_epoch_its_rule_chose(small_pair, rule):
    source, target = small_pair
    seen = {}

    def keep(epoch, net):
        seen[epoch] = {k: v.detach().clone() for k, v in net.state_dict().items()}

    result = train(source, dataclasses.replace(target, label=None), _config(selection=rule), on_epoch_end=keep)
    returned = result.model.networks[0].state_dict()
    history = result.history
    assert all(0 < h["entropy"] <= math.log(2) and 0 <= h["mixval"] <= 1 and h["dev"] > 0 for h in history)
    if rule == "average":
        expected = average_states([seen[epoch] for epoch in averaged_epochs(4)])
        assert result.members[0].averaged_epochs == [4] and result.best_epoch == 4
    else:
        best = chosen_epoch(history, rule)
        expected = seen[best]
        assert result.best_epoch == best and result.val_auc == history[best - 1]["val_auc"]
    assert all(torch.allclose(returned[k].float(), expected[k].float()) for k in returned)
    assert result.model.provenance["train_config"]["selection"] == rule


def test_average_over_several_epochs_differs_from_every_epoch(small_pair):
    source, target = small_pair
    seen = {}

    def keep(epoch, net):
        seen[epoch] = net.state_dict()["label_head.0.weight"].clone()

    result = train(source, dataclasses.replace(target, label=None), _config(selection="average", epochs=8),
                   on_epoch_end=keep)
    assert result.members[0].averaged_epochs == [7, 8]
    returned = result.model.networks[0].state_dict()["label_head.0.weight"]
    assert torch.allclose(returned, (seen[7] + seen[8]) / 2)
    assert not any(torch.equal(returned, weights) for weights in seen.values())
    assert 0.5 < result.val_auc <= 1.0


@pytest.mark.parametrize("rule", ["entropy", "mixval", "dev"])
def test_no_rule_reads_the_target_labels(small_pair, rule):
    """The target's labels deleted or scrambled: every score of every epoch and the weights stay bit-identical."""
    source, target = small_pair
    scrambled = np.random.default_rng(9).choice([LABEL_UNKNOWN, LABEL_BARREN, LABEL_ORE], size=target.label.shape)
    results = [train(source, dataclasses.replace(target, label=label), _config(selection=rule, epochs=2))
               for label in (None, scrambled)]
    untimed = [[{k: v for k, v in h.items() if k not in ("patches_per_s", "seconds")} for h in r.history]
               for r in results]
    assert untimed[0] == untimed[1]
    first, second = (r.model.networks[0].state_dict() for r in results)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_an_unknown_rule_is_named_with_the_choices(small_pair):
    with pytest.raises(Mpm3dError, match=r"unknown epoch selection rule \(SELECTION\) 'best'; choose one of "
                                         r"source_val, entropy, dev, mixval, average"):
        train(*small_pair, _config(selection="best"))
