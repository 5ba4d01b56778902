"""One ``.safetensors`` file per model: arrays plus JSON metadata, loadable without running any code.

safetensors holds only raw arrays and a JSON header, so a model file from someone else cannot execute
anything when opened (a pickle, or ``torch.load`` of one, can). Random forests are stored as arrays of
their trees for the same reason. The header is checked by hand before safetensors reads the file, so
a file that is not one (a pickle, a zip) or is cut short gets a clear error naming it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import safetensors.numpy
import torch

from .atomic import atomic_path
from .errors import Mpm3dError
from .model import ForestArrays, ModelConfig, ProspectivityNet, TrainedModel

FORMAT = "mpm3d-model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000
NETWORK_PREFIX = "network."
FOREST_PREFIX = "forest."


def save_model(path: str, model: TrainedModel, source_description: str | None = None,
               target_description: str | None = None) -> None:
    """Write ``model`` to ``path`` atomically (beside it first, then renamed into place).

    The descriptions of the training data, where given, go into the provenance as "source" and "target".
    """
    if model.network is not None:
        tensors = {NETWORK_PREFIX + k: np.ascontiguousarray(v.detach().cpu().numpy())
                   for k, v in model.network.state_dict().items()}
        model_config = model.network.config.to_dict()
    else:
        tensors = {FOREST_PREFIX + k: np.ascontiguousarray(v) for k, v in model.forest.to_arrays().items()}
        model_config = {"n_features": len(model.feature_names), "n_trees": model.forest.n_trees}
    provenance = dict(model.provenance)
    for role, description in (("source", source_description), ("target", target_description)):
        if description is not None:
            provenance[role] = description
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "method": model.method,
        "model_config": json.dumps(model_config),
        "feature_names": json.dumps(list(model.feature_names)),
        "normalisation": json.dumps(model.normalisation),
        "patch_size": str(model.patch_size),
        "provenance": json.dumps(provenance),
        "val_auc": json.dumps(model.val_auc),
    }
    with atomic_path(path) as partial:
        safetensors.numpy.save_file(tensors, partial, metadata=metadata)


def load_model(path: str) -> TrainedModel:
    """Read a model file written by :func:`save_model`; anything else is refused without being executed."""
    metadata = _read_checked_header(path)
    try:
        tensors = safetensors.numpy.load_file(path)
        config = json.loads(metadata["model_config"])
        method = metadata["method"]
        network = forest = None
        if any(name.startswith(NETWORK_PREFIX) for name in tensors):
            network = ProspectivityNet(ModelConfig.from_dict(config))
            state = {k[len(NETWORK_PREFIX):]: torch.from_numpy(v) for k, v in tensors.items()}
            network.load_state_dict(state, strict=True)
        else:
            forest = ForestArrays.from_arrays({k[len(FOREST_PREFIX):]: v for k, v in tensors.items()})
        return TrainedModel(
            method=method,
            feature_names=json.loads(metadata["feature_names"]),
            patch_size=int(metadata["patch_size"]),
            normalisation=json.loads(metadata["normalisation"]),
            network=network,
            forest=forest,
            provenance=json.loads(metadata["provenance"]),
            val_auc=json.loads(metadata["val_auc"]),
        )
    except Mpm3dError:
        raise
    except Exception as exc:  # any inconsistency inside an otherwise well-formed file
        raise Mpm3dError(f"the MODEL file {path} is damaged or inconsistent ({exc}); train the model again") from exc


def _read_checked_header(path: str) -> dict[str, Any]:
    """The metadata of a complete mpm3d safetensors file, read as bytes and JSON only."""
    not_safetensors = (f"the MODEL {path} is not an mpm3d model file (not a safetensors file; it was not opened "
                       "further, so nothing in it ran); give a model written by 'Train prospectivity model'")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            header_bytes = handle.read(min(length, MAX_HEADER_BYTES))
    except OSError as exc:
        raise Mpm3dError(f"cannot read the MODEL file {path}: {exc.strerror}") from exc
    if size < 8 or length > MAX_HEADER_BYTES or not header_bytes.startswith(b"{"):
        raise Mpm3dError(not_safetensors)
    if 8 + length > size:
        raise Mpm3dError(f"the MODEL file {path} is truncated (its header is cut short); copy the complete file "
                         "again, or train the model again")
    try:
        header = json.loads(header_bytes)
    except ValueError as exc:
        raise Mpm3dError(not_safetensors) from exc
    data_size = size - 8 - length
    try:
        ends = {name: int(entry["data_offsets"][1])
                for name, entry in header.items() if name != "__metadata__"}
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise Mpm3dError(not_safetensors) from exc
    for name, end in ends.items():
        if end > data_size:
            raise Mpm3dError(f"the MODEL file {path} is truncated (tensor '{name}' is cut short); copy the "
                             "complete file again, or train the model again")
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise Mpm3dError(
            f"the MODEL {path} is a safetensors file but not an mpm3d model (format {metadata.get('format')!r}); "
            "give a model written by 'Train prospectivity model'"
        )
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise Mpm3dError(
            f"the MODEL file {path} has format version {metadata.get('format_version')}, this mpm3d reads "
            f"version {FORMAT_VERSION}; use the mpm3d version that wrote it, or train the model again"
        )
    return metadata
