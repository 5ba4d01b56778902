"""The epoch scores' network outputs at fixed voxels: tiles where they are cheaper, the same numbers as patches."""

import numpy as np
import pytest
import torch
from mpm3d.core.learning import voxel_outputs
from mpm3d.core.learning.model import ProspectivityNet, config_for_method
from mpm3d.core.learning.sampling import PatchGatherer, cube_stats, padded_standardised
from mpm3d.core.learning.voxel_outputs import VoxelOutputs, embed_and_score


@pytest.mark.parametrize(("method", "share", "tiled"), [("dann_cta", 0.5, True), ("cnn", 0.2, True),
                                                         ("dann_cta", 0.0005, False)])
def test_tiles_give_each_voxel_its_patch_outputs_and_are_used_only_where_cheaper(small_pair, method, share, tiled):
    source, _ = small_pair
    patches = PatchGatherer(padded_standardised(source, cube_stats(source), 3), 7, torch.device("cpu"))
    torch.manual_seed(1)
    net = ProspectivityNet(config_for_method(method, len(source.feature_names), 7)).eval()
    voxels = np.random.default_rng(0).choice(source.valid.size, max(2, int(share * source.valid.size)),
                                             replace=False)  # in no order: outputs must follow the voxels'
    outputs = VoxelOutputs(patches, voxels)
    assert bool(outputs.dense) == tiled
    embedding, logits = outputs.embed_and_score(net, torch.device("cpu"))
    per_patch = embed_and_score(net, patches, patches.centre_index(voxels), torch.device("cpu"))
    assert embedding.shape == (len(voxels), net.config.n_embedding) and logits.shape == (len(voxels),)
    np.testing.assert_allclose(embedding, per_patch[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(logits, per_patch[1], rtol=0, atol=1e-5)


def test_no_voxels_give_empty_outputs(small_pair):
    source, _ = small_pair
    patches = PatchGatherer(padded_standardised(source, cube_stats(source), 2), 5, torch.device("cpu"))
    net = ProspectivityNet(config_for_method("cnn", len(source.feature_names), 5)).eval()
    embedding, logits = VoxelOutputs(patches, np.zeros(0, np.int64)).embed_and_score(net, torch.device("cpu"))
    assert embedding.shape == (0, net.config.n_embedding) and logits.shape == (0,)


def test_sets_on_one_cube_share_each_tile_pass_and_keep_their_own_outputs(small_pair, monkeypatch):
    """The epoch's validation blocks and probe voxels on the source: one pass per tile either holds, not two."""
    monkeypatch.setattr(voxel_outputs, "TILE_EDGE", (4, 8, 8))  # several tiles on the small cube
    source, target = small_pair
    cpu = torch.device("cpu")
    source_patches, target_patches = (PatchGatherer(padded_standardised(cube, cube_stats(cube), 2), 5, cpu)
                                      for cube in (source, target))
    torch.manual_seed(2)
    net = ProspectivityNet(config_for_method("dann_cta", len(source.feature_names), 5)).eval()
    rng = np.random.default_rng(1)
    columns = np.flatnonzero(np.broadcast_to(np.arange(source.valid.shape[2]) < 12, source.valid.shape))
    sets = [VoxelOutputs(source_patches, rng.permutation(columns)),
            VoxelOutputs(source_patches, rng.choice(source.valid.size, source.valid.size // 2, replace=False)),
            VoxelOutputs(target_patches, rng.choice(target.valid.size, target.valid.size // 2, replace=False))]
    assert all(outputs.dense for outputs in sets)
    passes = []
    original = net.embed
    monkeypatch.setattr(net, "embed", lambda x: passes.append(tuple(x.shape[2:])) or original(x))
    together = voxel_outputs.outputs_at(net, sets, cpu)
    tile_passes = [shape for shape in passes if shape != (5, 5, 5)]  # the rest: patches of the sparser tiles
    source_tiles = sets[0].dense | sets[1].dense
    assert len(tile_passes) == len(source_tiles) + len(sets[2].dense) < sum(len(s.dense) for s in sets)
    for outputs, (embedding, logits) in zip(sets, together, strict=True):
        alone = embed_and_score(net, outputs.patches, outputs.centres, cpu)
        np.testing.assert_allclose(embedding, alone[0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(logits, alone[1], rtol=0, atol=1e-5)


def test_crowded_tiles_run_dense_and_scattered_voxels_go_by_patch_in_one_set(small_pair, monkeypatch):
    """A real-size deposit's validation voxels lie scattered: a tile holding a few of them costs more than their
    patches (a 100 x 500 x 500 epoch's scores took 28 s by tiles). Each tile is decided alone, the numbers the same."""
    monkeypatch.setattr(voxel_outputs, "TILE_EDGE", (4, 8, 8))
    source, _ = small_pair
    patches = PatchGatherer(padded_standardised(source, cube_stats(source), 2), 5, torch.device("cpu"))
    torch.manual_seed(3)
    net = ProspectivityNet(config_for_method("dann_cta", len(source.feature_names), 5)).eval()
    crowded = np.ravel_multi_index(np.indices((4, 8, 8)).reshape(3, -1), source.valid.shape)  # one whole tile
    far = np.ravel_multi_index(([source.valid.shape[0] - 1] * 3, [20, 21, 22], [20, 20, 21]), source.valid.shape)
    voxels = np.random.default_rng(4).permutation(np.concatenate([crowded, far]))
    outputs = VoxelOutputs(patches, voxels)
    assert len(outputs.dense) == 1 and len(outputs.tiles) > 1
    passes = []
    original = net.embed
    monkeypatch.setattr(net, "embed", lambda x: passes.append(tuple(x.shape)) or original(x))
    embedding, logits = outputs.embed_and_score(net, torch.device("cpu"))
    assert passes[0] == (1, len(source.feature_names), 8, 12, 12)
    assert len(passes) == 2 and passes[1] == (len(far), len(source.feature_names), 5, 5, 5)
    per_patch = embed_and_score(net, patches, patches.centre_index(voxels), torch.device("cpu"))
    np.testing.assert_allclose(embedding, per_patch[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(logits, per_patch[1], rtol=0, atol=1e-5)
