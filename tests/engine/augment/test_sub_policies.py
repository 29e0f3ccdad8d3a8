"""``one of`` stages: one sub-policy per sample, its terms in written order, shared passes."""
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st

import autoda
from autoda.compiler import check_policy, format_policy
from autoda.compiler.cost import TERM_COST
from autoda.compiler.subpolicies import pass_ops, shared_columns
from autoda.engine import ClassStats
from autoda.engine.augment.pipeline import implementation, to_unit, from_unit
from autoda.engine.augment.reference_interpreter import reference_apply
from autoda.ops import OPS, WARP_COST
from strategies import policies_with_sub_policies
from sync_guard import NoHostSync

AUTOAUGMENT = (Path(__file__).parents[3] / "examples" / "policies" / "autoaugment.dsl").read_text()


def compiled(text: str, num_classes: int = 2, seed: int = 0):
    policy = autoda.compile_policy(text, num_classes=num_classes, seed=seed)
    policy.update_epoch(ClassStats.initial(torch.arange(num_classes, 0, -1) * 10))
    return policy


@settings(max_examples=60, deadline=None)
@given(policies_with_sub_policies(), st.integers(1, 12), st.integers(0, 2 ** 31))
def test_the_graph_with_sub_policies_equals_the_per_sample_reference(policy, batch, seed):
    policy = compiled(format_policy(policy), num_classes=3, seed=seed)
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, 3, 9, 11), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 3, (batch,), generator=g)
    with NoHostSync():
        out, draw = policy(images, labels, return_draw=True)
    diff = (out.int() - reference_apply(policy.pipeline, images, draw).int()).abs()
    assert diff.max() <= 1 and (diff > 0).float().mean() <= 0.05


def test_each_sample_runs_one_sub_policy_drawn_uniformly_each_term_on_its_own_coin():
    text = ("policy p\nper sample:\n    one of [\n"
            "        [rotate(0.5) with probability 0.25, invert with probability 0.75],\n"
            "        [cutout(0.5)],\n"
            "        [brightness(1) with probability 0.5],\n"
            "    ]\n")
    policy = compiled(text)
    n = 30_000
    draw = policy.draw(torch.zeros(n, dtype=torch.long), (n, 3, 8, 8))
    applied = dict(zip(draw.ops, draw.applied.T))
    first = applied["rotate"] | applied["invert"]
    # sub-policies never mix on a sample
    assert not (first & (applied["cutout"] | applied["brightness"])).any()
    assert not (applied["cutout"] & applied["brightness"]).any()
    # the second always applies its one term: its share is the share of samples that drew it
    assert abs(applied["cutout"].float().mean() - 1 / 3) < 0.015
    assert abs(applied["brightness"].float().mean() - 1 / 6) < 0.015  # 1/3 drew it, half of those
    assert abs(applied["rotate"].float().mean() - 1 / 12) < 0.01
    assert abs(applied["invert"].float().mean() - 1 / 4) < 0.015
    # the first's terms draw their coins apart: together as often as the product says
    both = (applied["rotate"] & applied["invert"]).float().mean()
    assert abs(both - 1 / 3 * 0.25 * 0.75) < 0.01
    # magnitude is the term's (rotate's 0.5 of its 30 degrees, either sign)
    rotate = draw.ops.index("rotate")
    assert torch.allclose(draw.value[applied["rotate"], rotate].abs(), torch.tensor(15.0))


def test_a_sub_policy_runs_its_terms_in_the_order_written():
    """Two sub-policies name the same two colour ops in opposite orders; each sample's
    pixels are those of its own order, applied op by op."""
    text = ("policy p\nper sample:\n    one of [\n"
            "        [solarize(0.5), brightness(1)],\n"
            "        [brightness(1), solarize(0.5)],\n"
            "    ]\n")
    policy = compiled(text)
    assert [e.op for e in policy.pipeline.entries] == ["solarize", "brightness", "solarize"]  # 3 passes, not 4
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (64, 3, 6, 6), generator=g, dtype=torch.uint8)
    out, draw = policy(images, torch.zeros(64, dtype=torch.long), return_draw=True)
    solarize_first = draw.applied[:, 0]
    assert solarize_first.any() and (~solarize_first).any()
    for b in range(64):
        x = to_unit(images[b:b + 1])
        bright = draw.value[b:b + 1, 1]
        half = torch.tensor([0.5])
        steps = [("solarize", half), ("brightness", bright)]
        if not solarize_first[b]:
            steps.reverse()
        for op, value in steps:
            x = implementation(op)(x, value, None)
        assert torch.equal(out[b:b + 1], from_unit(x, torch.uint8))


def test_autoaugment_shares_passes_and_costs_them_once():
    stage = check_policy(AUTOAUGMENT).ast.stages[0]
    members = [[t.op.name for t in m] for m in stage.members]
    ops = pass_ops(members)
    assert len(stage.terms) == 50 and len(ops) == 19
    assert ops.count("equalize") == 2  # of 9 equalize terms
    columns = shared_columns(members)
    for names, numbers in zip(members, columns):  # a sub-policy's terms: distinct passes, of their own op
        assert len(set(numbers)) == len(numbers)
        assert [ops[i] for i in numbers] == names
        for kind in {OPS[n].kind for n in names}:  # in written order within a kind
            mine = [i for i, n in zip(numbers, names) if OPS[n].kind == kind]
            assert mine == sorted(mine)
    assert check_policy(AUTOAUGMENT).cost.per_sample == pytest.approx(
        sum(OPS[o].cost for o in ops) + WARP_COST + 50 * TERM_COST, abs=1e-6)
