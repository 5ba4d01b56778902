"""A network's outputs at fixed sets of voxels, from one dense pass over the tiles that hold them where that is
cheaper than one patch per voxel.

Every epoch, the selection scores read the network at thousands of fixed voxels: the source validation blocks,
the selection probe's voxels, the validating drill holes. One patch per voxel recomputes what neighbouring
patches share. Where the voxels lie close together (validation blocks are whole columns; on a small deposit the
probe's voxels fill the cube) the network run convolutionally over the tiles that hold them gives the same
numbers (it is fully convolutional, and eval-mode batch norm acts per voxel) for a fraction of the work. Which
of the two is cheaper is decided once per voxel set, by the input voxels each reads: p^3 per patch against
(t + p - 1) per side of each tile. Sets on the same cube read together (``outputs_at``) share each tile's pass:
the validation blocks and the probe's source voxels often lie in the same tiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .model import ProspectivityNet, autocast_for
from .sampling import PatchGatherer

EVAL_BATCH = 1024  # patches per forward pass
TILE_EDGE = (32, 64, 64)  # output voxels of a tile (z, y, x): about 8,000 outputs for about 3 input voxels each

Tile = tuple[tuple[int, int, int], tuple[int, int, int]]  # (first output voxel, one past the last), z y x


class VoxelOutputs:
    """Embeddings and ore logits of one network at fixed voxels of one padded cube, in the voxels' order."""

    def __init__(self, patches: PatchGatherer, voxels: np.ndarray) -> None:
        self.patches = patches
        self.centres = patches.centre_index(voxels)  # per patch; the selection probe's mixing also reads them
        at = np.stack(np.unravel_index(voxels, patches.shape), axis=1) if len(voxels) else np.zeros((0, 3), int)
        edge = np.array(TILE_EDGE)
        corners, inverse = np.unique(at // edge, axis=0, return_inverse=True)
        corners = corners * edge
        ends = np.minimum(corners + edge, np.array(patches.shape))
        tile_inputs = int(np.prod(ends - corners + patches.patch_size - 1, axis=1).sum())
        self.tiled = tile_inputs < len(voxels) * patches.patch_size ** 3
        # per tile: which of the voxels (their places in this set) it holds, and where among its flat outputs
        self.tiles: dict[Tile, tuple[torch.Tensor, torch.Tensor]] = {}
        if self.tiled:  # never for an empty set (0 < 0 is false)
            inverse = inverse.ravel()
            spans = ends - corners
            by_tile = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
            for index, (corner, end, mine) in enumerate(zip(corners.tolist(), ends.tolist(), by_tile, strict=True)):
                local = at[mine] - corners[index]
                flat = (local[:, 0] * spans[index, 1] + local[:, 1]) * spans[index, 2] + local[:, 2]
                self.tiles[(tuple(corner), tuple(end))] = (torch.from_numpy(mine), torch.from_numpy(flat))

    def __len__(self) -> int:
        return len(self.centres)

    def embed_and_score(self, net: ProspectivityNet, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
        """Pooled embeddings (N, C) and ore logits (N,) of the network as it is (eval mode)."""
        return outputs_at(net, [self], device)[0]


def outputs_at(net: ProspectivityNet, sets: Sequence[VoxelOutputs],
               device: torch.device) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each set's (embeddings (N, C), ore logits (N,)), the network as it is (eval mode); tiled sets on the same
    cube share one pass over each tile any of them holds."""
    results: list = [None] * len(sets)
    by_cube: dict[int, list[int]] = {}
    for index, outputs in enumerate(sets):
        if outputs.tiled:
            by_cube.setdefault(id(outputs.patches), []).append(index)
        else:
            results[index] = embed_and_score(net, outputs.patches, outputs.centres, device)
    for members in by_cube.values():
        patches = sets[members[0]].patches
        grow, n_embedding = patches.patch_size - 1, net.config.n_embedding
        found = {index: (torch.empty(len(sets[index]), n_embedding), torch.empty(len(sets[index])))
                 for index in members}
        tiles = sorted({tile for index in members for tile in sets[index].tiles})
        with torch.inference_mode(), autocast_for(device):
            for tile in tiles:
                (z0, y0, x0), (z1, y1, x1) = tile
                embedding = net.embed(patches.padded[None, :, z0:z1 + grow, y0:y1 + grow, x0:x1 + grow])
                logits = net.label_head(embedding).flatten().float().cpu()
                embedding = embedding[0].flatten(1).float().cpu()
                for index in members:
                    if tile in sets[index].tiles:
                        places, positions = sets[index].tiles[tile]
                        found[index][0][places] = embedding[:, positions].T
                        found[index][1][places] = logits[positions]
        for index, (embeddings, logits) in found.items():
            results[index] = (embeddings.numpy(), logits.numpy())
    return results


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
