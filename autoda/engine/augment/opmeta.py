"""What an op implementation needs besides its parameter, marked on the function itself so
the op modules stay the only place that names ops (the registry aside); and the constants
they share."""
from __future__ import annotations

import torch

_CONSTANTS: dict[tuple, torch.Tensor] = {}


def constant(values: tuple, like: torch.Tensor) -> torch.Tensor:
    """A constant tensor on ``like``'s device and dtype, built once: a tensor made from a
    Python list in the per-batch path would be a host-to-device copy every batch."""
    key = (values, like.dtype, like.device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = torch.tensor(values, dtype=like.dtype, device=like.device)
    return _CONSTANTS[key]


def draws(aux: str):
    """The op draws extra random numbers per sample: "uniform2" or "uniform4" (two or four
    uniforms in [0, 1)), or "noise" (a standard-normal image)."""
    def mark(fn):
        fn.aux = aux
        return fn
    return mark


def radius(pixels: int):
    """A filter's kernel reaches this far from the centre pixel."""
    def mark(fn):
        fn.radius = pixels
        return fn
    return mark


def exact_identity(fn):
    """At its identity parameter the op returns its input bit for bit, so the graph may run
    it on samples that did not draw it, instead of masking."""
    fn.exact_identity = True
    return fn
