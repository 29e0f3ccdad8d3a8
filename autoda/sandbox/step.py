"""PythonStep: a Python policy's epoch step, run in a sandbox worker of its own. It
implements the engine's epoch-step interface (autoda.engine.augment.epoch_step.EpochStep)
without importing the engine: the engine receives it as a value.

The state the function sees and returns, all [C, K] over classes and the policy's ops:
`aug_weight` (its own weights, 1 at the start; it may change them in place or return them
third), `History_ACCs` (a class's training accuracy when each op was last chosen for it, 0
before; the host keeps it), `lats_chose_matix` and `lats_chose_exts` (the previous epoch's
choices and intensities), held as the carrier policy's state named as STATE. `ACCs` is each
class's training accuracy over the previous epoch and `epoch` the epoch about to start, from 0.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from ..errors import FailureKind
from .client import SandboxClient, SandboxError, SandboxLimits
from .validate import ResultError, step_array, validate_result
from .wire import decode, encode

if TYPE_CHECKING:
    from .static_checks import PythonPolicy

STATE = ("aug_weight", "history_acc", "chose", "ext")  # the carrier's state (static_checks.PythonPolicy.carrier)


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

    def __call__(self, state: Mapping[str, np.ndarray], accs: np.ndarray, epoch: int,
                 seed: int) -> dict[str, np.ndarray]:
        """The next state ([C, K] arrays named as STATE) from this one and the classes'
        accuracies; SandboxError when the function fails."""
        answer = self.client.call({"hash": self.policy.hash, "source": self.policy.text, "seed": seed % (1 << 32),
                                   "epoch": epoch, "accs": encode(accs), "aug_weight": encode(state["aug_weight"]),
                                   "history": encode(state["history_acc"]), "chose": encode(state["chose"]),
                                   "exts": encode(state["ext"])})
        try:
            return checked_answer(answer, state["aug_weight"].shape)
        except (KeyError, TypeError, ValueError) as error:
            raise SandboxError(FailureKind.CRASH, f"the sandbox worker's answer is malformed: {error}") from None

    def close(self) -> None:
        self.client.close()
