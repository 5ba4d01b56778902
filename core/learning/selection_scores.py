"""The scores of a network's epoch that the selection rules (core/learning/selection.py) read, computed during
training on fixed samples of both deposits (and, given target drill holes, on their voxels); and the weight
average of the ``average`` rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as nnf

from ..results.metrics import one_blas_thread, roc_auc
from .model import ProspectivityNet, autocast_for
from .sampling import PatchGatherer, SourceSplit
from .voxel_outputs import EVAL_BATCH, VoxelOutputs, outputs_at

PROBE_VOXELS = 4096
MIX_WEIGHT = 0.55  # the dominant patch's share, as in MixVal and SKADA-Bench


@dataclass
class SelectionProbe:
    """Fixed voxels the scores read every epoch, drawn once so that epochs are compared on the same ones."""

    target: VoxelOutputs
    mix_partners: torch.Tensor  # a permutation of the target voxels' positions: each patch's mixing partner
    source: VoxelOutputs  # source training voxels, DEV's "source" side of the domain classifier
    val_weights: np.ndarray  # per validation voxel: undoes the validation set's thinning of one class


def selection_probe(split: SourceSplit, val_labels: np.ndarray, source_patches: PatchGatherer,
                    target_patches: PatchGatherer, target_voxels: np.ndarray,
                    rng: np.random.Generator) -> SelectionProbe:
    """Draw the probe's voxels from ``rng`` (a generator of its own, so the training draws stay as they were)."""
    targets = rng.choice(target_voxels, min(PROBE_VOXELS, len(target_voxels)), replace=False)
    train_voxels = np.concatenate([split.train_ore, split.train_barren])
    sources = rng.choice(train_voxels, min(PROBE_VOXELS, len(train_voxels)), replace=False)
    n_blocks = np.array([len(split.val_barren), len(split.val_ore)], dtype=float)
    n_set = np.array([np.sum(val_labels == 0), np.sum(val_labels == 1)], dtype=float)
    per_class = np.divide(n_blocks / max(n_blocks.sum(), 1), n_set / max(n_set.sum(), 1), out=np.zeros(2),
                          where=n_set > 0)  # no validation blocks (VALIDATION_FRACTION 0): no weights to give
    return SelectionProbe(
        VoxelOutputs(target_patches, np.sort(targets)),
        torch.from_numpy(rng.permutation(len(targets))),
        VoxelOutputs(source_patches, np.sort(sources)),
        per_class[val_labels.astype(int)],
    )


def epoch_scores(net: ProspectivityNet, probe: SelectionProbe, validation: VoxelOutputs, val_labels: np.ndarray,
                 device: torch.device) -> dict[str, float | None]:
    """Every rule's score of the network as it is now (eval mode, no augmentation)."""
    net.eval()
    (val_embedding, val_logits), (target_embedding, target_logits), (source_embedding, _) = outputs_at(
        net, [validation, probe.target, probe.source], device)
    val_auc = None
    if len(val_labels):
        val_auc = float(roc_auc(val_logits[val_labels == 1], val_logits[val_labels == 0]))
    dev = None
    if len(val_labels):
        dev = deep_embedded_validation(source_embedding, target_embedding, val_embedding, val_logits, val_labels,
                                       probe.val_weights)
    return {"val_auc": val_auc, "entropy": mean_entropy(target_logits),
            "dev": dev, "mixval": _mixval(net, probe, target_logits, device)}


def hole_epoch_score(net: ProspectivityNet, holes: VoxelOutputs, labels: np.ndarray, device: torch.device) -> float:
    """The ``target_holes`` rule's score: the AUC of the network's logits on the validating drill-hole voxels."""
    logits = holes.embed_and_score(net, device)[1]
    return float(roc_auc(logits[labels == 1], logits[labels == 0]))


def mean_entropy(logits: np.ndarray) -> float:
    """Mean binary entropy (nats) of the predictions: confident maps score low."""
    z = logits.astype(np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - z / (1.0 + np.exp(-z))))  # softplus(z) - z p, stable for any z


def deep_embedded_validation(source_embedding: np.ndarray, target_embedding: np.ndarray,
                             val_embedding: np.ndarray, val_logits: np.ndarray, val_labels: np.ndarray,
                             val_weights: np.ndarray) -> float:
    """DEV's estimate of the target risk from the source validation loss (You et al. 2019, eq. 9)."""
    from sklearn.linear_model import LogisticRegression

    both = np.concatenate([source_embedding, target_embedding])
    centre, scale = both.mean(axis=0), both.std(axis=0) + 1e-6
    domain = np.concatenate([np.ones(len(source_embedding)), np.zeros(len(target_embedding))])
    with one_blas_thread():  # every epoch of every member: with many threads, most of a GPU training's time
        classifier = LogisticRegression(max_iter=1000).fit((both - centre) / scale, domain)
    p_source = np.clip(classifier.predict_proba((val_embedding - centre) / scale)[:, 1], 1e-6, 1 - 1e-6)
    weights = (len(source_embedding) / len(target_embedding)) * (1 - p_source) / p_source * val_weights
    logits = torch.from_numpy(val_logits.astype(np.float64))
    loss = nnf.binary_cross_entropy_with_logits(logits, torch.from_numpy(val_labels.astype(np.float64)),
                                                reduction="none").numpy()
    weighted = weights * loss
    variance = np.var(weights, ddof=1) if len(weights) > 1 else 0.0
    eta = -np.cov(weighted, weights)[0, 1] / variance if variance > 0 else 0.0
    return float(np.mean(weighted) + eta * np.mean(weights) - eta)


def _mixval(net, probe: SelectionProbe, target_logits, device) -> float:
    pseudo = target_logits > 0
    partners = probe.mix_partners.numpy()
    hits = []
    with torch.inference_mode(), autocast_for(device):
        for start in range(0, len(pseudo), EVAL_BATCH):
            window = slice(start, start + EVAL_BATCH)
            own = probe.target.patches.gather(probe.target.centres[window])
            other = probe.target.patches.gather(probe.target.centres[probe.mix_partners[window].to(device)])
            mixed = net(MIX_WEIGHT * own + (1 - MIX_WEIGHT) * other).flatten().float().cpu().numpy()
            hits.append((mixed > 0) == pseudo[window])
    hits = np.concatenate(hits)
    same = pseudo == pseudo[partners]
    accuracies = [hits[group].mean() for group in (same, ~same) if group.any()]
    return float(np.mean(accuracies))


def average_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of floating-point weights and BatchNorm statistics; counters from the last state."""
    averaged = {}
    for name, last in states[-1].items():
        if last.is_floating_point():
            averaged[name] = torch.stack([state[name].float() for state in states]).mean(0).to(last.dtype)
        else:
            averaged[name] = last.clone()
    return averaged
