"""autoda: LLM-driven data-augmentation search for long-tailed image classification.

Policies are written in a small, checked language (see docs/language.md)::

    >>> import autoda
    >>> checked = autoda.check_policy("policy flip\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name
    'flip'
"""
from .compiler import CheckedPolicy, Diagnostic, PolicyError, check_policy

__version__ = "0.1.0"

__all__ = ["CheckedPolicy", "ClassStats", "CompiledPolicy", "Diagnostic", "PolicyError", "PolicyRuntimeError",
           "__version__", "check_policy", "compile_policy"]

_ENGINE = {"compile_policy", "CompiledPolicy", "ClassStats", "PolicyRuntimeError"}


def __getattr__(name: str):
    # The engine imports torch (seconds); `autoda compile` and check_policy do not need it.
    if name in _ENGINE:
        from . import engine
        return getattr(engine, name)
    raise AttributeError(f"module 'autoda' has no attribute {name!r}")
