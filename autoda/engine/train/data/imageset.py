"""ImageSet: images as one uint8 tensor [N, 3, H, W], their labels and the class names."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # [N, 3, H, W] uint8
    labels: torch.Tensor  # [N] int64
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> torch.Tensor:
        return torch.bincount(self.labels, minlength=self.num_classes)

    def first_of(self, label: int) -> torch.Tensor:
        """The first image of a class, [3, H, W]."""
        index = (self.labels == label).nonzero()
        if len(index) == 0:
            raise IndexError(f"class {self.class_names[label]!r} has no images")
        return self.images[index[0, 0]]
