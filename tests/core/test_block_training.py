"""Block training: the same function as per-patch training, evaluated on blocks; balanced labels; recorded."""

import dataclasses

import numpy as np
import pytest
import torch
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.blocks import (
    DOMAIN_PATCHES,
    LABELLED_BLOCKS,
    BlockGatherer,
    MemberBlocks,
    _turned,
    balanced_label_weights,
    block_losses,
)
from mpm3d.core.learning.members import MemberStack, TrainingHeads
from mpm3d.core.learning.model import ProspectivityNet, config_for_method
from mpm3d.core.learning.modelfile import load_model, save_model
from mpm3d.core.learning.sampling import PatchGatherer, cube_stats, padded_standardised
from mpm3d.core.learning.training import train
from mpm3d.core.settings import TrainConfig, training_mode_for

QUICK = dict(patch_size=5, epochs=2, batch_size=32, device="cpu", seed=2, members=1, training_mode="block")


@pytest.mark.parametrize("method", ["dann_cta", "cnn"])
@pytest.mark.parametrize("transform", [0, 3, 5])
def test_block_outputs_are_the_per_patch_outputs_of_the_same_voxels(small_pair, method, transform):
    """Each output of a (turned) block is the network's output for the (turned) patch of its voxel."""
    source, _ = small_pair
    torch.manual_seed(0)
    net = ProspectivityNet(config_for_method(method, len(source.feature_names), 7)).eval()
    patches = PatchGatherer(padded_standardised(source, cube_stats(source), 3), 7, torch.device("cpu"))
    blocks = BlockGatherer(patches, source.label)
    corner = np.array([[2, 5, 9]])
    inputs, _ = blocks.gather(corner, np.array([transform]))
    ez, ey, ex = blocks.edge
    voxel_ids = torch.arange(source.valid.size).view(1, *source.grid.shape)
    (z, y, x), = corner
    turned_ids = _turned(voxel_ids[:, z:z + ez, y:y + ey, x:x + ex], transform).flatten().numpy()
    with torch.no_grad():
        from_blocks = net(inputs).flatten()
        per_patch = net(patches.gather(patches.centre_index(turned_ids),
                                       torch.full((len(turned_ids),), transform))).flatten()
    assert from_blocks.shape == (ez * ey * ex,)
    torch.testing.assert_close(from_blocks, per_patch, rtol=0, atol=1e-5)


def test_blocks_carry_the_labels_turned_with_them(small_pair):
    source, _ = small_pair
    patches = PatchGatherer(padded_standardised(source, cube_stats(source), 2), 5, torch.device("cpu"))
    blocks = BlockGatherer(patches, source.label)
    corners = blocks.corners(np.flatnonzero(source.label == 1)[:3], np.random.default_rng(0))
    _, labels = blocks.gather(corners, np.array([0, 2, 6]))
    assert (labels == 1).flatten(1).any(dim=1).all()  # a block drawn around an ore voxel holds it
    for block, (z, y, x), transform in zip(labels, corners, (0, 2, 6), strict=True):
        crop = torch.from_numpy(source.label[None, z:z + 8, y:y + 8, x:x + 8].astype(np.float32))
        torch.testing.assert_close(block, _turned(crop, transform)[0])


def test_a_block_step_takes_its_domain_loss_on_patches_from_many_places_of_both_deposits(small_pair):
    """The adversary needs many places a step: on two blocks a deposit it barely moved the target AUC."""
    source, target = small_pair
    cpu = torch.device("cpu")
    patches = [PatchGatherer(padded_standardised(cube, cube_stats(cube), 2), 5, cpu) for cube in (source, target)]
    ore, barren = np.flatnonzero(source.label == 1), np.flatnonzero(source.label == 0)
    blocks = MemberBlocks(*patches, ore, barren)
    draws = blocks.epoch_draws(np.random.default_rng(0), np.flatnonzero(source.valid), np.flatnonzero(target.valid), 3)
    inputs, labels, domain = blocks.step(draws, 1)
    assert inputs.shape[0] == LABELLED_BLOCKS and labels.shape == (LABELLED_BLOCKS * np.prod(blocks.labelled.edge),)
    assert domain.shape == (2 * DOMAIN_PATCHES, len(source.feature_names), 5, 5, 5)
    window = slice(DOMAIN_PATCHES, 2 * DOMAIN_PATCHES)
    for name, gatherer, half in (("source", patches[0], slice(0, DOMAIN_PATCHES)),
                                 ("target", patches[1], slice(DOMAIN_PATCHES, None))):
        centres, transforms = (values[window] for values in draws[name])
        assert len(np.unique(centres.numpy())) > DOMAIN_PATCHES // 2  # many places, not one block's neighbours
        torch.testing.assert_close(domain[half], gatherer.gather(centres, transforms))
    torch.manual_seed(0)
    net = ProspectivityNet(config_for_method("dann", len(source.feature_names), 5))
    heads = TrainingHeads(net, None)
    heads.train()
    with torch.no_grad():
        label_loss, domain_loss, accuracy = block_losses(MemberStack([heads]), [blocks], [draws], 1, 0.5)
    assert label_loss.shape == domain_loss.shape == accuracy.shape == (1,)
    assert 0.3 < domain_loss.item() < 1.2 and 0 <= accuracy.item() <= 1  # cross-entropy of an untrained adversary


def test_label_weights_give_ore_and_barren_half_each():
    labels = torch.tensor([[1.0, 0.0, 0.0, 0.0, -1.0, 0.0], [0.0, 0.0, -1.0, -1.0, 0.0, 0.0]])
    weights = balanced_label_weights(labels)
    assert weights[0, 0] == pytest.approx(0.5) and weights[0, 1] == pytest.approx(0.125) and weights[0, 4] == 0
    assert weights[1].sum() == pytest.approx(1.0) and weights[1, 0] == pytest.approx(0.25)  # barren alone: all


def test_automatic_mode_is_block_on_the_cpu_where_block_takes_the_settings_and_patch_elsewhere():
    assert TrainConfig().training_mode == "auto"
    assert training_mode_for(TrainConfig(), "cpu") == "block"
    assert training_mode_for(TrainConfig(), "cuda") == "patch"  # block training unmeasured on a GPU
    assert training_mode_for(TrainConfig(target_labels="validate"), "cpu") == "block"
    for refused in ({"target_labels": "train"}, {"domain_steps": 2}, {"target_loss": "mcc"}):
        assert training_mode_for(TrainConfig(**refused), "cpu") == "patch"
    assert training_mode_for(TrainConfig(training_mode="patch"), "cpu") == "patch"
    assert training_mode_for(TrainConfig(training_mode="block"), "cuda") == "block"


def test_block_training_is_the_cpu_default_is_recorded_and_predicts_from_its_file(small_pair, tmp_path):
    source, target = small_pair
    unlabelled = dataclasses.replace(target, label=None)
    automatic = {key: value for key, value in QUICK.items() if key != "training_mode"}
    result = train(source, unlabelled, TrainConfig(method="dann_cta", **automatic))
    assert result.val_auc > 0.8
    assert all(0 <= h["disc_acc"] <= 1 for h in result.history)
    path = str(tmp_path / "block.mpm3d")
    save_model(path, result.model)
    assert load_model(path).provenance["train_config"]["training_mode"] == "block"


def test_block_mode_refuses_what_it_does_not_take_naming_it(small_pair):
    source, target = small_pair
    for changes, name in (({"target_labels": "train"}, "TARGET_LABELS 'train'"), ({"domain_steps": 1}, "DOMAIN_STEPS"),
                          ({"target_loss": "mcc"}, "TARGET_LOSS 'mcc'")):
        with pytest.raises(Mpm3dError, match=f"TRAINING_MODE 'block'.*{name}"):
            train(source, target, TrainConfig(method="dann", **{**QUICK, **changes}))


def test_block_epochs_take_the_patch_epochs_steps_within_the_samples_budget(small_pair):
    source, target = small_pair
    patches = [PatchGatherer(padded_standardised(cube, cube_stats(cube), 2), 5, torch.device("cpu"))
               for cube in (source, target)]
    ore, barren = np.flatnonzero(source.label == 1), np.flatnonzero(source.label == 0)
    blocks = MemberBlocks(*patches, ore, barren)
    assert blocks.steps_for(23, 65_536) == 23  # a small deposit: as many steps as per patch
    assert blocks.steps_for(512, 65_536) == 64  # the budget in labelled outputs: 64 steps of 2 blocks of 512
    assert blocks.steps_for(512, 0) == 512 and blocks.steps_for(3, 10) == 1
