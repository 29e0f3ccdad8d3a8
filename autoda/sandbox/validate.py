"""The checks on what a strategy function returns, run in the worker before anything goes
back to the parent: `(chose_matrix, chose_exts)`, or with a third element `aug_weight`,
each [C, K]; op choices boolean (or 0/1), intensities finite and in [0, 1], weights finite.

A function may also change `aug_weight` in place, as the paper's host code lets it: the
array it was given is read back when it returns no third element. Shapes are checked
against what the host sent, never against the arrays as the function left them.
"""
from __future__ import annotations

import numpy as np

from ..errors import AutodaError, FailureKind

WEIGHT_LIMIT = 1e9  # |aug_weight| bound; the carrier policy declares its state in this range


class ResultError(AutodaError, ValueError):
    """The function returned something that is not a policy step."""

    kind = FailureKind.BAD_RESULT


def step_array(value, name: str, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise ResultError(f"{name} must be a [{shape[0]}, {shape[1]}] array, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged lists, objects
        raise ResultError(f"{name} is not an array: {error}") from None
    if array.shape != shape:
        raise ResultError(f"{name} must have shape [{shape[0]}, {shape[1]}] (classes x ops), "
                          f"got {list(array.shape)}")
    if array.dtype.kind not in "biuf":
        raise ResultError(f"{name} must hold numbers, got dtype {array.dtype}")
    return array


def validate_result(result, aug_weight: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray,
                                                                                     np.ndarray]:
    """(chose bool [C,K], exts float [C,K] in [0, 1], aug_weight float [C,K]) or ResultError.

    ``shape`` is the [C, K] the host sent, taken before the call: the function's own view of
    its arguments (which it may have reshaped) is not evidence of what the host expects.
    """
    if not isinstance(result, (tuple, list)) or len(result) not in (2, 3):
        raise ResultError("get_aug_type must return (chose_matrix, chose_exts) or "
                          f"(chose_matrix, chose_exts, aug_weight), got {type(result).__name__}"
                          + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
    chose = step_array(result[0], "chose_matrix", shape)
    if chose.dtype.kind != "b":
        if not np.isin(chose, (0, 1)).all():
            raise ResultError("chose_matrix must be boolean (or hold only 0 and 1)")
    exts = step_array(result[1], "chose_exts", shape).astype(np.float64)
    if not np.isfinite(exts).all():
        raise ResultError("chose_exts holds NaN or infinity")
    if exts.min() < 0 or exts.max() > 1:
        raise ResultError(f"chose_exts must lie in [0, 1], got values in [{exts.min():.4g}, {exts.max():.4g}]")
    weight = step_array(result[2] if len(result) == 3 else aug_weight, "aug_weight", shape).astype(np.float64)
    if not np.isfinite(weight).all() or np.abs(weight).max() > WEIGHT_LIMIT:
        raise ResultError(f"aug_weight must be finite and within +-{WEIGHT_LIMIT:g}")
    return chose.astype(bool), exts, weight
