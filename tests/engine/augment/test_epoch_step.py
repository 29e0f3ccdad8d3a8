"""The epoch-step interface: the engine runs whatever step it is handed (the sandbox's for a
Python policy) without importing one, and turns the step's failure into its own error."""
import numpy as np
import pytest
import torch

import autoda
from autoda.engine import ClassStats, EpochStep, PolicyRuntimeError, PythonPolicyError
from autoda.errors import AutodaError, FailureKind

POLICY = ("policy stepped\nstate w: float per op in [0, 1] = 0\n\nper sample:\n"
          "    apply 1 of [rotate, invert]\n        magnitude w\n")
COUNTS = torch.tensor([50, 20, 5])


class Fixed:
    """A step that sets w to its epoch as a fraction, and records what it was given."""

    def __init__(self):
        self.seen = []

    def __call__(self, state, accs, epoch, seed, correct):
        self.seen.append((sorted(state), accs.shape, epoch))
        return {"w": np.full(state["w"].shape, 0.25 * (epoch + 1))}


def test_an_injected_step_fills_the_state_before_the_epoch_section():
    step = Fixed()
    assert isinstance(step, EpochStep)
    policy = autoda.compile_policy(POLICY, num_classes=3, seed=0, epoch_step=step)
    policy.update_epoch(ClassStats.initial(COUNTS, total_epochs=4))
    assert step.seen == [(["w"], (3,), 0)]
    assert torch.equal(policy.state["w"], torch.full((3, 2), 0.25))


def test_a_policy_in_the_language_has_no_step():
    assert autoda.compile_policy(POLICY, num_classes=3).epoch_step is None


class Failing:
    def __call__(self, state, accs, epoch, seed, correct):
        error = AutodaError("the function gave up")
        error.kind = FailureKind.TIMEOUT
        raise error


def test_a_failing_step_is_the_engines_error_with_the_steps_kind():
    policy = autoda.compile_policy(POLICY, num_classes=3, epoch_step=Failing())
    with pytest.raises(PythonPolicyError) as raised:
        policy.update_epoch(ClassStats.initial(COUNTS, total_epochs=4))
    assert raised.value.kind == "timeout" and "gave up" in str(raised.value)


def test_a_step_answering_a_name_the_policy_lacks_is_refused():
    policy = autoda.compile_policy(POLICY, num_classes=3, epoch_step=lambda state, accs, epoch, seed, correct: {"v": 1})
    with pytest.raises(PolicyRuntimeError, match="'v', which is not a state"):
        policy.update_epoch(ClassStats.initial(COUNTS, total_epochs=4))
