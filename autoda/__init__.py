"""autoda: LLM-driven data-augmentation search for long-tailed image classification.

Policies are written in a small, checked language (see docs/language.md), or as the
paper's Python get_aug_type, run sandboxed (docs/python-policies.md); check_policy and
compile_policy read either (autoda.policies, the one front door)::

    >>> import autoda
    >>> checked = autoda.check_policy("policy flip\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name
    'flip'
"""
from .compiler import CheckedPolicy, Diagnostic, PolicyError
from .errors import AutodaError, FailureKind
from .policies import check_policy, compile_policy  # compile_policy imports the engine (torch) when called

__version__ = "0.1.0"

__all__ = ["AutodaError", "CheckedPolicy", "ClassStats", "ClassStatsTracker", "CompiledPolicy", "Diagnostic",
           "FailureKind", "PolicyError", "PolicyRuntimeError", "__version__", "check_policy", "compile_policy"]

_ENGINE = {"CompiledPolicy", "ClassStats", "ClassStatsTracker", "PolicyRuntimeError"}


def __getattr__(name: str):
    # The engine imports torch (seconds); `autoda compile` and check_policy do not need it.
    if name in _ENGINE:
        from . import engine
        return getattr(engine, name)
    raise AttributeError(f"module 'autoda' has no attribute {name!r}")
