"""The checkout loaded as the package ``mpm3d``, the one name the plugin has everywhere (core/package.py), so the
tests import ``mpm3d.core`` as QGIS and the worker do; the device every device-dependent test runs on."""

import os
import runpy

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runpy.run_path(os.path.join(REPO, "core", "package.py"))["load_plugin_package"](REPO)

# How far a dense prediction may differ from one patch per voxel, in ore probability, by device.
# CPU: full float32; only the order of the sums differs.
# CUDA: bf16 autocast (core.learning.model.autocast_for) keeps 8 significant bits, and two kernels that sum in another
# order may round an activation one unit in the last place apart (2^-8 relative). Measured with the same bf16 autocast
# on the CPU, on the pair of tests/core/test_predict.py: bf16 moves a probability at most 0.0017 from float32
# (dann_cta and cnn, patch 5, 6 epochs; 0.0005 after 1 epoch), so two bf16 paths lie within about 0.0035 of each
# other. 0.02 leaves room for the GPU's own kernels (batch norm, reductions), while a misplaced halo or window,
# which moves probabilities by 0.1 or more, still fails.
DENSE_ATOL = {"cpu": 1e-4, "cuda": 0.02}


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """The device a test runs on: every such test runs on the CPU, and on CUDA where torch sees a GPU."""
    import torch

    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA part: torch.cuda.is_available() is False on this machine (no GPU or a CPU build of torch)")
    return request.param


@pytest.fixture
def dense_atol(device):
    """The tolerance of dense against per-patch prediction on ``device`` (see DENSE_ATOL)."""
    return DENSE_ATOL[device]


@pytest.fixture(scope="module")
def small_pair():
    """A coarse, quick version of the synthetic pair (same ground, fewer voxels): the training tests' pair, made
    once per test module."""
    from mpm3d.core.data.synthetic import synthetic_pair

    return synthetic_pair(shape=(12, 24, 24), voxel_size=(50.0, 70.0, 70.0), seed=1)
