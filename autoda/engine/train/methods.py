"""Long-tail training methods as losses: CE, CE-DRW, LDAM-DRW, Balanced Softmax, RIDE and BCL.

- CE: cross-entropy.
- CE-DRW: cross-entropy, re-weighted from the DRW epoch on by the inverse effective number
  of samples, (1 - beta) / (1 - beta^n_c) with beta = 0.9999, normalised to sum to C
  (Cui et al., 2019; Cao et al., 2019).
- LDAM-DRW: label-distribution-aware margins m_c proportional to n_c^(-1/4), the largest
  0.5, subtracted from the true class's logit of a cosine classifier scaled by s = 30, with
  the same deferred re-weighting (Cao et al., 2019).
- Balanced Softmax: cross-entropy of logits + log(prior) during training; plain logits at
  test time (Ren et al., 2020).
- RIDE: three experts (models.RideResNet), each with an LDAM loss (margins scaled by the
  logits' 30, DRW weights from the DRW epoch) and a diversity term, -0.2 T^2 times the KL
  divergence of the experts' mean distribution from the expert's at temperature T (1; from
  the DRW epoch a per-class T, 0.95 + 0.05 C freq over its maximum, T^2 its mean); the
  prediction is the experts' mean (Wang et al., 2021; the public code's RIDELoss and its
  CIFAR-LT configuration: weight decay 5e-4, Nesterov momentum).
- BCL: three views of every image (models.ContrastiveNet; views: engine/augment/views.py),
  2.0 times the logit-adjusted cross-entropy of the first view's logits (Balanced Softmax's,
  tau = 1) plus 0.6 times the balanced contrastive loss of the other two views' projected
  features and the class prototypes at temperature 0.1: class-averaged (each term over the
  batch's count of its class) and class-complemented (every class's prototype among the
  contrasted) (Zhu et al., 2022; the BCLLoss and BalSCL of the CIFAR code the paper's and
  CUDA's repositories share).

Each loss returns per-sample values (for the per-class statistics) and the value to
back-propagate, which follows PyTorch's weighted mean. The trainer asks ``batch_loss``,
which is ``loss`` for a method of one view. One class per method: a new loss is one
subclass of Method.
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
RIDE_DIVERSITY = -0.2  # the public code's additional_diversity_factor
RIDE_REWEIGHT_FACTOR = 0.05
BCL_ALPHA, BCL_BETA, BCL_TEMPERATURE = 2.0, 0.6, 0.1  # the public code's BCLLoss defaults


def drw_weights(counts: torch.Tensor, beta: float = DRW_BETA) -> torch.Tensor:
    effective = 1 - torch.pow(beta, counts.double())
    weights = (1 - beta) / effective
    return (weights / weights.sum() * len(counts)).float()


def balanced_contrastive(features: torch.Tensor, prototypes: torch.Tensor, labels: torch.Tensor,
                         temperature: float = BCL_TEMPERATURE) -> torch.Tensor:
    """BCL's balanced supervised contrastive loss per image, the mean of its two views'.

    ``features`` [B, 2, D] and ``prototypes`` [C, D], unit length. Each view is an anchor
    contrasted with every other view and every class's prototype; its positives are those
    of its class; each term of its denominator is divided by the batch's count of that
    term's class (less one where it is a positive), so every class weighs alike."""
    b, classes = len(labels), len(prototypes)
    targets = torch.cat([labels, labels, torch.arange(classes, device=labels.device)])
    # each class's views and its prototype, counted without bincount (a host read on CUDA)
    batch_count = 2 * features.new_zeros(classes).index_add_(0, labels, features.new_ones(b)) + 1
    anchors = torch.cat([features[:, 0], features[:, 1]])
    logits = anchors @ torch.cat([anchors, prototypes]).T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()  # for stability, as the code does
    not_self = torch.ones_like(logits)
    not_self[:, : 2 * b].fill_diagonal_(0)
    positive = (targets[: 2 * b, None] == targets[None, :]).to(logits.dtype) * not_self
    denominator = (logits.exp() * not_self / (batch_count[targets][None, :] - positive)).sum(1, keepdim=True)
    per_anchor = -(positive * (logits - denominator.log())).sum(1) / positive.sum(1)
    return per_anchor.view(2, b).mean(0)


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
    experts = 1  # the network's heads (RIDE's experts): loss takes [B, E, C] logits when more
    views = 1  # augmented views of each image in a batch (BCL's 3: the first is the classifier's)
    optimizer = {}  # what the method's own recipe changes (RIDE's weight decay, Nesterov)

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

    def batch_loss(self, model: torch.nn.Module, features: torch.Tensor, logits: torch.Tensor,
                   labels: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch's loss: ``features`` of its ``views`` views of the images,
        stacked view by view, ``logits`` of the first view's."""
        return self.loss(logits, labels, epoch)

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


class RIDE(Method):
    name = "ride"
    normed_classifier = True
    deferred_reweighting = True
    experts = 3
    optimizer = {"weight_decay": 5e-4, "nesterov": True}

    @cached_property
    def _margins(self) -> torch.Tensor:
        return ldam_margins(self.counts) * LDAM_SCALE  # the logits come scaled by 30

    @cached_property
    def _diversity_temperature(self) -> torch.Tensor:
        freq = self.counts.double() / self.counts.sum()
        t = len(self.counts) * freq * RIDE_REWEIGHT_FACTOR + 1 - RIDE_REWEIGHT_FACTOR
        return (t / t.max()).float()

    @cached_property
    def _late_diversity_factor(self) -> float:
        """The diversity term's factor once the temperature is per class: read once (a host
        read), not per batch."""
        return RIDE_DIVERSITY * float(self._diversity_temperature.mean()) ** 2

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``logits`` [B, E, C], each expert's: the sum over experts of its LDAM loss and its
        diversity term; per sample, the same sum of that sample's terms."""
        weight = self.class_weights(epoch)
        late = weight is not None
        temperature = self._diversity_temperature.view(1, -1) if late else 1.0
        factor = self._late_diversity_factor if late else RIDE_DIVERSITY
        mean = F.softmax(logits.mean(dim=1).detach() / temperature, dim=1)
        margins = F.one_hot(labels, logits.shape[2]) * self._margins[labels].unsqueeze(1)
        per_sample = torch.zeros(len(labels), device=logits.device)
        total = logits.new_zeros(())
        for e in range(logits.shape[1]):
            ce = F.cross_entropy(logits[:, e] - margins, labels, weight=weight, reduction="none")
            kl = (mean * (mean.clamp_min(1e-30).log() - F.log_softmax(logits[:, e] / temperature, dim=1))).sum(1)
            per_sample = per_sample + ce + factor * kl
            total = total + (ce.mean() if weight is None else ce.sum() / weight[labels].sum()) + factor * kl.mean()
        return per_sample, total


class BCL(BalancedSoftmax):
    """``loss`` is the logit-adjusted cross-entropy (Balanced Softmax's); ``batch_loss``
    weighs it and adds the contrastive term of the other two views."""

    name = "bcl"
    views = 3

    def batch_loss(self, model: torch.nn.Module, features: torch.Tensor, logits: torch.Tensor,
                   labels: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        b = len(labels)
        # every view through the projection head, as the code does (its batch norm sees all three)
        projected = model.project(features.float())[b:].view(2, b, -1).transpose(0, 1)
        contrastive = balanced_contrastive(projected, model.prototypes(), labels)
        per_sample = BCL_ALPHA * self.loss(logits, labels, epoch)[0] + BCL_BETA * contrastive
        return per_sample, per_sample.mean()


METHOD_CLASSES: dict[str, type[Method]] = {cls.name: cls for cls in (Method, CrossEntropyDRW, LDAMDRW,
                                                                       BalancedSoftmax, RIDE, BCL)}


def make_method(name: str, counts: torch.Tensor, drw_epoch: int | None) -> Method:
    if name not in METHOD_CLASSES:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHOD_CLASSES[name](counts, drw_epoch)  # left where given: the trainer passes them on its device
