"""Each loss against a value worked out by hand on a tiny batch."""
import math

import pytest
import torch

from autoda.engine.train.methods import drw_weights, ldam_margins, make_method

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
