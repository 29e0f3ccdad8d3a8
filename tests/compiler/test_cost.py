import pytest

import autoda
from autoda.compiler.cost import DEFAULT_BUDGET, estimate
from autoda.ops import OPS, WARP_COST
from helpers import parsed


def test_cost_is_the_sum_of_listed_ops_plus_one_warp():
    tree = parsed("policy p\nper sample:\n    apply 1 of [rotate, equalize]\n        magnitude 0.1\n"
                  "    cutout(0.5)\n    flip_lr\n")
    expected = OPS["rotate"].cost + OPS["equalize"].cost + OPS["cutout"].cost + OPS["flip_lr"].cost + WARP_COST
    assert estimate(tree).per_sample == pytest.approx(expected)


def test_no_warp_without_geometric_ops():
    assert estimate(parsed("policy p\nper sample:\n    invert\n")).per_sample == OPS["invert"].cost


def test_every_op_once_fits_the_default_budget():
    ops = ", ".join(OPS)
    checked = autoda.check_policy(f"policy all\nper sample:\n    apply 2 of [{ops}]\n        magnitude 0.2\n")
    assert checked.cost.per_sample <= DEFAULT_BUDGET


def test_budget_is_configurable():
    text = "policy p\nper sample:\n    equalize\n    equalize\n"
    autoda.check_policy(text)
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text, max_cost=5)
    assert caught.value.diagnostics[0].code == "C001"
