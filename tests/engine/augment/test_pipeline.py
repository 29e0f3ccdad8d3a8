"""The pipeline's structure: every op implemented once, in the documented order."""
import pytest

import autoda
from autoda.engine.augment import filters
from autoda.engine.augment.pipeline import KIND_ORDER, implementation
from autoda.ops import OPS


@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.kind != "identity"])
def test_every_registry_op_has_one_implementation_in_its_kind_module(name):
    fn = implementation(name)
    assert callable(fn) and fn.__name__ == name
    if OPS[name].kind == "filter":
        assert fn.radius >= 1


def test_pipeline_order_is_by_kind_then_as_written():
    policy = autoda.compile_policy("policy p\nper sample:\n    cutout(0.2)\n    invert\n"
                                   "    apply 1 of [smooth, rotate, equalize, flip_lr]\n        magnitude 0.3\n"
                                   "    translate_x(0.1)\n", num_classes=2)
    ops = [e.op for e in policy.pipeline.entries]
    assert ops == ["rotate", "flip_lr", "translate_x", "invert", "equalize", "smooth", "cutout"]
    assert [e.kind for e in policy.pipeline.entries] == sorted((e.kind for e in policy.pipeline.entries),
                                                               key=KIND_ORDER.index)


def test_gaussian_radius_is_the_documented_one():
    assert filters.gaussian_blur.radius == filters.GAUSSIAN_RADIUS == 3
