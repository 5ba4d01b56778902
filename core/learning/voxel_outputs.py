"""A network's outputs at fixed sets of voxels, from one dense pass over the tiles that hold many of them and one
patch per voxel elsewhere.

Every epoch, the selection scores read the network at thousands of fixed voxels: the source validation blocks,
the selection probe's voxels, the validating drill holes. One patch per voxel recomputes what neighbouring
patches share. Where the voxels lie close together (on a small deposit the validation blocks and the probe's
voxels fill the cube) the network run convolutionally over the tiles that hold them gives the same numbers (it
is fully convolutional, and eval-mode batch norm acts per voxel) for a fraction of the work; where they lie
scattered (20,000 validation voxels over a 100 x 500 x 500 deposit) a tile's pass costs more than the patches of
the few voxels it holds. So each tile is decided on its own, by the work each way (``TILE_WORK``). Sets on the
same cube read together (``outputs_at``) share each tile's pass: a tile run for one set serves every set's voxels
in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .model import ProspectivityNet, autocast_for
from .sampling import PatchGatherer

EVAL_BATCH = 1024  # patches per forward pass
TILE_EDGE = (32, 64, 64)  # output voxels of a tile (z, y, x): 131,072 outputs for about 1.6 input voxels each
# A tile's pass costs as much as the patches that read TILE_WORK times its input voxels. Measured on 2 CPU cores
# (one 32 x 64 x 64 tile against batches of 1,024 patches): DANN-CTA 13 at patch 9, 18 at patch 5; DANN 6 and 11.
# A wrong value only costs time on the tiles near the break-even, never a number.
TILE_WORK = 13

Tile = tuple[tuple[int, int, int], tuple[int, int, int]]  # (first output voxel, one past the last), z y x


class VoxelOutputs:
    """Embeddings and ore logits of one network at fixed voxels of one padded cube, in the voxels' order."""

    def __init__(self, patches: PatchGatherer, voxels: np.ndarray) -> None:
        self.patches = patches
        self.centres = patches.centre_index(voxels)  # per patch; the selection probe's mixing also reads them
        # per tile holding any of the voxels: which ones (their places in this set), and where among its flat outputs
        self.tiles: dict[Tile, tuple[torch.Tensor, torch.Tensor]] = {}
        self.dense: set[Tile] = set()  # the tiles whose pass is cheaper than their voxels' patches
        if not len(voxels):
            return
        at = np.stack(np.unravel_index(voxels, patches.shape), axis=1)
        edge = np.array(TILE_EDGE)
        corners, inverse = np.unique(at // edge, axis=0, return_inverse=True)
        corners = corners * edge
        ends = np.minimum(corners + edge, np.array(patches.shape))
        spans = ends - corners
        tile_inputs = np.prod(spans + patches.patch_size - 1, axis=1)
        inverse = inverse.ravel()
        by_tile = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
        for index, (corner, end, mine) in enumerate(zip(corners.tolist(), ends.tolist(), by_tile, strict=True)):
            local = at[mine] - corners[index]
            flat = (local[:, 0] * spans[index, 1] + local[:, 1]) * spans[index, 2] + local[:, 2]
            tile = (tuple(corner), tuple(end))
            self.tiles[tile] = (torch.from_numpy(mine), torch.from_numpy(flat))
            if len(mine) * patches.patch_size ** 3 > TILE_WORK * tile_inputs[index]:
                self.dense.add(tile)

    def __len__(self) -> int:
        return len(self.centres)

    def embed_and_score(self, net: ProspectivityNet, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
        """Pooled embeddings (N, C) and ore logits (N,) of the network as it is (eval mode)."""
        return outputs_at(net, [self], device)[0]


def outputs_at(net: ProspectivityNet, sets: Sequence[VoxelOutputs],
               device: torch.device) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each set's (embeddings (N, C), ore logits (N,)), the network as it is (eval mode): sets on the same cube
    share one pass over each tile any of them finds worth it; their other voxels are read one patch each."""
    n_embedding = net.config.n_embedding
    found = [(torch.empty(len(outputs), n_embedding), torch.empty(len(outputs))) for outputs in sets]
    by_cube: dict[int, list[int]] = {}
    for index, outputs in enumerate(sets):
        by_cube.setdefault(id(outputs.patches), []).append(index)
    for members in by_cube.values():
        patches = sets[members[0]].patches
        grow = patches.patch_size - 1
        run = sorted(set().union(*(sets[index].dense for index in members)))
        with torch.inference_mode(), autocast_for(device):
            for tile in run:
                (z0, y0, x0), (z1, y1, x1) = tile
                embedding = net.embed(patches.padded[None, :, z0:z1 + grow, y0:y1 + grow, x0:x1 + grow])
                logits = net.label_head(embedding).flatten().float().cpu()
                embedding = embedding[0].flatten(1).float().cpu()
                for index in members:
                    if tile in sets[index].tiles:
                        places, positions = sets[index].tiles[tile]
                        found[index][0][places] = embedding[:, positions].T
                        found[index][1][places] = logits[positions]
        for index in members:
            outputs = sets[index]
            left = [places for tile, (places, _) in outputs.tiles.items() if tile not in run]
            if left:
                places = torch.cat(left)
                embedding, logits = embed_and_score(net, patches, outputs.centres[places.to(outputs.centres.device)],
                                                    device)
                found[index][0][places], found[index][1][places] = torch.from_numpy(embedding), torch.from_numpy(logits)
    return [(embeddings.numpy(), logits.numpy()) for embeddings, logits in found]


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
