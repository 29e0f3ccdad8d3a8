import re
from pathlib import Path

import pytest

from autoda.ops import OP_KINDS, OPS

# The ops ../shared/DESIGN.md requires: CUDA's 22 PIL ops and LLM-AutoDA's 10 among them, and
# the random-resized crop of BCL's contrastive views and of the base for large images.
REQUIRED = """identity flip_lr flip_ud rotate shear_x shear_y translate_x translate_y scale crop
resized_crop autocontrast equalize invert posterize solarize solarize_add brightness contrast color hue
sharpness grayscale gaussian_blur gaussian_noise smooth detail edge_enhance cutout""".split()


def test_registry_has_every_required_op():
    assert sorted(OPS) == sorted(REQUIRED)


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_op_is_well_formed(name):
    op = OPS[name]
    assert op.kind in OP_KINDS and op.cost >= 0 and op.summary
    if op.param is not None:
        assert op.param.identity == op.parameter(0.0)  # magnitude 0 is the identity
        assert op.parameter(1.0) == pytest.approx(op.param.at_one) and op.param.at_one != op.param.identity


def test_no_other_module_lists_ops():
    """The registry is the one list: no other source file names five or more ops as strings."""
    package = Path(__file__).parents[1] / "autoda"
    for path in package.rglob("*.py"):
        if path.name == "ops.py":
            continue
        quoted = set(re.findall(r"[\"']([a-z_]+)[\"']", path.read_text()))
        assert len(quoted & set(OPS)) < 5, path
