"""Checking a Python policy: static checks, the carrier policy (checked by the compiler),
and a trial run of get_aug_type in the sandbox (step.PythonStep) on made-up statistics.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..class_stats import correct_counts
from ..compiler.check import CheckedPolicy, check_policy
from ..compiler.diagnostics import Diagnostic, PolicyError
from ..compiler.source import Source
from ..errors import FailureKind
from .client import SandboxError, SandboxLimits
from .static_checks import PythonPolicy, check_python_source
from .step import PythonStep, initial_state

TRIAL_CLASSES = 10
TRIAL_COUNTS = np.round(500 * 0.01 ** (np.arange(TRIAL_CLASSES) / (TRIAL_CLASSES - 1)))  # CIFAR-10-LT's, IR 100
_trials: dict[str, SandboxError | tuple[str, ...]] = {}  # policy hash -> its trial's failure, or the layers it ran in


class TrialCut(SandboxError):
    """The trial run reached its deadline: the time budget's failure, not the function's."""

    def __init__(self) -> None:
        super().__init__(FailureKind.TIMEOUT, "the time budget (--max-time) ran out during the trial run")


def trial_run(policy: PythonPolicy, limits: SandboxLimits | None = None, epochs: int = 3,
              deadline: float | None = None) -> tuple[str, ...]:
    """Run the function for a few epochs of a made-up 10-class long tail (the opening
    state, then two calls of the function, as training starts); the isolation
    layers it ran in, or SandboxError when it fails (TrialCut at the deadline, which
    shortens each call's wall-clock limit: three calls at the CPU limit take half a minute)."""
    step = PythonStep(policy, limits)
    try:
        state = initial_state(TRIAL_CLASSES, len(policy.ops))
        for epoch in range(epochs):
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TrialCut()
                step.client.limits = dataclasses.replace(step.client.limits,
                                                         wall_seconds=min(step.client.limits.wall_seconds, left))
            accs = 0.9 * (1 - np.arange(TRIAL_CLASSES) / TRIAL_CLASSES) * epoch / epochs  # rises, head first
            try:
                state = step(state, accs, epoch, seed=epoch, correct=correct_counts(accs, TRIAL_COUNTS))
            except SandboxError as failure:
                if failure.kind == FailureKind.TIMEOUT and deadline is not None and time.monotonic() >= deadline:
                    raise TrialCut() from None
                raise
        return tuple(name for name, layer in step.client.layers.items() if layer.get("active"))
    finally:
        step.close()


def _trial_failure(src: Source, failure: SandboxError) -> PolicyError:
    hint = ("`autoda doctor` shows what this machine gives" if failure.kind == FailureKind.ISOLATION else
            "the function ran on 10 classes for 3 epochs of made-up statistics")
    return PolicyError([Diagnostic("P005", f"trial run failed ({failure.kind}): {failure}", 1, 1, hint=hint,
                                   file=src.file)], src.lines)


def check_python_policy(src: Source, max_cost: float, deadline: float | None = None) -> CheckedPolicy:
    """A checked carrier policy for a Python policy, or PolicyError (P001-P005); the trial
    run ends by ``deadline`` (time.monotonic()) when one is given. Its ``python`` makes the
    policy's epoch step (PythonPolicy.epoch_step), which the engine runs each epoch."""
    python = check_python_source(src)
    try:
        carrier = check_policy(python.carrier(), file=src.file, max_cost=max_cost)
    except PolicyError as error:  # the ops' cost, the only thing the user controls in the carrier
        first = error.diagnostics[0]
        raise PolicyError([Diagnostic("P003", f"OPS cannot run: {first.message}", 1, 1, hint=first.hint,
                                      file=src.file)],
                          src.lines) from None
    if python.hash not in _trials:
        try:
            _trials[python.hash] = trial_run(python, deadline=deadline)
        except SandboxError as failure:
            if failure.kind == FailureKind.ISOLATION or isinstance(failure, TrialCut):  # not the function's: not cached
                raise _trial_failure(src, failure) from None
            _trials[python.hash] = failure
    outcome = _trials[python.hash]
    if isinstance(outcome, SandboxError):
        raise _trial_failure(src, outcome)
    python = dataclasses.replace(python, isolation=outcome)
    return dataclasses.replace(carrier, python=python)
