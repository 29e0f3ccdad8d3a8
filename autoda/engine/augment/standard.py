"""The base augmentation the trainer applies around a policy, so the `none` policy is the
usual baseline row. Each base is written in the policy language and merged into the
policy's own per-sample section, so its geometric ops share the policy's one warp.

- ``standard``: the usual CIFAR training augmentation (pad by 4 and crop, flip left-right);
- ``paper``: LLM-AutoDA's and DODA's (crop, flip, AutoAugment's CIFAR-10 policy, then the
  policy's ops, then Cutout 16), the base of the paper's Table 1;
- ``none``: the policy alone.
"""
from __future__ import annotations

import dataclasses

from ...catalog import BASES
from ...compiler import CheckedPolicy, check_policy
from ...resources import resource_text

STANDARD = """policy standard "pad by 4 of 32 pixels and crop; flip left-right half the time"

per sample:
    crop(0.125)
    flip_lr with probability 0.5
"""

# Cutout 16: a square of half the side (cutout's magnitude 1) on every image, after the
# policy's ops (erasing runs last in the pipeline).
CUTOUT_16 = """policy cutout16 "one 16 x 16 hole on a 32 x 32 image"

per sample:
    cutout(1)
"""

NONE = "policy none\nper sample:\n    identity\n"


def base_stages(base: str) -> tuple[CheckedPolicy | None, CheckedPolicy | None]:
    """The checked stages a base puts before and after a policy's."""
    if base not in BASES:
        raise ValueError(f"unknown base {base!r}; the bases are {', '.join(BASES)}")
    if base == "none":
        return None, None
    if base == "standard":
        return check_policy(STANDARD), None
    standard = check_policy(STANDARD)
    autoaugment = check_policy(resource_text("autoda.examples", "autoaugment.dsl"))
    before = dataclasses.replace(autoaugment.ast, stages=standard.ast.stages + autoaugment.ast.stages)
    return (check_policy(before, max_cost=autoaugment.cost.budget + standard.cost.per_sample),
            check_policy(CUTOUT_16))


def training_policy(checked: CheckedPolicy | None, base: str | bool = "standard") -> CheckedPolicy:
    """What the trainer applies: the base's stages around the policy (or the base alone).
    ``base`` True or False is ``standard`` or ``none``, as the flag it was."""
    if isinstance(base, bool):
        base = "standard" if base else "none"
    before, after = base_stages(base)
    if before is None and after is None:
        return checked if checked is not None else check_policy(NONE)
    if checked is None and after is None:
        return before
    own = checked if checked is not None else check_policy(NONE)
    stages = sum((p.ast.stages for p in (before, own, after) if p is not None), ())
    merged = dataclasses.replace(own.ast, stages=stages)
    extra = sum(p.cost.per_sample for p in (before, after) if p is not None)
    # The merged tree is checked as it stands: formatted and re-read, a policy right at the
    # limits on text (size, tokens) would no longer fit with the extra stages.
    combined = check_policy(merged, file=own.source.file, max_cost=own.cost.budget + extra)
    return dataclasses.replace(combined, python=own.python)  # a Python policy keeps its epoch step


def with_standard(checked: CheckedPolicy | None) -> CheckedPolicy:
    """The policy with the standard stages first (or the standard stages alone)."""
    return training_policy(checked, "standard")
