"""One error taxonomy: every error autoda raises on purpose is an AutodaError (so the CLI's
one wrapper catches it) and keeps the built-in base it had (so every `except` that caught
it still does); failure kinds are one str enum whose values are the journal's words."""
import importlib
import pkgutil

import pytest

import autoda
from autoda.errors import LLM_FAILURES, SANDBOX_FAILURES, AutodaError, FailureKind, python_failure

# control flow inside one module, never raised to a caller
INTERNAL = {"autoda.search.loop.BudgetSpent", "autoda.search.llm._Retryable"}

JOURNAL_WORDS = {"compile", "duplicate", "empty", "no_offspring", "runtime", "nan", "error", "worker_lost",
                 "syntax", "guard", "timeout", "memory", "bad_result", "exception", "crash", "isolation",
                 "rate_limit", "server", "connection", "api"}


def _autoda_exceptions() -> dict[str, type]:
    for module in pkgutil.walk_packages(autoda.__path__, "autoda."):
        if not module.name.endswith(("__main__", ".worker")):
            importlib.import_module(module.name)
    found, todo = {}, [BaseException]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("autoda."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_error_autoda_defines_is_an_autoda_error():
    errors = _autoda_exceptions()
    assert len(errors) > 20
    assert sorted(name for name, cls in errors.items() if name not in INTERNAL and not issubclass(cls, AutodaError)) == []


@pytest.mark.parametrize("name,base", [
    ("autoda.compiler.diagnostics.PolicyError", ValueError), ("autoda.files.NotARegularFile", OSError),
    ("autoda.files.FileTooLarge", OSError), ("autoda.policies.PolicyNotFound", LookupError),
    ("autoda.engine.augment.compiled.PolicyRuntimeError", RuntimeError),
    ("autoda.engine.augment.statistics.StatsError", ValueError), ("autoda.engine.train.trainer.Diverged", RuntimeError),
    ("autoda.engine.train.data.folder.DataError", ValueError), ("autoda.engine.train.data.decode.ImageError", ValueError),
    ("autoda.sandbox.client.SandboxError", RuntimeError), ("autoda.sandbox.validate.ResultError", ValueError),
    ("autoda.search.llm.LLMError", RuntimeError), ("autoda.search.llm.LLMSetupError", ValueError),
    ("autoda.search.completion.BadCompletion", ValueError), ("autoda.search.gp.NoOffspring", RuntimeError),
    ("autoda.search.journal.JournalError", RuntimeError), ("autoda.search.run.RunError", ValueError),
    ("autoda.search.ray_executor.RayUnavailable", RuntimeError), ("autoda.experiment.ExperimentError", ValueError),
    ("autoda.report.build.ReportError", ValueError),
])
def test_each_keeps_its_built_in_base(name, base):
    module, _, cls = name.rpartition(".")
    error = getattr(importlib.import_module(module), cls)
    assert issubclass(error, AutodaError) and issubclass(error, base)


def test_failure_kinds_are_the_journals_words():
    assert {kind.value for kind in FailureKind} == JOURNAL_WORDS
    assert set(SANDBOX_FAILURES) | set(LLM_FAILURES) <= set(FailureKind)
    assert FailureKind.TIMEOUT == "timeout" and f"{FailureKind.NAN}" == "nan"
    assert python_failure(FailureKind.GUARD) == python_failure("guard") == "python_guard"


def test_kinds_of_the_errors_that_are_failures():
    from autoda.engine import PythonPolicyError, StatsError
    from autoda.sandbox import SandboxError, TrialCut

    assert autoda.PolicyError([]).kind == FailureKind.COMPILE and StatsError("x").kind == FailureKind.RUNTIME
    assert SandboxError("crash", "x").kind is FailureKind.CRASH and TrialCut().kind is FailureKind.TIMEOUT
    assert PythonPolicyError(FailureKind.MEMORY, "x").kind == "memory"
