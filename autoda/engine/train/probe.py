"""A quick throughput probe: how many training images a second a network takes here, from
a few SGD steps on random images, for the cost estimate printed before a long run.

The steps run under torch.random.fork_rng, so probing leaves the global random state (and
with it every seeded run after it) as it was.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .models import build_model

WARM_UP = 1  # steps before the clock starts: the first allocates and picks kernels


def training_throughput(net: str, num_classes: int, image_size: int, batch_size: int,
                        device: torch.device | str = "cpu", steps: int = 3) -> float:
    """Training images per second of ``net`` (forward, backward and an SGD step at
    ``batch_size``), measured over ``steps`` steps after a warm-up."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model = build_model(net, num_classes).to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        images = torch.rand(batch_size, 3, image_size, image_size, device=device)
        labels = torch.randint(0, num_classes, (batch_size,), device=device)
        for step in range(WARM_UP + steps):
            if step == WARM_UP:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
            loss = F.cross_entropy(model.classifier(model.embed(images)), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return steps * batch_size / max(time.perf_counter() - start, 1e-9)
