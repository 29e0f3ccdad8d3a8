"""Python policies end to end, without torch: check one (static checks, the carrier
policy, a trial run in the sandbox) and step one epoch (call the sandboxed function on the
class statistics and the policy state, get the next state back).

The state the function sees and returns, all [C, K] over classes and the policy's ops:
`aug_weight` (its own weights, 1 at the start; it may change them in place or return them
third), `History_ACCs` (a class's training accuracy when each op was last chosen for it, 0
before; the host keeps it), `lats_chose_matix` and `lats_chose_exts` (the previous epoch's
choices and intensities). `ACCs` is each class's training accuracy over the previous epoch
and `epoch` the epoch about to start, from 0.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..compiler.diagnostics import Diagnostic, PolicyError
from ..compiler.source import Source
from .client import SandboxClient, SandboxError, SandboxLimits
from .static_checks import PythonPolicy, check_python_source
from .validate import ResultError, step_array, validate_result
from .wire import decode, encode

STATE = ("aug_weight", "history_acc", "chose", "ext")  # the carrier's state, in this order
TRIAL_CLASSES = 10
_trials: dict[str, SandboxError | tuple[str, ...]] = {}  # policy hash -> its trial's failure, or the layers it ran in


def initial_state(classes: int, ops: int) -> dict[str, np.ndarray]:
    shape = (classes, ops)
    return {"aug_weight": np.ones(shape), "history_acc": np.zeros(shape), "chose": np.zeros(shape, dtype=bool),
            "ext": np.zeros(shape)}


def checked_answer(answer: dict, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The next state from a worker's answer, checked again in the parent as the worker
    checked it (validate_result): a worker running native code can send anything, and a
    wrong shape, a NaN or a value outside the carrier's declared ranges must not reach the
    engine. ValueError (ResultError) when it is not a policy step."""
    chose, exts, weight = validate_result((decode(answer["chose"]), decode(answer["exts"]),
                                           decode(answer["aug_weight"])), None, shape)
    history = step_array(decode(answer["history"]), "history", shape)
    if not (np.isfinite(history).all() and 0 <= history.min() and history.max() <= 1):
        raise ResultError("history must lie in [0, 1]")
    return {"aug_weight": weight, "history_acc": history.astype(np.float64), "chose": chose, "ext": exts}


class PythonStep:
    """Runs a Python policy's epoch step in a sandbox worker of its own (started on first use)."""

    def __init__(self, policy: PythonPolicy, limits: SandboxLimits | None = None) -> None:
        self.policy = policy
        self.client = SandboxClient(limits)

    def __call__(self, state: dict[str, np.ndarray], accs: np.ndarray, epoch: int, seed: int) -> dict[str, np.ndarray]:
        """The next state ([C, K] arrays named as STATE) from this one and the classes'
        accuracies; SandboxError when the function fails."""
        answer = self.client.call({"hash": self.policy.hash, "source": self.policy.text, "seed": seed % (1 << 32),
                                   "epoch": epoch, "accs": encode(accs), "aug_weight": encode(state["aug_weight"]),
                                   "history": encode(state["history_acc"]), "chose": encode(state["chose"]),
                                   "exts": encode(state["ext"])})
        try:
            return checked_answer(answer, state["aug_weight"].shape)
        except (KeyError, TypeError, ValueError) as error:
            raise SandboxError("crash", f"the sandbox worker's answer is malformed: {error}") from None

    def close(self) -> None:
        self.client.close()


class TrialCut(SandboxError):
    """The trial run reached its deadline: the time budget's failure, not the function's."""

    def __init__(self) -> None:
        super().__init__("timeout", "the time budget (--max-time) ran out during the trial run")


def trial_run(policy: PythonPolicy, limits: SandboxLimits | None = None, epochs: int = 3,
              deadline: float | None = None) -> tuple[str, ...]:
    """Run the function for a few epochs of a made-up 10-class long tail; the isolation
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
                state = step(state, accs, epoch, seed=epoch)
            except SandboxError as failure:
                if failure.kind == "timeout" and deadline is not None and time.monotonic() >= deadline:
                    raise TrialCut() from None
                raise
        return tuple(name for name, layer in step.client.layers.items() if layer.get("active"))
    finally:
        step.close()


def _trial_failure(src: Source, failure: SandboxError) -> PolicyError:
    hint = ("`autoda doctor` shows what this machine gives" if failure.kind == "isolation" else
            "the function ran on 10 classes for 3 epochs of made-up statistics")
    return PolicyError([Diagnostic("P005", f"trial run failed ({failure.kind}): {failure}", 1, 1, hint=hint,
                                   file=src.file)], src.lines)


def check_python_policy(src: Source, max_cost: float, deadline: float | None = None) -> "CheckedPolicy":  # noqa: F821
    """A checked carrier policy for a Python policy, or PolicyError (P001-P005); the trial
    run ends by ``deadline`` (time.monotonic()) when one is given."""
    from ..compiler.check import check_policy

    python = check_python_source(src)
    try:
        carrier = check_policy(python.carrier(), file=src.file, max_cost=max_cost, lang="dsl")
    except PolicyError as error:  # the ops' cost, the only thing the user controls in the carrier
        first = error.diagnostics[0]
        raise PolicyError([Diagnostic("P003", f"OPS cannot run: {first.message}", 1, 1, hint=first.hint,
                                      file=src.file)],
                          src.lines) from None
    if python.hash not in _trials:
        try:
            _trials[python.hash] = trial_run(python, deadline=deadline)
        except SandboxError as failure:
            if failure.kind == "isolation" or isinstance(failure, TrialCut):  # not the function's: not cached
                raise _trial_failure(src, failure) from None
            _trials[python.hash] = failure
    outcome = _trials[python.hash]
    if isinstance(outcome, SandboxError):
        raise _trial_failure(src, outcome)
    python = dataclasses.replace(python, isolation=outcome)
    return dataclasses.replace(carrier, python=python)
