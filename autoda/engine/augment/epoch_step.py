"""The epoch-step interface: code outside the policy language that fills a policy's state
once an epoch, before the epoch section runs (a Python policy's sandboxed get_aug_type).

The engine defines the interface and never imports an implementation: autoda.sandbox
implements it, and the front door (autoda.policies) hands the implementation in, either as
``CompiledPolicy(..., epoch_step=...)`` or through the checked policy it returns (a Python
policy's ``checked.python`` makes its own step, so every CompiledPolicy built from that
checked policy, by the trainer or a report, gets one).
"""
from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EpochStep(Protocol):
    """One epoch's step: the next values of (some of) the policy's state.

    ``state`` holds every declared state variable of the policy as a float or bool array,
    [C, 1] or [C, K]; ``accs`` is each class's training accuracy over the previous epoch
    ([C] float64) and ``correct`` its number of correct training predictions ([C] int64:
    the accuracy times the class's images, each seen once an epoch), ``epoch`` the epoch
    about to start and ``seed`` a number the step may draw from. The answer maps state
    names to arrays of the same shape.

    A step that fails raises an autoda.errors.AutodaError whose ``kind`` says why (the
    sandbox's are SANDBOX_FAILURES: timeout, guard, ...); the engine raises it again as
    its own PythonPolicyError with that kind, which fitness records as ``python_<kind>``.
    """

    def __call__(self, state: Mapping[str, np.ndarray], accs: np.ndarray, epoch: int, seed: int, *,
                 correct: np.ndarray) -> Mapping[str, np.ndarray]: ...


class EpochStepMaker(Protocol):
    """What a checked policy's ``python`` is to the engine: a maker of its epoch step (one
    per CompiledPolicy, since a step may hold a worker process)."""

    def epoch_step(self) -> EpochStep: ...
