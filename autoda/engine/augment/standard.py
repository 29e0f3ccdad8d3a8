"""The standard CIFAR training augmentation (pad by 4 and crop, horizontal flip), which the
trainer applies before a policy unless told not to, so the `none` policy is the usual
baseline row. It is written in the policy language and merged into the policy's own
per-sample section, so its crop and flip share the policy's one warp."""
from __future__ import annotations

import dataclasses

from ...compiler import CheckedPolicy, check_policy

STANDARD = """policy standard "pad by 4 of 32 pixels and crop; flip left-right half the time"

per sample:
    crop(0.125)
    flip_lr with probability 0.5
"""


NONE = "policy none\nper sample:\n    identity\n"


def training_policy(checked: CheckedPolicy | None, standard: bool = True) -> CheckedPolicy:
    """What the trainer applies: the standard stages (unless ``standard`` is off), then the
    policy, if any."""
    if standard:
        return with_standard(checked)
    return checked if checked is not None else check_policy(NONE)


def with_standard(checked: CheckedPolicy | None) -> CheckedPolicy:
    """The policy with the standard stages first (or the standard stages alone)."""
    standard = check_policy(STANDARD)
    if checked is None:
        return standard
    merged = dataclasses.replace(checked.ast, stages=standard.ast.stages + checked.ast.stages)
    # The merged tree is checked as it stands: formatted and re-read, a policy right at the
    # limits on text (size, tokens) would no longer fit with the extra stages.
    combined = check_policy(merged, file=checked.source.file, max_cost=checked.cost.budget + standard.cost.per_sample)
    return dataclasses.replace(combined, python=checked.python)  # a Python policy keeps its epoch step
