"""Ensemble members trained side by side: one module to step, whether it holds one network or several.

On a GPU one member's step is too small to fill the device, so N members trained one after the other cost N
runs. Stacked (``torch.func.stack_module_state``) and called through ``vmap``, the members run every layer as
one wider kernel: each member keeps its own weights, batch-norm statistics, optimiser state and data, and its
gradient is its own loss's alone (the members' losses are summed, and no weight is shared), so a stacked step
is each member's own step, up to the order of floating-point sums.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ..settings import AUTOMATIC_MEMBERS, TrainConfig
from .domain import DISCRIMINATOR_PREFIXES
from .model import ProspectivityNet


class TrainingHeads(nn.Module):
    """A network and, where it has no domain head, the probe that measures domain separability.

    ``forward(x, n_labelled, lambda_, n_target_scored)`` returns the label logits of the first ``n_labelled``
    patches, followed by those of the last ``n_target_scored`` (the target patches a label-free target loss
    reads), and the domain logits of all but the first ``n_labelled`` (behind the gradient reversal, or on
    detached features for the probe), float32.
    """

    def __init__(self, net: ProspectivityNet, probe: nn.Module | None) -> None:
        super().__init__()
        self.net = net
        self.probe = probe

    def forward(self, x: torch.Tensor, n_labelled: int, lambda_: float,
                n_target_scored: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.net.embed(x)
        label_logits = self.net.label_head(embedding[:n_labelled]).flatten().float()
        if n_target_scored:
            target_logits = self.net.label_head(embedding[len(embedding) - n_target_scored:]).flatten().float()
            label_logits = torch.cat([label_logits, target_logits])
        domain_embedding = embedding[n_labelled:]
        if self.probe is None:
            domain_logits = self.net.domain_logits(domain_embedding, lambda_)
        else:
            domain_logits = self.probe(domain_embedding.detach())
        return label_logits, domain_logits.flatten().float()


class MemberStack:
    """The members' ``TrainingHeads`` as one: called directly for one member, stacked and vmapped for several.

    Inputs and outputs carry the members as their first dimension. The members' own modules hold their
    weights only after ``sync()``, which the scoring of an epoch needs.
    """

    def __init__(self, members: list[TrainingHeads]) -> None:
        self.members = members
        if len(members) == 1:
            self.params, self.buffers = dict(members[0].named_parameters()), None
        else:
            self.params, self.buffers = stack_module_state(members)
            self.template = copy.deepcopy(members[0]).to("meta")
            self.template.net.channels_last_on_cpu = False

    def __call__(self, x: torch.Tensor, n_labelled: int, lambda_: float,
                 n_target_scored: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        if self.buffers is None:
            label_logits, domain_logits = self.members[0](x[0], n_labelled, lambda_, n_target_scored)
            return label_logits[None], domain_logits[None]

        def one(params, buffers, member_x):
            return functional_call(self.template, (params, buffers), (member_x, n_labelled, lambda_,
                                                                      n_target_scored))

        return vmap(one)(self.params, self.buffers, x)

    def train(self) -> None:
        for module in self.members if self.buffers is None else [self.template]:
            module.train()

    def param_groups(self, discriminator_lr_factor: float) -> list[dict]:
        """The feature extractor and label head, and the discriminator with its faster learning rate."""
        def is_discriminator(name: str) -> bool:
            return name.startswith(DISCRIMINATOR_PREFIXES)

        return [{"params": [q for name, q in self.params.items() if not is_discriminator(name)], "lr_factor": 1.0},
                {"params": [q for name, q in self.params.items() if is_discriminator(name)],
                 "lr_factor": discriminator_lr_factor}]

    @torch.no_grad()
    def sync(self) -> None:
        """Copy the stacked weights and statistics into each member's own module."""
        if self.buffers is None:
            return
        for index, member in enumerate(self.members):
            for name, value in (*member.named_parameters(), *member.named_buffers()):
                stacked = self.params[name] if name in self.params else self.buffers[name]
                value.copy_(stacked[index])


MEMBER_SEED_STRIDE = 1000


def member_seed(seed: int, member: int) -> int:
    """Member 0 keeps the run's seed (one member is the single model of before); the others are far apart,
    so ensembles from neighbouring base seeds share no member."""
    return seed + MEMBER_SEED_STRIDE * member


def trains_together(config: TrainConfig, device: torch.device) -> bool:
    """Whether the members of a network ensemble train side by side (``TrainConfig.members_together``)."""
    if config.method == "rf" or config.members < 2:
        return False
    return device.type == "cuda" if config.members_together is None else config.members_together


def with_members(config: TrainConfig, device: torch.device) -> TrainConfig:
    """``config`` with its ensemble size resolved: ENSEMBLE_MEMBERS 0 is AUTOMATIC_MEMBERS for the device; the
    random forest is one model (its members are its trees)."""
    if config.method == "rf":
        return replace(config, members=1)
    if config.members == 0:
        return replace(config, members=AUTOMATIC_MEMBERS[device.type])
    return config
