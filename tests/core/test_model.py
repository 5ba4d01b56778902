"""The network: gradient reversal, shapes, dense equivalence at the module level, the forest as arrays."""

import json

import numpy as np
import pytest
import torch
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.model import (
    NETWORK_METHODS,
    ForestArrays,
    ModelConfig,
    ProspectivityNet,
    config_for_method,
    resolve_device,
    reverse_gradient,
)
from sklearn.ensemble import RandomForestClassifier


def test_gradient_reversal_is_identity_forward_and_flips_and_scales_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    upstream = torch.tensor([0.5, 1.0, -4.0])
    y = reverse_gradient(x, 0.25)
    assert torch.equal(y, x.detach())
    y.backward(upstream)
    assert torch.equal(x.grad, torch.tensor([-0.125, -0.25, 1.0]))


def test_gradient_reversal_reaches_features_but_not_the_discriminator():
    net = ProspectivityNet(config_for_method("dann", n_features=3, patch_size=5)).train()
    x = torch.randn(4, 3, 5, 5, 5)
    grads = {}
    for lambda_ in (0.0, 1.0, 2.0):
        net.zero_grad()
        net.domain_logits(net.embed(x), lambda_).sum().backward()
        grads[lambda_] = (net.convs[0].weight.grad.clone(), net.domain_head[0].weight.grad.clone())
    assert torch.count_nonzero(grads[0.0][0]) == 0
    torch.testing.assert_close(grads[2.0][0], 2 * grads[1.0][0])
    torch.testing.assert_close(grads[0.0][1], grads[1.0][1])  # the discriminator itself is not reversed


@pytest.mark.parametrize("method", NETWORK_METHODS)
def test_method_switches_attention_and_domain_head(method):
    config = config_for_method(method, n_features=4, patch_size=9)
    net = ProspectivityNet(config)
    attention = method in ("dann_cta", "cta")
    assert (net.feature_gate is not None) == attention
    assert (net.spatial_pool is not None) == attention
    assert (net.channel_gate is not None) == attention
    assert (net.domain_head is not None) == (method in ("dann_cta", "dann"))


def test_config_round_trips_through_json():
    config = ModelConfig(n_features=5, patch_size=7, channels=(8, 16, 16), spatial_attention=False)
    again = ModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert (again.n_conv, again.pool_window, again.n_embedding) == (3, 1, 16)


def _randomise_batchnorm(net: torch.nn.Module, seed: int) -> None:
    """Non-trivial running statistics, so eval-mode BatchNorm is not an identity in the comparison."""
    generator = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)


@pytest.mark.parametrize("patch_size", [3, 5, 7, 9, 11])
@pytest.mark.parametrize("method", ["dann_cta", "cnn"])
def test_dense_pass_equals_one_patch_per_voxel(method, patch_size):
    torch.manual_seed(patch_size)
    net = ProspectivityNet(config_for_method(method, n_features=3, patch_size=patch_size))
    _randomise_batchnorm(net, patch_size)
    net.eval()
    volume = torch.randn(1, 3, patch_size + 3, patch_size + 2, patch_size + 4)
    windows = [volume[0, :, z:z + patch_size, y:y + patch_size, x:x + patch_size]
               for z, y, x in np.ndindex(4, 3, 5)]
    with torch.no_grad():
        dense = net(volume)[0, 0]
        per_patch = net(torch.stack(windows))
    assert dense.shape == (4, 3, 5)
    assert per_patch.shape == (60, 1, 1, 1, 1)
    torch.testing.assert_close(per_patch.flatten(), dense.flatten(), atol=1e-5, rtol=0)


def test_even_or_tiny_patch_is_refused():
    for patch_size in (1, 4):
        with pytest.raises(Mpm3dError, match="odd"):
            ProspectivityNet(ModelConfig(n_features=2, patch_size=patch_size))


def test_forest_arrays_predict_like_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 + 0.3 * rng.standard_normal(600) > 0.5).astype(int)
    forest = RandomForestClassifier(n_estimators=25, min_samples_leaf=3, random_state=0).fit(x, y)
    arrays = ForestArrays.from_arrays(ForestArrays.from_sklearn(forest).to_arrays())
    probe = rng.standard_normal((300, 4)).astype(np.float32)
    assert arrays.n_trees == 25
    np.testing.assert_allclose(arrays.predict(probe), forest.predict_proba(probe)[:, 1], atol=1e-12)


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    """What a machine without a GPU says; on one with CUDA, torch is told there is none."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(Mpm3dError, match=r"^CUDA was requested \(DEVICE set to cuda, device=cuda\) but torch reports "
                                         r"no CUDA device; set DEVICE to auto \(which falls back to the CPU\) or cpu$"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
