"""One ``.safetensors`` file per model: arrays plus JSON metadata, loadable without running any code.

safetensors holds only raw arrays and a JSON header, so a model file from someone else cannot execute
anything when opened (a pickle, or ``torch.load`` of one, can). Random forests are stored as arrays of
their trees for the same reason. The header is checked by hand before safetensors reads the file, so
a file that is not one (a pickle, a zip) or is cut short gets a clear error naming it.
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import safetensors.numpy
import torch

from ..atomic import atomic_path
from ..errors import Mpm3dError
from ..settings import METHODS, NETWORK_METHODS, setting
from .alignment import check_reference
from .model import ForestArrays, ModelConfig, ProspectivityNet, TrainedModel

FORMAT = "mpm3d-model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 4_000_000  # a real header is a few kB; a larger one is refused before it is parsed
PATCH_SIZE = setting("PATCH_SIZE")  # a model file holds a patch size training accepts
# bytes per value of each safetensors dtype
SAFETENSORS_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                           "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
JSON_FIELDS = ("model_config", "feature_names", "normalisation", "provenance", "val_auc")
MEMBER_PREFIX = "networks.{}."  # the weights of member i of the ensemble
FOREST_PREFIX = "forest."
SOURCE_SAMPLE = "source_sample."  # its arrays, the fields of core.learning.novelty.SourceSample


def save_model(path: str, model: TrainedModel, source_description: str | None = None,
               target_description: str | None = None) -> None:
    """Write ``model`` to ``path`` atomically (beside it first, then renamed into place).

    The descriptions of the training data, where given, go into the provenance as "source" and "target";
    the date of training (UTC), as "trained", when the first save of a model stamps it.
    """
    if model.networks:
        tensors = {MEMBER_PREFIX.format(index) + k: np.ascontiguousarray(v.detach().cpu().numpy())
                   for index, network in enumerate(model.networks) for k, v in network.state_dict().items()}
        model_config = model.networks[0].config.to_dict()
    else:
        tensors = {FOREST_PREFIX + k: np.ascontiguousarray(v) for k, v in model.forest.to_arrays().items()}
        model_config = {"n_features": len(model.feature_names), "n_trees": model.forest.n_trees}
    if model.source_sample is not None:
        tensors.update({SOURCE_SAMPLE + k: np.ascontiguousarray(v) for k, v in model.source_sample._asdict().items()})
    provenance = dict(model.provenance)
    provenance.setdefault("trained", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
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
    if model.alignment is not None:
        metadata["alignment"] = json.dumps(model.alignment)
    with atomic_path(path) as partial:
        safetensors.numpy.save_file(tensors, partial, metadata=metadata)


def load_model(path: str) -> TrainedModel:
    """Read a model file written by :func:`save_model`, whatever its name ends with; anything else is refused
    without being executed, and so is a file whose parts disagree (it would predict nonsense or fail later)."""
    metadata = _read_checked_header(path)
    damaged = f"the MODEL file {path} is damaged or was edited"
    fields = {key: _json_field(metadata, key, damaged) for key in JSON_FIELDS}
    method, names, config = metadata.get("method"), fields["feature_names"], fields["model_config"]
    if method not in METHODS:
        raise Mpm3dError(f"{damaged}: its method {method!r} is none of {', '.join(METHODS)}; train the model again")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names)):
        raise Mpm3dError(f"{damaged}: its feature_names are not a list of distinct names; train the model again")
    if not isinstance(config, dict) or config.get("n_features") != len(names):
        raise Mpm3dError(f"{damaged}: it names {len(names)} features but its model_config says n_features "
                         f"{config.get('n_features') if isinstance(config, dict) else config!r}; train the model again")
    patch_size = _patch_size(metadata.get("patch_size"), damaged)
    _check_normalisation(fields["normalisation"], len(names), damaged)
    alignment = _json_field(metadata, "alignment", damaged) if "alignment" in metadata else None  # older: none
    problem = check_reference(alignment, len(names))
    if problem:
        raise Mpm3dError(f"{damaged}: {problem}; train the model again")
    if not isinstance(fields["provenance"], dict) or not (
            fields["val_auc"] is None or isinstance(fields["val_auc"], int | float)):
        raise Mpm3dError(f"{damaged}: its provenance or val_auc is not what mpm3d writes; train the model again")
    try:
        tensors = safetensors.numpy.load_file(path)
    except Exception as exc:  # the library's own checks of a header that passed ours
        raise Mpm3dError(f"{damaged} ({exc}); train the model again") from exc
    for name, values in tensors.items():
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise Mpm3dError(f"{damaged}: its weights '{name}' hold NaN or infinite values (a training that diverged, "
                             "or a damaged copy); train the model again")
    sample = {k[len(SOURCE_SAMPLE):]: tensors.pop(k) for k in list(tensors) if k.startswith(SOURCE_SAMPLE)}
    networks, forest = [], None
    if method in NETWORK_METHODS:
        networks = _networks(tensors, config, patch_size, damaged)
    else:
        forest = _forest(tensors, len(names), damaged)
    return TrainedModel(method=method, feature_names=names, patch_size=patch_size,
                        normalisation=fields["normalisation"], networks=networks, forest=forest,
                        provenance=fields["provenance"], val_auc=fields["val_auc"],
                        source_sample=_source_sample(sample, len(names), damaged) if sample else None,
                        alignment=alignment)


def _json_field(metadata: dict[str, str], key: str, damaged: str) -> Any:
    """One JSON value of the metadata, parsed without letting a hostile nesting depth escape as RecursionError."""
    if key not in metadata:
        raise Mpm3dError(f"{damaged}: its metadata has no '{key}'; train the model again")
    try:
        return json.loads(metadata[key])
    except RecursionError as exc:
        raise Mpm3dError(f"{damaged}: its metadata '{key}' is nested too deeply to be mpm3d's; train the model "
                         "again") from exc
    except ValueError as exc:
        raise Mpm3dError(f"{damaged}: its metadata '{key}' is not valid JSON ({exc}); train the model again") from exc


def _patch_size(text: Any, damaged: str) -> int:
    try:
        patch_size = int(text)
    except (TypeError, ValueError):
        patch_size = 0
    if PATCH_SIZE.problem(patch_size):
        raise Mpm3dError(f"{damaged}: its patch size {text!r} is not an odd number from {PATCH_SIZE.minimum} to "
                         f"{PATCH_SIZE.maximum}; train the model again")
    return patch_size


def _check_normalisation(normalisation: Any, n_features: int, damaged: str) -> None:
    """Per-domain mean and std, one finite value per feature, std positive: the standardisation divides by it."""
    domains = normalisation if isinstance(normalisation, dict) else {}
    for domain in ("source", "target"):
        stats = domains.get(domain)
        if not (isinstance(stats, dict) and _finite_numbers(stats.get("mean"), n_features)
                and _finite_numbers(stats.get("std"), n_features) and all(s > 0 for s in stats["std"])):
            raise Mpm3dError(f"{damaged}: its normalisation statistics for the {domain} are not {n_features} finite "
                             "means and positive standard deviations; train the model again")


def _finite_numbers(values: Any, count: int) -> bool:
    try:
        return isinstance(values, list) and len(values) == count and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    except OverflowError:  # an integer too large for a float
        return False


def _source_sample(arrays: dict[str, np.ndarray], n_features: int, damaged: str):
    """What novelty is measured against: (n, F) standardised features, each voxel in one x-y block."""
    from .novelty import TILES, SourceSample  # scikit-learn comes with it, needed only here

    features, blocks = arrays.get("features"), arrays.get("blocks")
    if not (set(arrays) == set(SourceSample._fields) and features.ndim == 2 and features.shape[1] == n_features
            and features.dtype.kind == "f" and blocks.shape == (len(features),) and blocks.dtype.kind == "i"
            and np.all((blocks >= 0) & (blocks < TILES * TILES))):
        raise Mpm3dError(f"{damaged}: its source sample is not {n_features} features per voxel, each voxel in one "
                         f"of {TILES * TILES} x-y blocks; train the model again")
    return SourceSample(features, blocks)


def _networks(tensors: dict[str, np.ndarray], config: dict, patch_size: int, damaged: str) -> list[ProspectivityNet]:
    """The ensemble the metadata describes, every member checked against the weights' shapes before anything
    is allocated."""
    if config.get("patch_size") != patch_size:
        raise Mpm3dError(f"{damaged}: its patch size {patch_size} disagrees with its model_config patch size "
                         f"{config.get('patch_size')!r}; train the model again")
    try:
        model_config = ModelConfig.from_dict(config)
        with torch.device("meta"):  # shapes only: a config that lies about its size allocates nothing
            expected = {k: tuple(v.shape) for k, v in ProspectivityNet(model_config).state_dict().items()}
    except (TypeError, ValueError, OverflowError, KeyError, RuntimeError, Mpm3dError) as exc:
        raise Mpm3dError(f"{damaged}: its model_config does not describe a network ({exc}); train the model "
                         "again") from exc
    members: dict[int, dict[str, np.ndarray]] = {}
    for name, values in tensors.items():
        # files of earlier versions hold one network under "network.": it is the ensemble's only member
        member = re.fullmatch(r"networks\.(\d{1,6})\.(.+)", name) or re.fullmatch(r"network\.()(.+)", name)
        if member is None:
            raise Mpm3dError(f"{damaged}: it holds '{name}', which is no network's weights; train the model again")
        members.setdefault(int(member[1] or 0), {})[member[2]] = values
    if sorted(members) != list(range(len(members))) or not members:
        raise Mpm3dError(f"{damaged}: its networks are numbered {sorted(members)}, not 0 to n-1; train the model again")
    networks = []
    for index, weights in sorted(members.items()):
        # save_model's np.ascontiguousarray stores a 0-d buffer (num_batches_tracked) as shape (1,)
        found = {k: () if v.shape == (1,) and expected.get(k) == () else tuple(v.shape) for k, v in weights.items()}
        for key in sorted(expected.keys() | found.keys()):
            if expected.get(key) != found.get(key):
                raise Mpm3dError(
                    f"{damaged}: its weights do not fit its metadata ({model_config.n_features} features, patch size "
                    f"{patch_size}): '{MEMBER_PREFIX.format(index)}{key}' should have shape "
                    f"{expected.get(key, 'none (no such layer)')}, the file has {found.get(key, 'none')}; train the "
                    "model again")
        network = ProspectivityNet(model_config)
        network.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
        networks.append(network)
    return networks


def _forest(tensors: dict[str, np.ndarray], n_features: int, damaged: str) -> ForestArrays:
    """The forest's arrays, checked so that every walk down a tree ends inside it on a real feature."""
    problem = None
    try:
        forest = ForestArrays.from_arrays({k[len(FOREST_PREFIX):]: v for k, v in tensors.items()})
    except KeyError as exc:
        raise Mpm3dError(f"{damaged}: its forest has no array {exc}; train the model again") from exc
    offsets, nodes = forest.node_offsets, len(forest.feature)
    indices = (offsets, forest.children_left, forest.children_right, forest.feature)
    columns = (forest.children_left, forest.children_right, forest.threshold, forest.ore_probability)
    if any(a.dtype.kind != "i" for a in indices):  # numpy will not mix unsigned 64-bit with signed indices
        problem = "its node indices are not signed integers"
    elif any(c.ndim != 1 or len(c) != nodes for c in (*columns, forest.feature)) or offsets.ndim != 1:
        problem = "its arrays differ in length"
    elif len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != nodes or np.any(np.diff(offsets) <= 0):
        problem = "its tree offsets do not cover its nodes"
    else:
        size = np.repeat(np.diff(offsets), np.diff(offsets))
        own = np.arange(nodes) - np.repeat(offsets[:-1], np.diff(offsets))
        split = forest.children_left >= 0
        children_ok = all(np.all((c[split] > own[split]) & (c[split] < size[split]))
                          for c in (forest.children_left, forest.children_right))
        if not children_ok or np.any(forest.children_right[~split] >= 0):
            problem = "a tree's children point outside the tree or back up it"
        elif np.any((forest.feature[split] < 0) | (forest.feature[split] >= n_features)):
            problem = f"a tree splits on a feature it does not have (it names {n_features})"
        elif np.any((forest.ore_probability < 0) | (forest.ore_probability > 1)):
            problem = "its leaf probabilities are outside 0-1"
    if problem:
        raise Mpm3dError(f"{damaged}: {problem}; train the model again")
    return forest


def _read_checked_header(path: str) -> dict[str, str]:
    """The metadata of a complete mpm3d safetensors file, read as bytes and JSON only.

    Every size the header declares is checked against the file before safetensors reads it, so a lying
    header is refused by name instead of failing obscurely or asking for memory the file cannot fill.
    """
    not_safetensors = (f"the MODEL {path} is not an mpm3d model file (not a safetensors file; it was not opened "
                       "further, so nothing in it ran); give a model written by 'Train prospectivity model'")
    damaged = f"the MODEL file {path} is damaged"
    again = "copy the complete file again, or train the model again"
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            header_bytes = handle.read(min(length, MAX_HEADER_BYTES))
    except OSError as exc:
        raise Mpm3dError(f"cannot read the MODEL file {path}: {exc.strerror}") from exc
    if size < 8 or not header_bytes.startswith(b"{"):
        raise Mpm3dError(not_safetensors)
    if length > MAX_HEADER_BYTES:
        raise Mpm3dError(f"{damaged} or not an mpm3d model: its header declares {length} bytes, an mpm3d model's has "
                         f"at most {MAX_HEADER_BYTES}; {again}")
    if 8 + length > size:
        raise Mpm3dError(f"the MODEL file {path} is truncated (its header is cut short); {again}")
    try:
        header = json.loads(header_bytes)
    except RecursionError as exc:
        raise Mpm3dError(f"{damaged}: its header is JSON nested too deeply to be a model's; {again}") from exc
    except ValueError as exc:
        raise Mpm3dError(not_safetensors) from exc
    if not isinstance(header, dict):
        raise Mpm3dError(not_safetensors)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Mpm3dError(f"{damaged}: its metadata is not a table of texts; {again}")
    data_size = size - 8 - length
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            described = (dtype in SAFETENSORS_DTYPE_BYTES and isinstance(shape, list)
                         and all(isinstance(n, int) and n >= 0 for n in shape)
                         and isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end)
        except (KeyError, TypeError, ValueError):
            described = False
        if not described:
            raise Mpm3dError(f"{damaged}: its header describes tensor '{name}' wrongly; {again}")
        if end > data_size:
            raise Mpm3dError(f"the MODEL file {path} is truncated (tensor '{name}' is cut short); {again}")
        if end - begin != math.prod(shape) * SAFETENSORS_DTYPE_BYTES[dtype]:
            raise Mpm3dError(f"{damaged}: tensor '{name}' declares shape {shape} of {dtype} but holds {end - begin} "
                             f"bytes; {again}")
    if metadata.get("format") != FORMAT:
        raise Mpm3dError(
            f"the MODEL {path} is a safetensors file but not an mpm3d model (format {metadata.get('format')!r}); "
            "give a model written by 'Train prospectivity model'"
        )
    version = metadata.get("format_version", "")
    if version != str(FORMAT_VERSION):
        newer = re.fullmatch(r"[0-9]{1,9}", version) is not None and int(version) > FORMAT_VERSION
        advice = "it was written by a newer mpm3d: update mpm3d to read it" if newer else \
            "use the mpm3d version that wrote it"
        raise Mpm3dError(f"the MODEL file {path} has format version {version[:20]}, this mpm3d reads version "
                         f"{FORMAT_VERSION}; {advice}, or train the model again")
    return metadata
