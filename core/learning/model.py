"""The DANN-CTA network, its ablations, the random-forest baseline and the trained-model object.

The network is fully convolutional: valid (unpadded) 3x3x3 convolutions, a window pooling and
1x1x1 heads, with a receptive field of exactly one p x p x p patch. Applied to one patch it gives
one logit; applied to a whole cube padded by p//2 it gives one logit per voxel, the same numbers,
which is what makes dense prediction fast. Every attention gate keeps that property: each one is
computed from values inside the receptive field of the voxel it acts on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as nnf

from ..errors import Mpm3dError
from ..settings import DEFAULTS, DOMAIN_HEAD_METHODS, NETWORK_METHODS
from .domain import domain_discriminator, reverse_gradient

if TYPE_CHECKING:
    from .novelty import SourceSample


@dataclass
class ModelConfig:
    """Architecture of the network; JSON-able so a model file can rebuild it."""

    n_features: int
    patch_size: int = DEFAULTS["patch_size"]
    channels: tuple[int, ...] = (32, 64, 64)
    feature_attention: bool = True
    channel_attention: bool = True
    spatial_attention: bool = True
    domain_head: bool = True
    discriminator: str = "small"  # core.learning.domain.DISCRIMINATORS; also the probe's size without a domain head

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)

    @property
    def n_conv(self) -> int:
        """Conv blocks that fit in the patch: each valid 3x3x3 conv eats one voxel per side."""
        return min(len(self.channels), (self.patch_size - 1) // 2)

    @property
    def pool_window(self) -> int:
        return self.patch_size - 2 * self.n_conv

    @property
    def n_embedding(self) -> int:
        return self.channels[self.n_conv - 1]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**{**data, "channels": tuple(data["channels"])})


def config_for_method(method: str, n_features: int, patch_size: int, discriminator: str = "small") -> ModelConfig:
    """``dann_cta`` has everything; ``dann`` drops attention, ``cta`` the domain head, ``cnn`` both."""
    if method not in NETWORK_METHODS:
        raise Mpm3dError(f"'{method}' is not a network method; choose one of {', '.join(NETWORK_METHODS)}")
    attention = method in ("dann_cta", "cta")
    return ModelConfig(
        n_features=n_features,
        patch_size=patch_size,
        feature_attention=attention,
        channel_attention=attention,
        spatial_attention=attention,
        domain_head=method in DOMAIN_HEAD_METHODS,
        discriminator=discriminator,
    )


class FeatureGate(nn.Module):
    """Squeeze-excitation over the F evidence layers, computed per voxel with 1x1x1 convolutions.

    A gate pooled over the whole input patch would make the weight of a voxel's evidence depend on
    which patch it sits in, so a dense pass could not reproduce per-patch predictions; a per-voxel
    gate is the same wherever it is evaluated.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        hidden = max(4, n_features)
        self.squeeze = nn.Conv3d(n_features, hidden, 1)
        self.excite = nn.Conv3d(hidden, n_features, 1)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Each layer's weight in (0, 1) at each voxel, (N, F, Z, Y, X): what the report and the gate maps show."""
        return torch.sigmoid(self.excite(nnf.relu(self.squeeze(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)


class SpatialAttentionPool(nn.Module):
    """Window pooling weighted by a per-voxel gate from the channel mean and max (as in CBAM).

    Pooling is a stride-1 window, so on a dense cube each output voxel sees exactly its own patch.
    A one-voxel window has nothing to weigh, so there the gate scales the features instead.
    """

    def __init__(self, window: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.window = window
        self.eps = eps
        self.gate = nn.Conv3d(2, 1, 1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        summary = torch.cat([f.mean(dim=1, keepdim=True), f.amax(dim=1, keepdim=True)], dim=1)
        s = torch.sigmoid(self.gate(summary))
        if self.window == 1:
            return f * s
        weighted = nnf.avg_pool3d(f * s, self.window, stride=1)
        return weighted / (nnf.avg_pool3d(s, self.window, stride=1) + self.eps)


class ChannelGate(nn.Module):
    """Squeeze-excitation on the pooled conv channels; the pooled vector already spans one patch."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(4, channels // 4)
        self.squeeze = nn.Conv3d(channels, hidden, 1)
        self.excite = nn.Conv3d(hidden, channels, 1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v * torch.sigmoid(self.excite(nnf.relu(self.squeeze(v))))


def _head(n_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(n_in, hidden, 1), nn.ReLU(inplace=True), nn.Conv3d(hidden, 1, 1))


class ProspectivityNet(nn.Module):
    """Feature extractor with optional triple attention, label head and domain head.

    Input (N, F, Z, Y, X); a patch (Z = Y = X = p) gives one logit, a cube padded by p//2 one
    logit per voxel.
    """

    # oneDNN's 3D convolutions run 1.2-1.4 times as fast on channels-last input on the CPU (bench/cpu_step);
    # off in a vmapped copy (core/learning/members.py), where vmap cannot lay out its inputs anew
    channels_last_on_cpu = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.patch_size < 3 or config.patch_size % 2 == 0:
            raise Mpm3dError(f"patch size must be odd and at least 3, got {config.patch_size}")
        self.config = config
        self.feature_gate = FeatureGate(config.n_features) if config.feature_attention else None
        blocks: list[nn.Module] = []
        n_in = config.n_features
        for n_out in config.channels[: config.n_conv]:
            blocks += [nn.Conv3d(n_in, n_out, 3), nn.BatchNorm3d(n_out), nn.ReLU(inplace=True)]
            n_in = n_out
        self.convs = nn.Sequential(*blocks)
        self.spatial_pool = SpatialAttentionPool(config.pool_window) if config.spatial_attention else None
        self.channel_gate = ChannelGate(n_in) if config.channel_attention else None
        self.label_head = _head(n_in, 32)
        self.domain_head = domain_discriminator(n_in, config.discriminator) if config.domain_head else None

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled feature vector per output voxel: (N, C, Z - p + 1, Y - p + 1, X - p + 1)."""
        if self.channels_last_on_cpu and x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last_3d)
        if self.feature_gate is not None:
            x = self.feature_gate(x)
        f = self.convs(x)
        if self.spatial_pool is not None:
            v = self.spatial_pool(f)
        else:
            v = nnf.avg_pool3d(f, self.config.pool_window, stride=1)
        if self.channel_gate is not None:
            v = self.channel_gate(v)
        return v

    def domain_logits(self, embedding: torch.Tensor, lambda_: float) -> torch.Tensor:
        """Discriminator logits behind the gradient reversal layer."""
        if self.domain_head is None:
            raise RuntimeError("this network has no domain head")
        return self.domain_head(reverse_gradient(embedding, lambda_))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Ore logits, (N, 1, Z - p + 1, Y - p + 1, X - p + 1)."""
        return self.label_head(self.embed(x))


@dataclass
class ForestArrays:
    """A random forest as plain arrays, predicted by a vectorised traversal (no pickle anywhere).

    Nodes of all trees are concatenated; tree t owns nodes ``node_offsets[t]:node_offsets[t+1]``,
    child indices are local to their tree and -1 at leaves, as in scikit-learn.
    """

    node_offsets: np.ndarray
    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    ore_probability: np.ndarray
    _tables: tuple[np.ndarray, ...] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_sklearn(cls, forest) -> ForestArrays:
        ore_column = int(np.flatnonzero(forest.classes_ == 1)[0])
        lefts, rights, features, thresholds, probabilities, sizes = [], [], [], [], [], [0]
        for estimator in forest.estimators_:
            tree = estimator.tree_
            counts = tree.value[:, 0, :]
            lefts.append(tree.children_left)
            rights.append(tree.children_right)
            features.append(tree.feature)
            thresholds.append(tree.threshold)
            probabilities.append(counts[:, ore_column] / counts.sum(axis=1))
            sizes.append(tree.node_count)
        return cls(
            node_offsets=np.cumsum(sizes).astype(np.int64),
            children_left=np.concatenate(lefts).astype(np.int32),
            children_right=np.concatenate(rights).astype(np.int32),
            feature=np.concatenate(features).astype(np.int32),
            threshold=np.concatenate(thresholds).astype(np.float64),
            ore_probability=np.concatenate(probabilities).astype(np.float64),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "node_offsets": self.node_offsets,
            "children_left": self.children_left,
            "children_right": self.children_right,
            "feature": self.feature,
            "threshold": self.threshold,
            "ore_probability": self.ore_probability,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ForestArrays:
        return cls(**{name: np.asarray(arrays[name]) for name in cls.__dataclass_fields__ if name[0] != "_"})

    @property
    def n_trees(self) -> int:
        return len(self.node_offsets) - 1

    def _traversal_tables(self) -> tuple[np.ndarray, ...]:
        """Global child indices where leaves point to themselves, so every walk can run to a fixpoint."""
        if self._tables is None:
            tree_of_node = np.repeat(np.arange(self.n_trees), np.diff(self.node_offsets))
            base = self.node_offsets[:-1][tree_of_node]
            own = np.arange(len(self.feature), dtype=np.int64)
            leaf = self.children_left < 0
            left = np.where(leaf, own, base + self.children_left)
            right = np.where(leaf, own, base + self.children_right)
            feature = np.where(leaf, 0, self.feature).astype(np.int64)
            self._tables = (left, right, feature, self.threshold, self.node_offsets[:-1])
        return self._tables

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Ore probability (N,) for standardised centre features (N, F): the mean of the tree leaves."""
        return self.predict_trees(x).mean(axis=1)

    def predict_trees(self, x: np.ndarray) -> np.ndarray:
        """Each tree's ore probability (N, trees): the forest's members, whose spread is its uncertainty.

        One tree at a time, and only the samples still on their way down: the tree's tables stay in the cache
        and a walk costs the samples' own depths, not the deepest leaf's (2-3x faster than walking every tree
        for every sample to the deepest leaf, with the same comparisons and so the same leaves).
        """
        left, right, feature, threshold, roots = self._traversal_tables()
        columns = np.ascontiguousarray(np.asarray(x, dtype=np.float32).T)
        n = columns.shape[1]
        everyone = np.arange(n)
        out = np.empty((len(roots), n), dtype=self.ore_probability.dtype)
        for tree, root in enumerate(roots):
            node = np.full(n, root, dtype=np.int64)
            active, current = everyone, node
            while active.size:
                step = np.where(columns[feature[current], active] <= threshold[current], left[current],
                                right[current])
                moving = step != current  # a leaf points to itself
                node[active] = step
                active, current = active[moving], step[moving]
            out[tree] = self.ore_probability[node]
        return np.ascontiguousarray(out.T)


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when torch sees a GPU; asking for CUDA without one is the user's error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise Mpm3dError(
            "CUDA was requested (DEVICE set to cuda, device=cuda) but torch reports no CUDA device; set DEVICE to "
            "auto (which falls back to the CPU) or cpu"
        )
    if device not in ("cuda", "cpu"):
        raise Mpm3dError(f"unknown device '{device}'; choose auto, cuda or cpu")
    return torch.device(device)


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; full precision on the CPU, where bf16 convolutions are slow."""
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@dataclass
class TrainedModel:
    """What training produces and a model file holds: network or forest plus everything to apply it."""

    method: str
    feature_names: list[str]
    patch_size: int
    normalisation: dict[str, dict[str, list[float]]]
    networks: list[ProspectivityNet] = field(default_factory=list)  # the ensemble's members
    forest: ForestArrays | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    val_auc: float | None = None
    # a sample of the source's standardised evidence: what "novel" is measured against at prediction
    source_sample: SourceSample | None = None
    # the input alignment's source reference (core.learning.alignment.reference_summary); None: no alignment
    alignment: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if bool(self.networks) == (self.forest is not None):
            raise ValueError("a trained model holds either networks or a forest")
        for network in self.networks:
            network.eval()

    @property
    def n_members(self) -> int:
        """Ensemble members: the networks, or the forest's trees."""
        return len(self.networks) if self.networks else self.forest.n_trees

