"""The class statistics a policy's sections may read: one registry for compiler and engine.

Each statistic is a vector over classes (or a scalar), computed on the device from the
previous epoch's training pass; never from validation or test data. Before the first epoch
the training statistics are 0 (no pass has run yet) and ``epoch`` and ``progress`` are 0.

``lo`` and ``hi`` bound every value the engine can produce; the compiler's range checker
relies on them. ``freq`` is at least 1e-9 because no data set has a billion images in one
class, so ``1 / freq`` is finite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class StatSpec:
    name: str
    dtype: str  # "int" or "float"
    per_class: bool  # False: one scalar for all classes
    lo: float
    hi: float
    summary: str


_INF = math.inf

_STATS = (
    StatSpec("count", "int", True, 1, _INF, "training images of the class"),
    StatSpec("freq", "float", True, 1e-9, 1, "count / largest count (1 for the head class)"),
    StatSpec("rank", "float", True, 0, 1, "frequency rank scaled to [0, 1]: 0 most frequent, 1 rarest"),
    StatSpec("train_acc", "float", True, 0, 1,
             "accuracy on the class's augmented training samples, previous epoch"),
    StatSpec("prev_train_acc", "float", True, 0, 1, "train_acc of the epoch before that"),
    StatSpec("train_loss", "float", True, 0, _INF, "mean training loss of the class, previous epoch"),
    StatSpec("w_norm", "float", True, 0, _INF, "norm of the class's classifier weight row (W_c)"),
    StatSpec("feat_norm", "float", True, 0, _INF,
             "mean penultimate feature norm of the class's samples (H_c)"),
    StatSpec("epoch", "int", False, 0, _INF, "index of the epoch about to start, from 0"),
    StatSpec("progress", "float", False, 0, 1, "epoch / total epochs"),
    StatSpec("num_classes", "int", False, 1, _INF, "number of classes"),
)

STATS: dict[str, StatSpec] = {s.name: s for s in _STATS}


def correct_counts(accuracy, count):
    """Correct training predictions per class, from a training accuracy and the class
    sizes (every image once an epoch): the paper's ACCs, as its host passes them."""
    import numpy as np  # only the Python policies' host needs it

    return np.rint(np.asarray(accuracy, dtype=np.float64) * np.asarray(count, dtype=np.float64)).astype(np.int64)


# CUDA's level-of-learning probe (Ahn et al., ICLR 2023; CUDA_LTR's update_score_base), which
# the language's lol_pass(level) runs: at each level s of a class up to its current one,
# 10 (s + 1) of its training images, drawn with replacement and augmented with s of CUDA's
# ops at magnitude s / 30 (the list examples/policies/cuda.dsl applies), must be classified
# above 0.6.
@dataclass(frozen=True)
class LevelProbeSpec:
    max_level: int = 10  # levels 0..10
    per_level: int = 10  # images drawn at level s: per_level * (s + 1) (CUDA's num_test)
    accept: float = 0.6  # the accuracy a level must exceed (CUDA's accept_rate)
    max_d: int = 30  # magnitude s / max_d


LEVEL_PROBE = LevelProbeSpec()
