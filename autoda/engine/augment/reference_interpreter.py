"""The per-sample reference interpreter: slow, obvious, one sample at a time.

It exists only to test the batched pipeline: given the same Draw, it walks each sample's
applied ops in the documented order (geometric matrices multiplied one by one and one warp,
then colour ops, then the sample's filters composed, then erasing) and must give the same
images. It shares the per-op functions with the pipeline, so what it checks is everything
around them: gathering, drawing, masking, ordering and batching.
"""
from __future__ import annotations

import torch

from . import filters, geometric
from .pipeline import Draw, Pipeline, from_unit, implementation, to_unit


def reference_apply(pipeline: Pipeline, images: torch.Tensor, draw: Draw) -> torch.Tensor:
    out = []
    for b in range(images.shape[0]):
        x = to_unit(images[b:b + 1])
        h, w = x.shape[-2:]
        ops = [(i, e) for i, e in enumerate(pipeline.entries) if bool(draw.applied[b, i])]

        def value(i: int) -> torch.Tensor:
            return draw.value[b:b + 1, i].to(x.dtype)

        def aux(i: int) -> torch.Tensor | None:
            return None if draw.aux[i] is None else draw.aux[i][b:b + 1]

        geometric_ops = [(i, e) for i, e in ops if e.kind == "geometric"]
        if geometric_ops:
            matrix = torch.eye(3).unsqueeze(0)
            for i, e in geometric_ops:
                matrix = implementation(e.op)(value(i), aux(i), h, w) @ matrix
            x = geometric.warp(x, matrix)
        for i, e in ops:
            if e.kind == "colour":
                x = implementation(e.op)(x, value(i), aux(i))
        kernels = [implementation(e.op)(value(i)) for i, e in ops if e.kind == "filter"]
        if kernels:
            x = filters.convolve(x, filters.compose(kernels))
        for i, e in ops:
            if e.kind == "erase":
                x = implementation(e.op)(x, value(i), aux(i))
        out.append(from_unit(x, images.dtype))
    return torch.cat(out)
