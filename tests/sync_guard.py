"""A CPU-side check for host synchronisation and data-dependent work in the per-batch path
(of a compiled policy, of a training step).

On CUDA, torch.cuda.set_sync_debug_mode catches synchronising calls. On the CPU nothing
synchronises, so this mode refuses what would: converting a tensor to a Python value,
moving it to the host, or indexing with a boolean mask (whose result size depends on the
data). It also counts calls, so a test can see that the work does not grow with the batch.
"""
from __future__ import annotations

from collections import Counter

import torch
from torch.overrides import TorchFunctionMode

# bincount: on CUDA it reads the largest value back to size its result
FORBIDDEN = {"item", "tolist", "__bool__", "__int__", "__float__", "__index__", "nonzero", "cpu",
             "numpy", "masked_select", "argwhere", "unique", "nonzero_static", "any_", "all_", "bincount"}


class HostSyncError(AssertionError):
    pass


class NoHostSync(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        self.calls[name] += 1
        if name in FORBIDDEN:
            raise HostSyncError(f"{name}() in the per-batch path")
        if name in ("__getitem__", "__setitem__") and len(args) > 1 and _has_bool_index(args[1]):
            raise HostSyncError("boolean-mask indexing in the per-batch path")
        return func(*args, **(kwargs or {}))


def _has_bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)
