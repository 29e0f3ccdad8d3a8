"""Accuracy as the long-tail literature reports it: per class, over all classes (balanced:
each class counts once), and over the many (> 100 training images), medium (20 to 100)
and few (< 20) shot groups."""
from __future__ import annotations

import math

import torch

GROUPS = ("many", "medium", "few")


def group_of(count: int) -> str:
    return "many" if count > 100 else "few" if count < 20 else "medium"


def per_class_accuracy(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    correct = torch.bincount(labels, weights=(predictions == labels).double(), minlength=num_classes)
    total = torch.bincount(labels, minlength=num_classes).double()
    return torch.where(total > 0, correct / total.clamp(min=1), torch.full_like(correct, math.nan))


def summary(per_class: torch.Tensor, train_counts: torch.Tensor) -> dict:
    """{"many", "medium", "few", "all": accuracy in [0, 1] or None for an empty group,
    "per_class": list}."""
    acc = per_class.double().cpu()
    groups = [group_of(int(n)) for n in train_counts.cpu()]
    out: dict = {}
    for group in GROUPS:
        members = [a for a, g in zip(acc.tolist(), groups) if g == group and not math.isnan(a)]
        out[group] = sum(members) / len(members) if members else None
    valid = [a for a in acc.tolist() if not math.isnan(a)]
    out["all"] = sum(valid) / len(valid) if valid else None
    out["per_class"] = [None if math.isnan(a) else a for a in acc.tolist()]
    out["group_sizes"] = {g: groups.count(g) for g in GROUPS}
    return out


def training_record(data, recipe, *, dataset: str, imb_ratio: float, method: str, net: str, epochs: int, seed: int,
                    device: object, seconds: float, max_per_class: int | None = None) -> dict:
    """How a trained model was made, as `autoda train --metrics-out` and each cell of
    `autoda experiment` record it beside their accuracies: enough to tell two results
    apart or make one again (the data set and its split sizes and class counts, method,
    network, recipe, seed, device, torch version) and the wall time."""
    return {"seed": seed, "device": str(device), "torch": torch.__version__, "dataset": dataset, "imb_ratio": imb_ratio,
            "max_per_class": max_per_class, "method": method, "net": net, "epochs": epochs, "recipe": recipe.to_dict(), "split_sizes": data.sizes(),
            "train_counts": data.train.counts().tolist(), "seconds": seconds}
