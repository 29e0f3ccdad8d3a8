"""The pipeline's structure: every op implemented once, in the documented order."""
import pytest
import torch

import autoda
from autoda.engine.augment import filters, geometric
from autoda.engine.augment.pipeline import KIND_ORDER, implementation
from autoda.ops import OPS
from sync_guard import NoHostSync


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


@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.kind != "identity"])
def test_every_op_runs_without_a_host_sync_or_work_per_sample(name):
    """Each op as the pipeline calls it, batched with a parameter per sample. Some ops run
    kornia's functions, and some of kornia's others sync (gaussian_blur2d checks sigma with
    a Python bool), so this guards every op, not only those in the example policies."""
    fn, kind, param = implementation(name), OPS[name].kind, OPS[name].param
    counts = []
    for b in (4, 4, 64):  # the first call builds the op's constants, once
        x = torch.rand(b, 3, 8, 10)
        value = torch.full((b,), param.value(0.5) if param else 1.0)
        aux = {"uniform2": torch.rand(b, 2), "uniform4": torch.rand(b, 4),
               "noise": torch.randn(b, 3, 8, 10)}.get(getattr(fn, "aux", None))
        with NoHostSync() as guard:
            if kind == "geometric":
                out = geometric.warp(x, fn(value, aux, 8, 10))
            elif kind == "filter":
                out = filters.convolve(x, fn(value))
            else:
                out = fn(x, value, aux)
        assert out.shape == x.shape and out.dtype == x.dtype
        counts.append(guard.calls)
    assert counts[1] == counts[2]
