"""The base augmentation the trainer applies around a policy, so the `none` policy is the
usual baseline row. Each base is written in the policy language and merged into the
policy's own per-sample section, so its geometric ops share the policy's one warp.

- ``standard``: the usual training augmentation: for images up to 64 pixels CIFAR's (pad
  by 4 and crop, flip left-right), above ImageNet's (random-resized crop of 0.08 to 1 of
  the area at aspect ratios 3/4 to 4/3, flip left-right);
- ``paper``: LLM-AutoDA's and DODA's (crop, flip, AutoAugment's CIFAR-10 policy, then the
  policy's ops, then Cutout 16), the base of the paper's Table 1;
- ``none``: the policy alone.

BCL's contrastive views have a base of their own (``contrastive_policy``): SimCLR's.
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

LARGE = """policy standard_large "random-resized crop and flip, as ImageNet training does"

per sample:
    resized_crop(1)
    flip_lr with probability 0.5
"""
LARGE_ABOVE = 64  # pixels: the side above which the standard base is LARGE

# Cutout 16: a square of half the side (cutout's magnitude 1) on every image, after the
# policy's ops (erasing runs last in the pipeline).
CUTOUT_16 = """policy cutout16 "one 16 x 16 hole on a 32 x 32 image"

per sample:
    cutout(1)
"""

NONE = "policy none\nper sample:\n    identity\n"

# BCL's contrastive views (its CIFAR code's sim_cifar transform, SimCLR's): random-resized
# crop of 0.2 to 1 of the area, flip, colour jitter (brightness, contrast and saturation
# 0.6-1.4, hue +-0.1 of the circle) on one coin of 0.8 for the four (four sub-policies of
# five), grayscale 0.2, gaussian blur of sigma 0.1-2 on half. Magnitudes in autoda's units:
# resized_crop's area 0.2 is 0.8696, a factor of 1 +- 0.4 is 0.4444, a hue shift of 0.1 is
# 0.2, sigma 0.1 is 0.05. docs/fidelity.md lists what differs.
_JITTER = ("[brightness(uniform(0, 0.4444)), contrast(uniform(0, 0.4444)), color(uniform(0, 0.4444)), "
           "hue(uniform(0, 0.2))]")
CONTRASTIVE = f"""policy contrastive_view "SimCLR's CIFAR augmentation, BCL's contrastive views"

per sample:
    resized_crop(0.8696)
    flip_lr with probability 0.5
    one of [{", ".join([_JITTER] * 4)}, [identity]]
    grayscale with probability 0.2
    gaussian_blur(uniform(0.05, 1)) with probability 0.5
"""


def base_stages(base: str, image_size: int | None = None) -> tuple[CheckedPolicy | None, CheckedPolicy | None]:
    """The checked stages a base puts before and after a policy's, for images of
    ``image_size`` pixels (None: CIFAR's)."""
    if base not in BASES:
        raise ValueError(f"unknown base {base!r}; the bases are {', '.join(BASES)}")
    if base == "none":
        return None, None
    if base == "standard":
        return check_policy(LARGE if image_size is not None and image_size > LARGE_ABOVE else STANDARD), None
    standard = check_policy(STANDARD)
    autoaugment = check_policy(resource_text("autoda.examples", "autoaugment.dsl"))
    before = dataclasses.replace(autoaugment.ast, stages=standard.ast.stages + autoaugment.ast.stages)
    return (check_policy(before, max_cost=autoaugment.cost.budget + standard.cost.per_sample),
            check_policy(CUTOUT_16))


def training_policy(checked: CheckedPolicy | None, base: str | bool = "standard",
                    image_size: int | None = None) -> CheckedPolicy:
    """What the trainer applies to images of ``image_size`` pixels: the base's stages around
    the policy (or the base alone). ``base`` True or False is ``standard`` or ``none``, as
    the flag it was."""
    if isinstance(base, bool):
        base = "standard" if base else "none"
    return _around(checked, *base_stages(base, image_size))


def contrastive_policy(checked: CheckedPolicy | None) -> CheckedPolicy:
    """What BCL's contrastive views apply: SimCLR's CIFAR augmentation, then the policy (as
    CUDA's BCL code runs its per-class ops on those views); whatever the trainer's base."""
    return _around(checked, check_policy(CONTRASTIVE), None)


def _around(checked: CheckedPolicy | None, before: CheckedPolicy | None,
            after: CheckedPolicy | None) -> CheckedPolicy:
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
