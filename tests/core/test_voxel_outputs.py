"""The epoch scores' network outputs at fixed voxels: tiles where they are cheaper, the same numbers as patches."""

import numpy as np
import pytest
import torch
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
    assert outputs.tiled == tiled
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
