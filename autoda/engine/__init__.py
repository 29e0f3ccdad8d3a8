"""The engine: what runs on the device. Its input is the compiler's plan
(autoda.compiler.plan).

- augment/: the compiled augmentation graph (epoch program, op library by kind, the
  per-batch pipeline, the compiled policy), the per-sample reference interpreter, and the
  class statistics a policy reads, and the tracker that sums them over a training pass;
- train/: data sets and splits, models, losses (methods), the trainer, metrics, and fitness
  with its checkpoint cache.

The names below are the engine's public face: ``from autoda.engine import ClassStats``.
Policies are checked and compiled through the front door, autoda.policies
(``autoda.compile_policy``), which also hands a Python policy's sandboxed epoch step in:
the engine never imports the sandbox.
"""
from .augment.compiled import CompiledPolicy, PolicyRuntimeError, PythonPolicyError
from .augment.epoch_step import EpochStep
from .augment.level_probe import LevelProbe
from .augment.pipeline import Draw
from .augment.statistics import ClassStats, StatsError
from .augment.tracker import ClassStatsTracker

__all__ = ["ClassStats", "ClassStatsTracker", "CompiledPolicy", "Draw", "EpochStep", "LevelProbe",
           "PolicyRuntimeError", "PythonPolicyError", "StatsError"]
