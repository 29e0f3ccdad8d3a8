"""The engine: compiled augmentation graphs on the device (this package), and later data,
models, training and fitness. Its input is the compiler's plan (autoda.compiler.plan)."""
from .compiled import CompiledPolicy, PolicyRuntimeError, PythonPolicyError, compile_policy
from .pipeline import Draw
from .statistics import ClassStats, StatsError

__all__ = ["ClassStats", "CompiledPolicy", "Draw", "PolicyRuntimeError", "PythonPolicyError", "StatsError", "compile_policy"]
