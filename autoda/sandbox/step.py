"""PythonStep: a Python policy's epoch step, run in a sandbox worker of its own. It
implements the engine's epoch-step interface (autoda.engine.augment.epoch_step.EpochStep)
without importing the engine: the engine receives it as a value.

It hosts get_aug_type as the paper's training code does (docs/python-policies.md): the
first epoch trains with one op per class drawn at random and intensities drawn in [0, 1)
(``opening_state``); after each epoch the function is called with each class's number of
correct training predictions (ACCs) and the epoch just finished, and then
``History_ACCs[c, k] = ACCs[c]`` for every op k class c used in that epoch. The state, all
[C, K] over classes and the policy's ops: `aug_weight` (the function's own weights, 1 at
the start; it may change them in place or return them third), `History_ACCs`, and
`lats_chose_matix` and `lats_chose_exts` (the choices and intensities of the epoch just
finished), held as the carrier policy's state named as STATE.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from ..errors import FailureKind
from .client import SandboxClient, SandboxError, SandboxLimits
from .validate import validate_result
from .wire import decode, encode

if TYPE_CHECKING:
    from .static_checks import PythonPolicy

STATE = ("aug_weight", "history_acc", "chose", "ext")  # the carrier's state (static_checks.PythonPolicy.carrier)


def initial_state(classes: int, ops: int) -> dict[str, np.ndarray]:
    shape = (classes, ops)
    return {"aug_weight": np.ones(shape), "history_acc": np.zeros(shape), "chose": np.zeros(shape, dtype=bool),
            "ext": np.zeros(shape)}


def opening_state(classes: int, ops: int, seed: int) -> dict[str, np.ndarray]:
    """The state the first epoch trains with, as the paper's dataset starts: each class one
    op drawn uniformly (its weights are all 1), intensities uniform in [0, 1)."""
    rng = np.random.default_rng(seed % (1 << 32))
    state = initial_state(classes, ops)
    state["chose"][np.arange(classes), rng.integers(0, ops, classes)] = True
    state["ext"] = rng.random((classes, ops))
    return state


def checked_answer(answer: dict, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The function's choices, intensities and weights from a worker's answer, checked
    again in the parent as the worker checked them (validate_result): a worker running
    native code can send anything, and a wrong shape, a NaN or a value outside the carrier's
    declared ranges must not reach the engine. ValueError (ResultError) when it is not a
    policy step."""
    chose, exts, weight = validate_result((decode(answer["chose"]), decode(answer["exts"]),
                                           decode(answer["aug_weight"])), None, shape)
    return {"aug_weight": weight, "chose": chose, "ext": exts}


class PythonStep:
    """Runs a Python policy's epoch step in a sandbox worker of its own (started on first use)."""

    def __init__(self, policy: PythonPolicy, limits: SandboxLimits | None = None, opening: bool = True) -> None:
        """``opening``: the first call gives the opening state (as a training run starts);
        False calls the function from the first call on."""
        self.policy = policy
        self.client = SandboxClient(limits)
        self.started = not opening

    def __call__(self, state: Mapping[str, np.ndarray], accs: np.ndarray, epoch: int, seed: int, *,
                 correct: np.ndarray) -> dict[str, np.ndarray]:
        """The next state ([C, K] arrays named as STATE) before epoch ``epoch``: the opening
        state before the first epoch this step sees, else the function's answer to the epoch
        just finished, whose correct predictions per class are ``correct`` (the paper's
        ACCs: class_stats.correct_counts); SandboxError when the function fails."""
        shape = state["aug_weight"].shape
        if not self.started:
            self.started = True
            return opening_state(*shape, seed=seed)
        counts = np.asarray(correct, dtype=np.int64)
        answer = self.client.call({"hash": self.policy.hash, "source": self.policy.text, "seed": seed % (1 << 32),
                                   "epoch": epoch - 1, "accs": encode(counts),
                                   "aug_weight": encode(state["aug_weight"]), "history": encode(state["history_acc"]),
                                   "chose": encode(state["chose"]), "exts": encode(state["ext"])})
        try:
            new = checked_answer(answer, shape)
        except (KeyError, TypeError, ValueError) as error:
            raise SandboxError(FailureKind.CRASH, f"the sandbox worker's answer is malformed: {error}") from None
        # the host's bookkeeping, as in the paper: the ops each class used in the epoch just
        # finished record the class's correct predictions of that epoch
        new["history_acc"] = np.where(state["chose"], counts[:, None].astype(np.float64), state["history_acc"])
        return new

    def close(self) -> None:
        self.client.close()
