"""The parent's side of the sandbox, with a worker that lies (lying_worker.py): a policy
that ran native code in the worker can send any answer, or stop reading requests. Each
lie is a SandboxError of a known kind within the call's wall-clock limit, never a
traceback, a hang, or state the carrier policy does not declare."""
import time
from pathlib import Path

import numpy as np
import pytest

from autoda.compiler.source import Source
from autoda.sandbox import PythonStep, SandboxClient, SandboxError, SandboxLimits, check_python_source
from autoda.sandbox.client import FAILURE_KINDS
from autoda.sandbox.policy import initial_state

LIAR = str(Path(__file__).with_name("lying_worker.py"))
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=3, memory_mb=256, allow_weak=True)
POLICY = check_python_source(Source(
    "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"
    "    return lats_chose_matix, lats_chose_exts\n", "policy.py"))
CLASSES = 400  # a request of about 200 kB: more than a pipe holds


def steps(mode: str, calls: int = 1) -> dict:
    step = PythonStep(POLICY, opening=False)
    step.client = SandboxClient(LIMITS, worker=(LIAR, mode))
    state = initial_state(CLASSES, len(POLICY.ops))
    try:
        for epoch in range(calls):
            state = step(state, np.full(CLASSES, 0.5), epoch, seed=0, correct=np.full(CLASSES, 5))
    finally:
        step.close()
    return state


def test_an_honest_answer_passes():
    state = steps("honest", calls=2)
    assert state["chose"].all() and (state["ext"] == 0.5).all() and state["chose"].shape == (CLASSES, 10)


@pytest.mark.parametrize("mode", ["nested", "too many classes", "one row to broadcast", "nan intensities",
                                  "intensities of 1e300", "weights as text"])
def test_an_answer_that_is_not_a_policy_step_is_a_crash(mode):
    with pytest.raises(SandboxError) as error:
        steps(mode)
    assert error.value.kind == "crash" and "malformed" in str(error.value)


def test_a_failure_names_a_known_kind_and_one_short_printable_line():
    with pytest.raises(SandboxError) as error:
        steps("kind and message of its choosing")
    assert error.value.kind == "crash" and error.value.kind in FAILURE_KINDS
    message = str(error.value)
    assert "\x1b" not in message and "\\x1b]0;owned" in message and len(message) < 10_000


@pytest.mark.slow
@pytest.mark.parametrize("mode,kind", [("deaf", "timeout"), ("closed", "crash")])
def test_a_worker_that_stops_reading_cannot_hold_the_parent(mode, kind):
    """Its first answer is fine; the next request does not fit in the pipe it never reads
    (or finds it closed) and the worker lives on: the parent gives up at the deadline."""
    started = time.monotonic()
    with pytest.raises(SandboxError) as error:
        steps(mode, calls=2)
    assert error.value.kind == kind
    assert time.monotonic() - started < LIMITS.wall_seconds + 10  # one call's limit, and start-up
