"""The domain-adversarial parts of DANN (Ganin & Lempitsky 2015; Ganin et al. 2016), in one place.

The gradient reversal layer and its weight's schedule, the annealed learning rate that keeps the game stable,
the discriminator that tells source from target embeddings, and its loss and accuracy. The networks
(core.learning.model) put the discriminator behind the reversal layer; training (core.learning.training) steps it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as nnf

# The discriminator must keep up with the features it judges, or in a run of a few hundred steps it never
# tells the domains apart and the reversed gradient carries no signal.
DISCRIMINATOR_LR_FACTOR = 10.0
DISCRIMINATOR_PREFIXES = ("net.domain_head.", "probe.")


class _GradientReversal(torch.autograd.Function):
    # forward and setup_context apart, and a generated vmap rule: members trained together (torch.func.vmap)
    # pass through the same layer as a single network
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, lambda_: float) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.lambda_ = inputs[1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * -ctx.lambda_, None


def reverse_gradient(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    """Identity forward, gradient times -lambda backward (Ganin & Lempitsky 2016)."""
    return _GradientReversal.apply(x, lambda_)


def grl_lambda(progress: float, lambda_max: float = 1.0) -> float:
    """Gradient-reversal weight: 0 at the start, rising smoothly to ``lambda_max`` (Ganin & Lempitsky)."""
    return lambda_max * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)


def annealed_learning_rate(progress: float, initial: float) -> float:
    """mu_p = mu_0 / (1 + 10 p)^0.75: a decay that keeps the adversarial game stable late in training."""
    return initial / (1.0 + 10.0 * progress) ** 0.75


# Discriminator size -> its hidden layers. "small": one layer of 64 units (mpm3d's first); "large": two of 1024 with
# batch norm, Transfer-Learning-Library's DomainDiscriminator for DANN.
DISCRIMINATORS = {"small": (64,), "large": (1024, 1024)}


def domain_discriminator(n_embedding: int, size: str = "small") -> nn.Sequential:
    """MLP (embedding -> hidden layers -> 1 logit) telling source (0) from target (1) patches, as 1x1x1
    convolutions so that it runs on a dense embedding too."""
    layers: list[nn.Module] = []
    n_in = n_embedding
    for hidden in DISCRIMINATORS[size]:
        layers += [nn.Conv3d(n_in, hidden, 1)]
        if size == "large":
            layers += [nn.BatchNorm3d(hidden)]
        layers += [nn.ReLU(inplace=True)]
        n_in = hidden
    return nn.Sequential(*layers, nn.Conv3d(n_in, 1, 1))


def domain_labels(batch: int, n_members: int, device: torch.device) -> torch.Tensor:
    """The domain of each patch of a step's domain batch, for every member: B source (0), then B target (1)."""
    return torch.cat([torch.zeros(batch), torch.ones(batch)]).to(device).expand(n_members, -1)


def domain_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's domain loss (mean binary cross-entropy) and the discriminator's accuracy: (members,) each."""
    loss = nnf.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(dim=1)
    with torch.no_grad():
        accuracy = ((logits > 0).float() == labels).float().mean(dim=1)
    return loss, accuracy
