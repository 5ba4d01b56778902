"""Evidence importance by permutation, measured the same way for every method (rf, cnn, cta, dann, dann_cta).

Source: the spatial-block validation AUC a model loses when one evidence layer is shuffled among the valid voxels
of the x-y blocks its training held out (each member's own split, recomputed as training drew it). A network reads
patches, so the layer is shuffled over the whole held-out region, not just at the scored voxels; the prediction is
then made densely on each held-out block plus a half-patch halo only, which gives the numbers a whole-cube pass would
give there (the network's receptive field is one patch) at a fraction of the cost.

Target: with no labels, the mean absolute change of the target prospectivity over the valid voxels of a seeded
sample of the target's x-y blocks when the layer is shuffled over the whole target. Only the target's evidence is
read, never its labels.

Each figure is repeated with fresh permutations; an ensemble gives one figure per member and repeat, and the mean
and SD are over all of them. Layers named together in ``groups`` are shuffled with one permutation of the voxels,
so their joint values move as one (the geometry of one fault, say).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from ..data.grid import Cube
from ..errors import Mpm3dError
from ..results.metrics import labelled_auc
from ..settings import TrainConfig
from .members import member_seed
from .model import TrainedModel, autocast_for, resolve_device
from .sampling import SPLIT_TILES, FeatureStats, column_blocks, padded_standardised, source_samples, standardise

REPEATS = 3  # permutations per layer
TARGET_BLOCKS = 4  # target blocks the change of prospectivity is measured on
# The forest's walk down 200 trees costs per sample, a network's dense pass per window: the forest scores a seeded
# sample of the held-out voxels (the networks all of them) and of the target blocks' voxels.
FOREST_VAL_VOXELS = 4_000
FOREST_TARGET_VOXELS = 2_000
FOREST_ROWS = 50_000  # samples walked down the trees at once
# A layer whose share of all layers' importance differs by this much (a fraction) between the source and the target
# is one the model leans on differently in the two deposits: the training report names it in a sentence.
SHARE_SHIFT = 0.10


def evidence_importance(
    model: TrainedModel,
    source: Cube,
    target: Cube,
    config: TrainConfig,
    groups: dict[str, list[str]] | None = None,
    repeats: int = REPEATS,
    device: str = "cpu",
) -> dict:
    """Permutation importance of each evidence layer (or group) on the source and the target, as plain JSON.

    ``target`` is the target as the model sees it: through its input alignment where it has one
    (``alignment.aligned_cube``, made once by the caller for every analysis of the report). ``config`` is the
    training's (its seed, patch size and validation fraction give back each member's split).
    Returns {"layers": [{"layer", "features", "source_auc_drop": {"mean", "sd", "values"},
    "target_change": {"mean", "sd", "values"}}, ...], "baseline_auc": [per member], "repeats", "members",
    "n_val_voxels", "n_target_voxels", "target_blocks", "seconds"}; ``values`` are (members x repeats).
    "source_auc_drop" is None when training held nothing out (VALIDATION_FRACTION 0).
    """
    started = time.perf_counter()
    units = layer_units(list(model.feature_names), groups)
    torch_device = resolve_device(device)
    target_view = Cube(grid=target.grid, features=target.features, feature_names=list(target.feature_names))
    scorer = _ForestScorer(model) if model.forest is not None else _NetworkScorer(model, torch_device)
    seeds = [member_seed(config.seed, member) for member in range(model.n_members if model.networks else 1)]
    source_drop, baseline, n_val = _source_drops(scorer, source, config, seeds, units, repeats)
    change, n_target, blocks = _target_changes(scorer, target_view, config.seed, units, repeats)
    layers = []
    for k, (name, features) in enumerate(units):
        layers.append({"layer": name, "features": features,
                       "source_auc_drop": None if source_drop is None else _summary(source_drop[..., k]),
                       "target_change": _summary(change[..., k])})
    return {"layers": layers, "baseline_auc": baseline, "repeats": repeats, "members": len(seeds),
            "n_val_voxels": n_val, "n_target_voxels": n_target, "target_blocks": blocks,
            "seconds": time.perf_counter() - started}


def importance_shares(importance: dict) -> list[dict]:
    """Each layer's share of all layers' source AUC drop (a negative drop, noise, counts 0) and of all layers'
    target change: {"layer", "source_share", "target_share"}, None where a side has nothing to share out."""
    layers = importance.get("layers") or []
    drops = [max(0.0, (layer["source_auc_drop"] or {"mean": 0.0})["mean"]) for layer in layers]
    changes = [max(0.0, layer["target_change"]["mean"]) for layer in layers]
    shares = []
    for layer, drop, change in zip(layers, drops, changes, strict=True):
        shares.append({"layer": layer["layer"],
                       "source_share": drop / sum(drops) if sum(drops) > 0 else None,
                       "target_share": change / sum(changes) if sum(changes) > 0 else None})
    return shares


def shifted_layers(importance: dict, threshold: float = SHARE_SHIFT) -> list[dict]:
    """The layers whose share of the importance differs by ``threshold`` or more between the source and the target
    (``importance_shares``' entries), the largest difference first."""
    shares = [share for share in importance_shares(importance)
              if share["source_share"] is not None and share["target_share"] is not None
              and abs(share["target_share"] - share["source_share"]) >= threshold]
    return sorted(shares, key=lambda share: -abs(share["target_share"] - share["source_share"]))


def layer_units(feature_names: list[str], groups: dict[str, list[str]] | None) -> list[tuple[str, list[int]]]:
    """(name, feature indices) of what is permuted: each group as one, every other layer alone, in feature order."""
    groups = groups or {}
    grouped: dict[str, str] = {}
    for name, members in groups.items():
        if not members:
            raise Mpm3dError(f"the importance group '{name}' names no evidence layer")
        for feature in members:
            if feature not in feature_names:
                raise Mpm3dError(f"the importance group '{name}' names '{feature}', which is not an evidence layer; "
                                 f"the layers are {', '.join(feature_names)}")
            if feature in grouped:
                raise Mpm3dError(f"'{feature}' is in two importance groups ('{grouped[feature]}' and '{name}')")
            grouped[feature] = name
    units, seen = [], set()
    for index, feature in enumerate(feature_names):
        name = grouped.get(feature, feature)
        if name in seen:
            continue
        seen.add(name)
        units.append((name, [index] if feature not in grouped else [feature_names.index(f) for f in groups[name]]))
    return units


def _summary(values: np.ndarray) -> dict:
    """Mean and SD over members and repeats, and the values themselves (members x repeats)."""
    return {"mean": float(np.mean(values)), "sd": float(np.std(values)), "values": values.tolist()}


def block_windows(shape: tuple[int, int], blocks: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of each x-y block of the cut spatial_block_split makes (of ``blocks``, or all)."""
    block_of_column = column_blocks(*shape)
    windows = []
    for block in np.unique(block_of_column):
        if blocks is not None and block not in blocks:
            continue
        rows, cols = np.nonzero(block_of_column == block)
        windows.append((int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1))
    return windows


def _windows_of(columns: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The blocks whose columns are all in ``columns`` (Y, X) bool: the held-out blocks of a split."""
    return [w for w in block_windows(columns.shape) if columns[w[0]:w[1], w[2]:w[3]].all()]


def _source_drops(scorer, source: Cube, config: TrainConfig, seeds: list[int], units, repeats: int):
    """(members, repeats, units) AUC drops on each member's held-out blocks, the baselines and the voxel count."""
    if config.val_fraction <= 0:
        return None, None, 0
    stats = FeatureStats.from_dict(scorer.model.normalisation["source"])
    drops = np.zeros((len(seeds), repeats, len(units)))
    baselines, n_val = [], 0
    prepared = scorer.prepare(source, stats)
    for member, seed in enumerate(seeds):
        split, (val_voxels, val_labels), _ = source_samples(source, replace(config, seed=seed))
        if scorer.model.forest is not None and len(val_voxels) > FOREST_VAL_VOXELS:
            kept = _stratified(val_labels, FOREST_VAL_VOXELS, np.random.default_rng([seed, 23]))
            val_voxels, val_labels = val_voxels[kept], val_labels[kept]
        n_val = max(n_val, len(val_voxels))
        region = np.flatnonzero(source.valid & split.val_columns[None])
        windows = _windows_of(split.val_columns)
        base = labelled_auc(scorer.score(prepared, windows, val_voxels, [member])[0], val_labels)
        baselines.append(base)
        rng = np.random.default_rng([seed, 21])
        jobs = [(features, region, rng.permutation(len(region))) for _, features in units for _ in range(repeats)]
        moved = scorer.score_permuted(prepared, windows, val_voxels, [member], jobs)[:, 0]
        drops[member] = (base - np.array([labelled_auc(scores, val_labels) for scores in moved])).reshape(
            len(units), repeats).T
    return drops, baselines, n_val


def _stratified(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of about ``size`` of ``labels``, each class in its share and at least one of each."""
    kept = []
    for value in (0, 1):
        where = np.flatnonzero(labels == value)
        n = min(len(where), max(1, round(size * len(where) / len(labels))))
        kept.append(rng.choice(where, n, replace=False))
    return np.sort(np.concatenate(kept))


def _target_changes(scorer, target: Cube, seed: int, units, repeats: int):
    """(members, repeats, units) mean |change| of prospectivity over a seeded sample of target blocks."""
    stats = FeatureStats.from_dict(scorer.model.normalisation["target"])
    rng = np.random.default_rng([seed, 22])
    all_blocks = np.arange(SPLIT_TILES * SPLIT_TILES)
    chosen = np.sort(rng.choice(all_blocks, min(TARGET_BLOCKS, len(all_blocks)), replace=False))
    windows = block_windows(target.grid.shape[1:], chosen)
    if not windows:
        windows = block_windows(target.grid.shape[1:])
    inside = np.zeros(target.grid.shape[1:], bool)
    for y0, y1, x0, x1 in windows:
        inside[y0:y1, x0:x1] = True
    voxels = np.flatnonzero(target.valid & inside[None])
    if scorer.model.forest is not None and len(voxels) > FOREST_TARGET_VOXELS:
        voxels = np.sort(rng.choice(voxels, FOREST_TARGET_VOXELS, replace=False))
    region = np.flatnonzero(target.valid)
    prepared = scorer.prepare(target, stats)
    everyone = list(range(scorer.n_members))
    base = scorer.score(prepared, windows, voxels, everyone)
    jobs = [(features, region, rng.permutation(len(region))) for _, features in units for _ in range(repeats)]
    moved = scorer.score_permuted(prepared, windows, voxels, everyone, jobs)  # (jobs, members, N)
    change = np.mean(np.abs(moved - base[None]), axis=2) if len(voxels) else np.zeros(moved.shape[:2])
    change = change.reshape(len(units), repeats, scorer.n_members).transpose(2, 1, 0)
    return change, int(len(voxels)), [list(w) for w in windows]


class _Permuted:
    """Layers ``features`` of a prepared cube shuffled over ``region`` for the length of a ``with``, then restored."""

    def __init__(self, layers: list[np.ndarray], region: tuple[np.ndarray, ...], order: np.ndarray) -> None:
        self.layers, self.region, self.order, self.kept = layers, region, order, []

    def __enter__(self) -> None:
        for layer in self.layers:
            values = layer[self.region]
            self.kept.append(values)
            layer[self.region] = values[self.order]  # one permutation of the voxels for every layer of a group

    def __exit__(self, *_exc) -> None:
        for layer, values in zip(self.layers, self.kept, strict=True):
            layer[self.region] = values


class _ForestScorer:
    """The forest reads the centre voxel alone: its standardised evidence, flat (F, Z*Y*X)."""

    def __init__(self, model: TrainedModel) -> None:
        self.model, self.n_members = model, 1

    def prepare(self, cube: Cube, stats: FeatureStats) -> np.ndarray:
        return standardise(cube.features.reshape(len(cube.feature_names), -1), stats)

    def score(self, prepared: np.ndarray, windows, voxels: np.ndarray, members: list[int]) -> np.ndarray:
        return self.model.forest.predict(prepared[:, voxels].T)[None]

    def score_permuted(self, prepared: np.ndarray, windows, voxels: np.ndarray, members: list[int], jobs):
        """(jobs, 1, N): each job's permuted evidence at ``voxels`` only (the forest reads nothing else), all jobs
        in one walk of the trees, whose cost is mostly per call."""
        inputs = []
        for features, region, order in jobs:
            x = prepared[:, voxels].copy()
            source_of = region[order[np.searchsorted(region, voxels)]]  # where each voxel's permuted value comes from
            for f in features:
                x[f] = prepared[f, source_of]
            inputs.append(x.T)
        if not inputs:
            return np.zeros((0, 1, len(voxels)))
        rows = np.concatenate(inputs)
        scores = np.concatenate([self.model.forest.predict(rows[start:start + FOREST_ROWS])
                                 for start in range(0, len(rows), FOREST_ROWS)])
        return scores.reshape(len(jobs), 1, len(voxels))


class _NetworkScorer:
    """Each member applied densely to each window plus a half-patch halo of the padded, standardised cube."""

    def __init__(self, model: TrainedModel, device: torch.device) -> None:
        from .predict import inference_network

        self.model, self.device, self.half = model, device, model.patch_size // 2
        self.nets = [inference_network(net).to(device).eval() for net in model.networks]
        self.n_members = len(self.nets)

    def prepare(self, cube: Cube, stats: FeatureStats) -> np.ndarray:
        return padded_standardised(cube, stats, self.half)

    def permuted(self, prepared: np.ndarray, features: list[int], region: np.ndarray, order: np.ndarray):
        z, y, x = np.unravel_index(region, tuple(n - 2 * self.half for n in prepared.shape[1:]))
        h = self.half
        return _Permuted([prepared[f] for f in features], (z + h, y + h, x + h), order)

    def score_permuted(self, prepared: np.ndarray, windows, voxels: np.ndarray, members: list[int], jobs):
        """(jobs, members, N): the scores with each job's (features, region, order) permutation applied in turn."""
        out = []
        for features, region, order in jobs:
            with self.permuted(prepared, features, region, order):
                out.append(self.score(prepared, windows, voxels, members))
        return np.array(out).reshape(len(jobs), len(members), len(voxels))

    def score(self, prepared: np.ndarray, windows, voxels: np.ndarray, members: list[int]) -> np.ndarray:
        """The ``members``' ore probability at the flat ``voxels`` (which lie in ``windows``): (members, N)."""
        shape = tuple(n - 2 * self.half for n in prepared.shape[1:])
        out = np.full((len(members), *shape), np.nan, dtype=np.float32)
        h2 = 2 * self.half
        with torch.inference_mode(), autocast_for(self.device):
            for y0, y1, x0, x1 in windows:
                tile = torch.from_numpy(np.ascontiguousarray(prepared[:, :, y0:y1 + h2, x0:x1 + h2]))[None]
                tile = tile.to(self.device)
                for row, member in enumerate(members):
                    out[row, :, y0:y1, x0:x1] = torch.sigmoid(self.nets[member](tile).float())[0, 0].cpu().numpy()
        return out.reshape(len(members), -1)[:, voxels]
