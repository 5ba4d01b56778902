"""A network's outputs at a fixed set of voxels, from one dense pass over the tiles that hold them where that is
cheaper than one patch per voxel.

Every epoch, the selection scores read the network at thousands of fixed voxels: the source validation blocks,
the selection probe's voxels, the validating drill holes. One patch per voxel recomputes what neighbouring
patches share. Where the voxels lie close together (validation blocks are whole columns; on a small deposit the
probe's voxels fill the cube) the network run convolutionally over the tiles that hold them gives the same
numbers (it is fully convolutional, and eval-mode batch norm acts per voxel) for a fraction of the work. Which
of the two is cheaper is decided once per voxel set, by the input voxels each reads: p^3 per patch against
(t + p - 1) per side of each tile.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import ProspectivityNet, autocast_for
from .sampling import PatchGatherer

EVAL_BATCH = 1024  # patches per forward pass
TILE_EDGE = (32, 64, 64)  # output voxels of a tile (z, y, x): about 8,000 outputs for about 3 input voxels each


class VoxelOutputs:
    """Embeddings and ore logits of one network at fixed voxels of one padded cube, in the voxels' order."""

    def __init__(self, patches: PatchGatherer, voxels: np.ndarray) -> None:
        self.patches = patches
        self.centres = patches.centre_index(voxels)  # per patch; the selection probe's mixing also reads them
        at = np.stack(np.unravel_index(voxels, patches.shape), axis=1) if len(voxels) else np.zeros((0, 3), int)
        edge = np.array(TILE_EDGE)
        tile_of = at // edge
        corners, inverse = np.unique(tile_of, axis=0, return_inverse=True)
        corners = corners * edge
        ends = np.minimum(corners + edge, np.array(patches.shape))
        grow = patches.patch_size - 1
        tile_inputs = int(np.prod(ends - corners + grow, axis=1).sum())
        self.tiled = tile_inputs < len(voxels) * patches.patch_size ** 3
        if self.tiled:  # never for an empty set (0 < 0 is false)
            inverse = inverse.ravel()
            self.tiles = [(tuple(corner), tuple(end)) for corner, end in zip(corners.tolist(), ends.tolist(),
                                                                             strict=True)]
            # each voxel's position among the tiles' outputs, concatenated in tile order
            sizes = np.prod(ends - corners, axis=1)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            local = at - corners[inverse]
            spans = (ends - corners)[inverse]
            self.positions = torch.from_numpy(
                starts[inverse] + (local[:, 0] * spans[:, 1] + local[:, 1]) * spans[:, 2] + local[:, 2])

    def __len__(self) -> int:
        return len(self.centres)

    def embed_and_score(self, net: ProspectivityNet, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
        """Pooled embeddings (N, C) and ore logits (N,) of the network as it is (eval mode)."""
        if not self.tiled:
            return embed_and_score(net, self.patches, self.centres, device)
        padded = self.patches.padded
        grow = self.patches.patch_size - 1
        embeddings, logits = [], []
        with torch.inference_mode(), autocast_for(device):
            for (z0, y0, x0), (z1, y1, x1) in self.tiles:
                embedding = net.embed(padded[None, :, z0:z1 + grow, y0:y1 + grow, x0:x1 + grow])
                logits.append(net.label_head(embedding).flatten().float().cpu())
                embeddings.append(embedding[0].flatten(1).float().cpu())
        every_embedding, every_logit = torch.cat(embeddings, dim=1), torch.cat(logits)
        return every_embedding[:, self.positions].T.numpy(), every_logit[self.positions].numpy()


def embed_and_score(net, patches: PatchGatherer, centres: torch.Tensor, device) -> tuple[np.ndarray, np.ndarray]:
    """Pooled embeddings (N, C) and ore logits (N,) of the patches around padded flat ``centres``, one patch each."""
    embeddings, logits = [], []
    with torch.inference_mode(), autocast_for(device):
        for start in range(0, len(centres), EVAL_BATCH):
            embedding = net.embed(patches.gather(centres[start:start + EVAL_BATCH]))
            logits.append(net.label_head(embedding).flatten().float().cpu())
            embeddings.append(embedding.flatten(1).float().cpu())
    if not logits:
        return np.zeros((0, net.config.n_embedding)), np.zeros(0)
    return torch.cat(embeddings).numpy(), torch.cat(logits).numpy()
