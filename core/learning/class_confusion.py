"""Minimum Class Confusion (MCC, Jin et al. 2020), a label-free loss on the target's predictions (TARGET_LOSS mcc).

MCC lowers how much a batch of target predictions confuses the classes: with each patch's class probabilities
P (n x 2), the confusion matrix C = P^T W P, where W weighs the patches, rows normalised to sum to 1; the loss is
the mean of its off-diagonal entries per class. Written after the paper and Transfer-Learning-Library's
tllib/self_training/mcc.py, for one ore logit per patch (two classes: barren 1 - p, ore p). C is symmetric, so
its normalised off-diagonal sum has a closed form: c / r_barren + c / r_ore over 2, with c = sum w p (1 - p),
r_barren = sum w (1 - p), r_ore = sum w p.

Choices, with the 1-2 % ore prior of a target in mind, none tuned on target labels:

- Temperature 2.5, the paper's and tllib's default: p = sigmoid(logit / 2.5). Softer probabilities keep a
  gradient on patches the network is already sure of, most of the target's barren rock.
- The paper's entropy weighting: w = 1 + exp(-H(p)), H the binary entropy, scaled to a mean of 1 over the batch
  and held constant (no gradient): a sure patch counts up to twice an unsure one, so the loss rests on the
  patches whose class is clearest rather than on the ambiguous margin of the ore zone.
- The class normalisation is what makes it usable at a 1-2 % prior: each class's row counts half, so the one or
  two ore-like patches of a uniform target batch are not drowned by the barren ones, and making every target
  patch barren does not lower the loss (the ore row's confusion then tends to 1). The networks' predictions are
  calibrated to the class-balanced labelled batches, so a target batch's predicted ore mass stays well above the
  prior and the ore row is never empty.
- Weight 1 against the label loss, tllib's trade-off default, constant over training as there.
"""

from __future__ import annotations

import torch

MCC_TEMPERATURE = 2.5
MCC_WEIGHT = 1.0


def minimum_class_confusion(logits: torch.Tensor, temperature: float = MCC_TEMPERATURE) -> torch.Tensor:
    """MCC of ore ``logits`` (..., n): one loss per leading index (e.g. per ensemble member), in [0, 1]."""
    ore = torch.sigmoid(logits.float() / temperature)
    barren = 1 - ore
    with torch.no_grad():
        entropy = -(ore * torch.log(ore.clamp_min(1e-12)) + barren * torch.log(barren.clamp_min(1e-12)))
        weight = 1 + torch.exp(-entropy)
        weight = weight / weight.mean(dim=-1, keepdim=True)
    confusion = (weight * ore * barren).sum(dim=-1)
    return confusion * (1 / (weight * barren).sum(dim=-1) + 1 / (weight * ore).sum(dim=-1)) / 2
