"""autoda's one error taxonomy: every error autoda raises on purpose is an AutodaError, and
every way a candidate, a sandboxed call or an LLM call can fail is one FailureKind. The
journal stores a FailureKind's value, so those strings are a file format: journals written
by earlier versions read back with the same words.

Layer: the bottom, below ops and class_stats; every package may import it
(tests/test_architecture.py holds the order).

tests/test_errors.py finds every exception class autoda defines and fails on one that is
not an AutodaError, except two that are control flow inside one module and never reach a
caller: search.loop.BudgetSpent and search.llm._Retryable.
"""
from __future__ import annotations

from enum import Enum


class FailureKind(str, Enum):
    """Why a candidate (or one step of making it) failed, as the journal records it."""

    # the candidate's policy
    COMPILE = "compile"  # did not parse or check
    DUPLICATE = "duplicate"  # the same canonical policy was evaluated already
    EMPTY = "empty"  # the answer held no policy
    NO_OFFSPRING = "no_offspring"  # genetic programming produced nothing new
    # its fitness evaluation
    RUNTIME = "runtime"  # the compiled policy failed on a batch or an epoch update
    NAN = "nan"  # training diverged
    ERROR = "error"  # anything else the evaluation raised
    WORKER_LOST = "worker_lost"  # the process or Ray task evaluating it died, retries spent
    # a Python policy's sandboxed get_aug_type (stored with the prefix "python_")
    SYNTAX = "syntax"
    GUARD = "guard"
    TIMEOUT = "timeout"  # also an LLM call that ran past its deadline
    MEMORY = "memory"
    BAD_RESULT = "bad_result"
    EXCEPTION = "exception"
    CRASH = "crash"
    ISOLATION = "isolation"
    # an LLM call
    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    CONNECTION = "connection"
    API = "api"

    def __str__(self) -> str:
        return self.value


SANDBOX_FAILURES = (FailureKind.SYNTAX, FailureKind.GUARD, FailureKind.TIMEOUT, FailureKind.MEMORY,
                    FailureKind.BAD_RESULT, FailureKind.EXCEPTION, FailureKind.CRASH, FailureKind.ISOLATION)
LLM_FAILURES = (FailureKind.TIMEOUT, FailureKind.RATE_LIMIT, FailureKind.SERVER, FailureKind.CONNECTION,
                FailureKind.API)


# Added for the fitness results: how a Python policy's sandbox failure is journaled.
def python_failure(kind: FailureKind | str) -> str:
    """The journal's string for a Python policy whose sandboxed step failed with ``kind``
    ("python_timeout", ...): prefixed, so a Python policy's timeout and an LLM call's stay
    apart in the failure counts."""
    return f"python_{kind}"  # a FailureKind formats as its value


class AutodaError(Exception):
    """An error autoda raises on purpose: its message is written for the user (the CLI
    prints it as one `error:` line), never a traceback's. ``kind`` says which family: a
    FailureKind, ERROR ("anything else") unless a subclass or an instance says otherwise.

    Subclasses keep the built-in base they had before the taxonomy (ValueError,
    RuntimeError, OSError, LookupError), so every ``except`` that caught them still does."""

    kind: FailureKind = FailureKind.ERROR
