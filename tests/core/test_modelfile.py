"""Model files: exact round trips, and nothing but a complete mpm3d safetensors file is accepted."""

import dataclasses
import json
import os
import pickle

import numpy as np
import pytest
import safetensors.numpy
import torch
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.modelfile import FORMAT, FORMAT_VERSION, load_model, save_model
from mpm3d.core.learning.predict import predict_cube, predict_patches
from mpm3d.core.learning.training import train
from mpm3d.core.settings import TrainConfig
from pickle_payload import CreatesMarker


@pytest.fixture(scope="module")
def pair():
    return synthetic_pair(shape=(10, 16, 16), voxel_size=(60.0, 100.0, 100.0), seed=4)


@pytest.fixture(scope="module")
def models(pair):
    source, target = pair
    target = dataclasses.replace(target, label=None)
    return {method: train(source, target, TrainConfig(members=1, method=method, patch_size=5, epochs=1, batch_size=16,
                                                      device="cpu", val_fraction=0)).model
            for method in ("dann_cta", "rf")}


@pytest.fixture()
def saved(tmp_path, models):
    path = str(tmp_path / "model.safetensors")
    save_model(path, models["dann_cta"], source_description="xiadian.nc",
               target_description="dayingezhuang.nc")
    return path


@pytest.mark.parametrize("method", ["dann_cta", "rf"])
def test_round_trip_predicts_identically(tmp_path, pair, models, method):
    _, target = pair
    path = str(tmp_path / f"{method}.safetensors")
    save_model(path, models[method])
    loaded = load_model(path)
    assert loaded.method == method and loaded.feature_names == models[method].feature_names
    assert loaded.normalisation == models[method].normalisation
    np.testing.assert_array_equal(predict_cube(loaded, target, device="cpu"),
                                  predict_cube(models[method], target, device="cpu"))
    indices = np.argwhere(target.valid)[::11]
    np.testing.assert_array_equal(predict_patches(loaded, target, indices, device="cpu"),
                                  predict_patches(models[method], target, indices, device="cpu"))
    assert os.listdir(tmp_path) == [f"{method}.safetensors"]  # no temporary file left behind


def test_metadata_is_plain_json_with_provenance(saved, models):
    with open(saved, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    metadata = header["__metadata__"]
    assert metadata["format"] == FORMAT and metadata["format_version"] == str(FORMAT_VERSION)
    assert metadata["method"] == "dann_cta" and metadata["patch_size"] == "5"
    assert json.loads(metadata["feature_names"]) == models["dann_cta"].feature_names
    assert set(json.loads(metadata["normalisation"])) == {"source", "target"}
    assert json.loads(metadata["model_config"])["domain_head"] is True
    provenance = json.loads(metadata["provenance"])
    assert provenance["source"] == "xiadian.nc" and provenance["target"] == "dayingezhuang.nc"
    assert provenance["seed"] == 0 and provenance["epochs"] == 1 and len(provenance["history"]) == 1
    assert set(provenance["versions"]) == {"mpm3d", "torch", "numpy", "scikit-learn"}


def test_pickle_is_refused_without_being_unpickled(tmp_path):
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(CreatesMarker(str(control))))
    assert control.exists()  # the payload really does run code when unpickled

    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"weights": CreatesMarker(str(marker))}))
    with pytest.raises(Mpm3dError, match="not an mpm3d model file") as error:
        load_model(str(path))
    assert str(path) in str(error.value)
    torch_pickle = tmp_path / "torch.pt"
    torch.save({"weights": torch.zeros(3)}, torch_pickle)
    with pytest.raises(Mpm3dError, match="not an mpm3d model file"):
        load_model(str(torch_pickle))
    assert not marker.exists()


@pytest.mark.parametrize("keep", [3, 100, -40])
def test_truncated_file_is_refused(saved, keep):
    data = open(saved, "rb").read()
    with open(saved, "wb") as handle:
        handle.write(data[:keep] if keep > 0 else data[:keep])
    with pytest.raises(Mpm3dError, match="truncated|not an mpm3d model file") as error:
        load_model(saved)
    assert saved in str(error.value)


def _rewrite_metadata(path, **changes):
    tensors = safetensors.numpy.load_file(path)
    with open(path, "rb") as handle:
        metadata = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))["__metadata__"]
    safetensors.numpy.save_file(tensors, path, metadata={**metadata, **changes})


def test_unknown_format_or_version_is_refused(saved):
    _rewrite_metadata(saved, format_version="2")
    with pytest.raises(Mpm3dError, match="format version 2.*reads version 1"):
        load_model(saved)
    _rewrite_metadata(saved, format="somebody-else", format_version="1")
    with pytest.raises(Mpm3dError, match="not an mpm3d model"):
        load_model(saved)
    safetensors.numpy.save_file({"w": np.zeros(2, np.float32)}, saved)
    with pytest.raises(Mpm3dError, match="not an mpm3d model"):
        load_model(saved)


def test_saving_replaces_an_existing_file(tmp_path, models):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    save_model(str(path), models["rf"])
    assert load_model(str(path)).method == "rf"
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_a_one_network_file_of_an_earlier_version_still_loads(saved, pair, models):
    """Before ensembles the weights were stored under "network." without a member number and without a
    source sample: such a file loads as a one-member ensemble and predicts as before (no novelty)."""
    _, target = pair
    tensors = safetensors.numpy.load_file(saved)
    with open(saved, "rb") as handle:
        metadata = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))["__metadata__"]
    legacy = {key.replace("networks.0.", "network.", 1): value for key, value in tensors.items()
              if not key.startswith("source_sample.")}
    assert all(key.startswith("network.") for key in legacy)
    safetensors.numpy.save_file(legacy, saved, metadata=metadata)
    loaded = load_model(saved)
    assert len(loaded.networks) == 1 and loaded.source_sample is None
    np.testing.assert_array_equal(predict_cube(loaded, target, device="cpu"),
                                  predict_cube(models["dann_cta"], target, device="cpu"))
