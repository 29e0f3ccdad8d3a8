"""The standard long-tail profile of CIFAR-LT (Cao et al., 2019; Cui et al., 2019)."""
from __future__ import annotations


def longtail_counts(num_classes: int, n_max: int, imb_ratio: float) -> list[int]:
    """n_i = n_max * imb_ratio ** (-i / (C - 1)), rounded down: class 0 is the head.

    >>> sum(longtail_counts(100, 500, 100))  # CIFAR-100-LT, imbalance ratio 100
    10847
    >>> longtail_counts(10, 5000, 100)[-1]
    50
    """
    if num_classes < 1 or n_max < 1 or imb_ratio < 1:
        raise ValueError("need num_classes >= 1, n_max >= 1 and imb_ratio >= 1")
    if num_classes == 1:
        return [n_max]
    return [int(n_max * imb_ratio ** (-i / (num_classes - 1))) for i in range(num_classes)]
