"""Each loss against a value worked out by hand on a tiny batch."""
import math

import pytest
import torch

from autoda.engine.train.methods import balanced_contrastive, drw_weights, ldam_margins, make_method

COUNTS = torch.tensor([100, 10])
LOGITS = torch.tensor([[2.0, 0.0], [0.5, 1.5]])
LABELS = torch.tensor([0, 1])


def ce(logits, label):
    return -logits[label] + math.log(sum(math.exp(v) for v in logits))


def test_cross_entropy():
    per_sample, mean = make_method("ce", COUNTS, None).loss(LOGITS, LABELS, 0)
    expected = [ce([2.0, 0.0], 0), ce([0.5, 1.5], 1)]
    assert per_sample.tolist() == pytest.approx(expected)
    assert mean.item() == pytest.approx(sum(expected) / 2)


def test_balanced_softmax_adds_the_log_prior():
    _, mean = make_method("bs", COUNTS, None).loss(LOGITS, LABELS, 0)
    lp = [math.log(100 / 110), math.log(10 / 110)]
    expected = (ce([2.0 + lp[0], lp[1]], 0) + ce([0.5 + lp[0], 1.5 + lp[1]], 1)) / 2
    assert mean.item() == pytest.approx(expected)


def test_drw_weights_are_inverse_effective_numbers_summing_to_the_class_count():
    beta = 0.9999
    raw = [(1 - beta) / (1 - beta ** 100), (1 - beta) / (1 - beta ** 10)]
    expected = [2 * r / sum(raw) for r in raw]
    assert drw_weights(COUNTS).tolist() == pytest.approx(expected, rel=1e-5)


def test_ce_drw_weighs_only_from_the_drw_epoch():
    method = make_method("ce-drw", COUNTS, drw_epoch=5)
    plain = make_method("ce", COUNTS, None).loss(LOGITS, LABELS, 0)[1]
    assert method.loss(LOGITS, LABELS, 4)[1].item() == pytest.approx(plain.item())
    w = drw_weights(COUNTS).tolist()
    expected = (w[0] * ce([2.0, 0.0], 0) + w[1] * ce([0.5, 1.5], 1)) / (w[0] + w[1])
    assert method.loss(LOGITS, LABELS, 5)[1].item() == pytest.approx(expected, rel=1e-5)


def test_ldam_subtracts_the_class_margin_and_scales():
    margins = ldam_margins(COUNTS).tolist()
    assert margins[1] == pytest.approx(0.5) and margins[0] == pytest.approx(0.5 * (10 / 100) ** 0.25)
    cosines = torch.tensor([[0.9, 0.1], [0.2, 0.6]])
    _, mean = make_method("ldam-drw", COUNTS, drw_epoch=99).loss(cosines, LABELS, 0)
    expected = (ce([30 * (0.9 - margins[0]), 30 * 0.1], 0) + ce([30 * 0.2, 30 * (0.6 - margins[1])], 1)) / 2
    assert mean.item() == pytest.approx(expected, rel=1e-5)
    assert make_method("ldam-drw", COUNTS, 1).normed_classifier


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        make_method("focal", COUNTS, None)


def test_every_method_the_command_line_offers_is_declared_once():
    from autoda.catalog import METHODS
    from autoda.engine.train.methods import METHOD_CLASSES

    assert tuple(METHOD_CLASSES) == METHODS


def ride_loss_as_published(logits, labels, counts, epoch, drw_epoch):
    """The public code's RIDELoss.forward (model/loss.py of RIDE-LongTailRecognition, its
    CIFAR-LT settings: s 30, max margin 0.5, diversity factor -0.2, reweight factor 0.05,
    reweighting past the DRW epoch), written as it reads, expert by expert."""
    import numpy as np
    import torch.nn.functional as F

    n = np.array(counts.tolist(), dtype=np.float64)
    m = 1.0 / np.sqrt(np.sqrt(n))
    m = torch.tensor(m * (0.5 / m.max()), dtype=torch.float)
    effective = 1.0 - np.power(0.9999, n)
    w = (1.0 - 0.9999) / effective
    w = torch.tensor(w / w.sum() * len(n), dtype=torch.float)
    freq = n / n.sum()
    t = len(n) * freq * 0.05 + 1 - 0.05
    t = torch.tensor(t / t.max(), dtype=torch.float)
    late = epoch >= drw_epoch  # the code's epoch > reweight_epoch counts epochs from 1
    base_weight, diversity = (w, t) if late else (None, None)
    output = logits.mean(dim=1)
    loss = 0
    for e in range(logits.shape[1]):
        x = logits[:, e]
        index = F.one_hot(labels, x.shape[1]).bool()
        final = torch.where(index, x - (m[labels] * 30).view(-1, 1), x)
        loss += F.cross_entropy(final, labels, weight=base_weight)
        temperature = diversity.view(1, -1) if diversity is not None else 1.0
        temperature_mean = diversity.mean().item() if diversity is not None else 1.0
        out = F.log_softmax(x / temperature, dim=1)
        mean = F.softmax(output / temperature, dim=1)
        loss += -0.2 * temperature_mean ** 2 * F.kl_div(out, mean, reduction="batchmean")
    return loss


@pytest.mark.parametrize("epoch", [0, 5])
def test_ride_is_the_published_loss_before_and_after_reweighting(epoch):
    g = torch.Generator().manual_seed(0)
    counts = torch.tensor([100, 30, 10])
    logits = 30 * (2 * torch.rand(4, 3, 3, generator=g) - 1)  # 4 samples, 3 experts, 3 classes: scaled cosines
    labels = torch.tensor([0, 1, 2, 1])
    method = make_method("ride", counts, drw_epoch=5)
    per_sample, mean = method.loss(logits, labels, epoch)
    assert mean.item() == pytest.approx(ride_loss_as_published(logits, labels, counts, epoch, 5).item(), rel=1e-5)
    if epoch == 0:  # unweighted, the batch's loss is the mean of the samples'
        assert per_sample.mean().item() == pytest.approx(mean.item(), rel=1e-5)
    assert method.experts == 3 and method.normed_classifier
    assert method.optimizer == {"weight_decay": 5e-4, "nesterov": True}


def test_ride_by_hand_on_two_experts_that_agree():
    """Experts that agree diverge from nothing: the loss is the experts' LDAM losses."""
    logits = torch.tensor([[[3.0, -3.0], [3.0, -3.0]]])
    method = make_method("ride", COUNTS, drw_epoch=9)
    margin = 30 * ldam_margins(COUNTS)[0].item()
    expected = 2 * ce([3.0 - margin, -3.0], 0)
    assert method.loss(logits, torch.tensor([0]), 0)[1].item() == pytest.approx(expected, rel=1e-5)


def bal_scl_as_published(centers, features, targets, cls_num_list, temperature=0.1):
    """BalSCL.forward of the CIFAR code the paper's and CUDA's repositories share
    (losses/bcl.py), on the CPU."""
    batch_size = features.shape[0]
    targets = targets.contiguous().view(-1, 1)
    targets_centers = torch.arange(len(cls_num_list)).view(-1, 1)
    targets = torch.cat([targets.repeat(2, 1), targets_centers], dim=0)
    batch_cls_count = torch.eye(len(cls_num_list))[targets].sum(dim=0).squeeze()
    mask = torch.eq(targets[:2 * batch_size], targets.T).float()
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * 2).view(-1, 1), 0)
    mask = mask * logits_mask
    features = torch.cat(torch.unbind(features, dim=1), dim=0)
    features = torch.cat([features, centers], dim=0)
    logits = features[:2 * batch_size].mm(features.T)
    logits = torch.div(logits, temperature)
    logits_max, _ = torch.max(logits, dim=1, keepdim=True)
    logits = logits - logits_max.detach()
    exp_logits = torch.exp(logits) * logits_mask
    per_ins_weight = torch.tensor([batch_cls_count[i] for i in targets]).view(1, -1).expand(
        2 * batch_size, 2 * batch_size + len(cls_num_list)) - mask
    exp_logits_sum = exp_logits.div(per_ins_weight).sum(dim=1, keepdim=True)
    log_prob = logits - torch.log(exp_logits_sum)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    return (-mean_log_prob_pos).view(2, batch_size).mean()


class _Heads:
    """A network's BCL heads as fixed maps, so the loss alone is under test."""

    def __init__(self, projection, prototypes):
        self.projection, self._prototypes = projection, prototypes

    def project(self, features):
        return torch.nn.functional.normalize(features @ self.projection, dim=1)

    def prototypes(self):
        return self._prototypes


def test_bcl_is_the_published_loss():
    g = torch.Generator().manual_seed(0)
    counts = torch.tensor([100, 30, 10, 3])
    labels = torch.tensor([0, 1, 0, 3, 2, 0])
    b, dim = len(labels), 5
    features = torch.randn(3 * b, 8, generator=g)  # three views' backbone features, view by view
    heads = _Heads(torch.randn(8, dim, generator=g),
                   torch.nn.functional.normalize(torch.randn(4, dim, generator=g), dim=1))
    logits = torch.randn(b, 4, generator=g)
    method = make_method("bcl", counts, drw_epoch=None)
    per_sample, mean = method.batch_loss(heads, features, logits, labels, epoch=0)
    projected = heads.project(features)
    views = torch.stack([projected[b:2 * b], projected[2 * b:]], dim=1)
    scl = bal_scl_as_published(heads.prototypes(), views, labels, counts.tolist())
    logit_adjusted = torch.nn.functional.cross_entropy(logits + torch.log(counts / counts.sum()), labels)
    assert mean.item() == pytest.approx((2.0 * logit_adjusted + 0.6 * scl).item(), rel=1e-5)
    assert per_sample.mean().item() == pytest.approx(mean.item(), rel=1e-6)
    assert method.views == 3 and not method.normed_classifier
    assert method.predict(logits).tolist() == logits.argmax(1).tolist()  # plain logits at test time


def test_balanced_contrastive_by_hand():
    """One image, two identical views on class 0's prototype, temperature 1: each anchor's
    positives are the other view and the prototype (logit 1 each, weighed by 1/2 as class 0
    counts 3 in the batch), its other term class 1's prototype (logit 0, weight 1), so its
    loss is log(1 + 1/e) after the shift by the largest logit."""
    view = torch.tensor([[1.0, 0.0]])
    features = torch.stack([view, view], dim=1)
    prototypes = torch.eye(2)
    loss = balanced_contrastive(features, prototypes, torch.tensor([0]), temperature=1.0)
    assert loss.tolist() == pytest.approx([math.log(1 + math.exp(-1))])
