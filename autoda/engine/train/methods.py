"""Long-tail training methods as losses: CE, CE-DRW, LDAM-DRW and Balanced Softmax.

- CE: cross-entropy.
- CE-DRW: cross-entropy, re-weighted from the DRW epoch on by the inverse effective number
  of samples, (1 - beta) / (1 - beta^n_c) with beta = 0.9999, normalised to sum to C
  (Cui et al., 2019; Cao et al., 2019).
- LDAM-DRW: label-distribution-aware margins m_c proportional to n_c^(-1/4), the largest
  0.5, subtracted from the true class's logit of a cosine classifier scaled by s = 30, with
  the same deferred re-weighting (Cao et al., 2019).
- Balanced Softmax: cross-entropy of logits + log(prior) during training; plain logits at
  test time (Ren et al., 2020).

Each loss returns per-sample values (for the per-class statistics) and the value to
back-propagate, which follows PyTorch's weighted mean. One class per method: a new loss is
one subclass of Method.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F

from ...catalog import METHODS

DRW_BETA = 0.9999
LDAM_MAX_MARGIN = 0.5
LDAM_SCALE = 30.0


def drw_weights(counts: torch.Tensor, beta: float = DRW_BETA) -> torch.Tensor:
    effective = 1 - torch.pow(beta, counts.double())
    weights = (1 - beta) / effective
    return (weights / weights.sum() * len(counts)).float()


def ldam_margins(counts: torch.Tensor, max_margin: float = LDAM_MAX_MARGIN) -> torch.Tensor:
    m = 1 / counts.double().pow(0.25)
    return (m * (max_margin / m.max())).float()


@dataclass
class Method:
    """Cross-entropy on the network's logits; each long-tail method below is a subclass
    that changes what it needs: the logits it takes the loss of, the classifier, the
    class weights. To add a method, write its subclass here, list it in METHOD_CLASSES,
    and add its name to autoda/catalog.py (a test checks the two lists agree)."""

    counts: torch.Tensor  # training images per class, on the training device
    drw_epoch: int | None = None

    name = "ce"
    normed_classifier = False  # a cosine classifier (LDAM's margins are for one)
    deferred_reweighting = False  # DRW: class weights from the DRW epoch on

    # the per-class constants, computed once where the counts are: loss runs every batch
    @cached_property
    def _drw_weights(self) -> torch.Tensor:
        return drw_weights(self.counts)

    def class_weights(self, epoch: int) -> torch.Tensor | None:
        if self.deferred_reweighting and self.drw_epoch is not None and epoch >= self.drw_epoch:
            return self._drw_weights
        return None

    def training_logits(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """What the cross-entropy is taken of while training."""
        return logits

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-sample losses, the mean to back-propagate)."""
        weight = self.class_weights(epoch)
        per_sample = F.cross_entropy(self.training_logits(logits, labels), labels, weight=weight, reduction="none")
        if weight is None:
            return per_sample, per_sample.mean()
        return per_sample, per_sample.sum() / weight[labels].sum()

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=1)  # every method predicts with the plain logits


class CrossEntropyDRW(Method):
    name = "ce-drw"
    deferred_reweighting = True


class LDAMDRW(Method):
    name = "ldam-drw"
    normed_classifier = True
    deferred_reweighting = True

    @cached_property
    def _margins(self) -> torch.Tensor:
        return ldam_margins(self.counts)

    def training_logits(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        margins = F.one_hot(labels, logits.shape[1]) * self._margins[labels].unsqueeze(1)
        return LDAM_SCALE * (logits - margins)


class BalancedSoftmax(Method):
    name = "bs"

    @cached_property
    def _log_prior(self) -> torch.Tensor:
        return torch.log(self.counts.float() / self.counts.sum())

    def training_logits(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return logits + self._log_prior


METHOD_CLASSES: dict[str, type[Method]] = {cls.name: cls for cls in (Method, CrossEntropyDRW, LDAMDRW,
                                                                       BalancedSoftmax)}


def make_method(name: str, counts: torch.Tensor, drw_epoch: int | None) -> Method:
    if name not in METHOD_CLASSES:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHOD_CLASSES[name](counts, drw_epoch)  # left where given: the trainer passes them on its device
