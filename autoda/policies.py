"""The one front door for policies, in either language: a path, text or bytes in, a checked
policy out (check_policy), or a compiled one (compile_policy); and the policies a user names
(resolve_policy: an example's name or a file).

It sits above the compiler (the policy language), the sandbox (the paper's Python
get_aug_type) and the engine, and below the search: the compiler knows neither of the
others, and the engine never imports the sandbox. A Python policy's checked carrier brings
the sandbox's epoch step with it (``checked.python.epoch_step()``), so whatever compiles it,
here or in the trainer, runs get_aug_type in a worker each epoch.

A policy file is read once, by the compiler's reader (autoda.compiler.source.read_source):
at most MAX_SOURCE_BYTES, from a regular file only, UTF-8, with located diagnostics (a
PolicyError), never a UnicodeDecodeError.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .compiler import CheckedPolicy, ast
from .compiler import check_policy as check_dsl_policy
from .compiler.check import OnlyPolicyErrors
from .compiler.cost import DEFAULT_BUDGET
from .compiler.source import Source, read_source
from .errors import AutodaError
from .resources import resource_names, resource_text

if TYPE_CHECKING:  # the engine imports torch: only compile_policy needs it, and imports it then
    import torch

    from .engine import CompiledPolicy, EpochStep

LANGUAGES = ("auto", "dsl", "python")
PYTHON_POLICY = re.compile(r"^def\s+get_aug_type\s*\(", re.M)  # what makes text a Python policy


class PolicyNotFound(AutodaError, LookupError):
    """A name that is neither an example policy nor a file."""


def is_python_policy(src: Source) -> bool:
    """A `.py` file, or text (not from a `.dsl` file) that defines the paper's get_aug_type."""
    if src.file.endswith((".py", ".dsl")):
        return src.file.endswith(".py")
    return bool(PYTHON_POLICY.search(src.text))


def check_policy(source: str | bytes | os.PathLike | ast.Policy, *, file: str | None = None,
                 max_cost: float = DEFAULT_BUDGET, lang: str = "auto", deadline: float | None = None) -> CheckedPolicy:
    """Check a policy (a path, its text, its bytes, or a syntax tree); raise PolicyError
    listing every fault.

    ``lang`` "auto" reads a `.py` file, or text defining ``get_aug_type``, as a Python
    policy (run sandboxed, see autoda.sandbox) and anything else as the policy language.
    A syntax tree is the language's, checked as it stands (autoda.compiler.check_policy).
    ``deadline`` (time.monotonic()): when a Python policy's trial run must end by (a
    search's --max-time); past it the trial stops with P005.

    >>> checked = check_policy("policy p\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name, checked.lower().ops
    ('p', ('flip_lr',))
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    if isinstance(source, ast.Policy):
        return check_dsl_policy(source, file=file, max_cost=max_cost)
    with OnlyPolicyErrors(file) as guard:  # the compiler's contract holds for either language
        src = guard.src = read_source(source, file)
        if lang == "python" or (lang == "auto" and is_python_policy(src)):
            from .sandbox import check_python_policy  # RestrictedPython, only when needed
            return check_python_policy(src, max_cost, deadline=deadline)
    return check_dsl_policy(src, max_cost=max_cost)


def compile_policy(source: str | bytes | os.PathLike | CheckedPolicy, num_classes: int | None = None, *,
                   class_counts: torch.Tensor | Sequence[int] | None = None, seed: int | None = None,
                   generator: torch.Generator | None = None, device: torch.device | str | None = None,
                   max_cost: float = DEFAULT_BUDGET, epoch_step: EpochStep | None = None) -> CompiledPolicy:
    """Check and compile a policy (a path, its text or bytes, or a CheckedPolicy).

    Raises autoda.PolicyError for a policy that does not check. With ``class_counts``
    (training images per class) ``policy(images, labels)`` works from the first batch: it
    runs the epoch update of epoch 0 itself if none has run. A policy that reads none of
    count, freq and rank needs only ``num_classes`` for that; both may be left out, and the
    first ``update_epoch`` tells the classes. ``epoch_step`` replaces the step a Python
    policy brings (see autoda.engine.EpochStep).
    """
    from .engine import CompiledPolicy

    checked = source if isinstance(source, CheckedPolicy) else check_policy(source, max_cost=max_cost)
    policy = CompiledPolicy(checked, num_classes, seed=seed, generator=generator, epoch_step=epoch_step,
                            class_counts=class_counts)
    return policy.to(device) if device is not None else policy


def example_policies() -> dict[str, str]:
    """name -> text of every example policy in the policy language."""
    return {name.removesuffix(".dsl"): resource_text("autoda.examples", name)
            for name in resource_names("autoda.examples", ".dsl")}


# Examples the search does not grow from: AutoAugment's 25 sub-policies are the paper
# base's (--base paper), and at 50 terms it is far past genetic programming's size bound
# and a small model's prompt.
NOT_SEEDS = ("autoaugment",)


def seed_policies() -> dict[str, str]:
    """name -> text of the examples the search starts from (and shows a constrained LLM)."""
    return {name: text for name, text in example_policies().items() if name not in NOT_SEEDS}


def resolve_policy(name: str, base: Path | None = None) -> tuple[str, str, str]:
    """(label, text, file) of an example's name or a policy file.

    `autoda experiment` (a config's ``policies``) and `autoda search --baseline` take
    either. A relative file is looked for under ``base`` first (an experiment's config
    folder), then where the command runs. The label is the file's stem, or its folder's
    name for a search's ``best.dsl`` / ``best.py``. Raises PolicyNotFound, or PolicyError
    for a file that cannot be read as a policy (too large, not UTF-8, binary, not a
    regular file).
    """
    examples = example_policies()
    if name in examples:
        return name, examples[name], name
    given = Path(name)
    candidates = [given] if base is None or given.is_absolute() else [base / given, given]
    # exists, not is_file: a folder or FIFO of that name gets read_source's diagnostic, not "no such file"
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise PolicyNotFound(f"{name!r} is neither an example policy ({', '.join(examples)}) nor a file")
    source = read_source(path, file=str(path))
    label = path.parent.resolve().name if path.name in ("best.dsl", "best.py") else path.stem
    return label, source.text, source.file
