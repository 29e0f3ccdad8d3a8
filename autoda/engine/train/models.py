"""Models: ResNet-32 for CIFAR (the standard 3 x 5 basic-block net of the long-tail
literature, option-A shortcuts, ~0.47 M parameters), a small ResNet for CPU tests,
torchvision's ResNet-50 for larger images, RIDE's multi-expert ResNets, and BCL's heads
around any of them.

Every model exposes ``embed(x)`` (the penultimate features) and ``classifier`` (whose
``weight`` rows are the per-class W_c), so the trainer can report feature and weight norms,
and ``combine``, which makes one output of a multi-expert model's (the identity elsewhere).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...catalog import MODELS

class NormedLinear(nn.Module):
    """Cosine classifier (LDAM's): normalised features times normalised weight rows."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1).renorm_(2, 0, 1e-5).mul_(1e5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).t()


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # option A: subsample and zero-pad the channels, no parameters in the shortcut
        shortcut = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + shortcut)


def _stages(cin: int, widths: tuple[int, ...], blocks: int, first_stride: int) -> list[_Block]:
    """Stages of ``blocks`` basic blocks each, one per width; every stage but a first of
    stride 1 halves the resolution in its first block."""
    layers = []
    for stage, cout in enumerate(widths):
        for i in range(blocks):
            layers.append(_Block(cin, cout, (first_stride if stage == 0 else 2) if i == 0 else 1))
            cin = cout
    return layers


class CifarResNet(nn.Module):
    def __init__(self, blocks: int, num_classes: int, width: int = 16, normed: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layers = nn.Sequential(*_stages(width, (width, 2 * width, 4 * width), blocks, first_stride=1))
        cin = 4 * width
        self.classifier = NormedLinear(cin, num_classes) if normed else nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))

    @staticmethod
    def combine(x: torch.Tensor) -> torch.Tensor:
        return x


class ExpertClassifiers(nn.Module):
    """One cosine classifier per expert, scaled by ``scale`` (RIDE's s = 30): features
    [B, E, D] -> logits [B, E, C]."""

    def __init__(self, experts: int, in_features: int, num_classes: int, scale: float) -> None:
        super().__init__()
        self.heads = nn.ModuleList(NormedLinear(in_features, num_classes) for _ in range(experts))
        self.scale = scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.stack([head(features[:, e]) for e, head in enumerate(self.heads)], dim=1)

    @property
    def weight(self) -> torch.Tensor:
        """[C, E * D], each class's rows of every expert side by side, over sqrt(E): its norm
        is the root mean square of the experts' row norms (w_norm for RIDE)."""
        rows = torch.stack([head.weight for head in self.heads], dim=1)
        return rows.flatten(1) / len(self.heads) ** 0.5


class RideResNet(nn.Module):
    """RIDE (Wang et al., ICLR 2021; its ride_resnet_cifar.py): the first stage shared, the
    second and third stages and a cosine classifier per expert, at reduced widths (24 and
    48 for ResNet-32: 1.5 and 3 times the first stage's), logits scaled by 30; the output
    is the experts' mean."""

    def __init__(self, blocks: int, num_classes: int, width: int = 16, experts: int = 3, scale: float = 30.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.shared = nn.Sequential(*_stages(width, (width,), blocks, first_stride=1))
        dims = (width * 3 // 2, width * 3)
        self.experts = nn.ModuleList(nn.Sequential(*_stages(width, dims, blocks, first_stride=2))
                                     for _ in range(experts))
        self.classifier = ExpertClassifiers(experts, dims[-1], num_classes, scale)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Each expert's penultimate features: [B, E, D]."""
        shared = self.shared(F.relu(self.bn1(self.conv1(x))))
        return torch.stack([F.adaptive_avg_pool2d(e(shared), 1).flatten(1) for e in self.experts], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.combine(self.classifier(self.embed(x)))

    @staticmethod
    def combine(x: torch.Tensor) -> torch.Tensor:
        """The experts' mean: of their logits (the prediction), or of their features."""
        return x.mean(dim=1)


class TorchvisionResNet50(nn.Module):
    def __init__(self, num_classes: int, normed: bool = False) -> None:
        super().__init__()
        import torchvision

        net = torchvision.models.resnet50(weights=None)  # no download: trained from scratch
        net.fc = nn.Identity()
        self.backbone = net
        self.classifier = NormedLinear(2048, num_classes) if normed else nn.Linear(2048, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))

    @staticmethod
    def combine(x: torch.Tensor) -> torch.Tensor:
        return x


class ContrastiveNet(nn.Module):
    """BCL's network (Zhu et al., CVPR 2022; the CIFAR code's bcl_model): a backbone's
    features and classifier, a projection head for the contrastive features and a second
    one that maps the classifier's rows to class prototypes, each head Linear, BatchNorm,
    ReLU, Linear, its output normalised. The prediction is the backbone's."""

    def __init__(self, backbone: nn.Module, dim_in: int, mid: int, out: int) -> None:
        super().__init__()
        self.encoder = backbone

        def head() -> nn.Sequential:
            return nn.Sequential(nn.Linear(dim_in, mid), nn.BatchNorm1d(mid), nn.ReLU(inplace=True),
                                 nn.Linear(mid, out))

        self.head, self.head_fc = head(), head()
        for m in (*self.head, *self.head_fc):
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)

    @property
    def classifier(self) -> nn.Module:
        return self.encoder.classifier

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.embed(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """The contrastive features: [B, out], unit length."""
        return F.normalize(self.head(features), dim=1)

    def prototypes(self) -> torch.Tensor:
        """A prototype per class from its classifier row: [C, out], unit length."""
        return F.normalize(self.head_fc(self.classifier.weight), dim=1)

    @staticmethod
    def combine(x: torch.Tensor) -> torch.Tensor:
        return x


# (blocks per stage, first stage's width) of the CIFAR ResNets: resnet8 for CPU tests and the
# embedded default; resnet8w16 twice as wide, big enough to over-fit a small long-tailed
# set (cifar10-lt-small)
_CIFAR_NETS = {"resnet32": (5, 16), "resnet8": (1, 8), "resnet8w16": (1, 16)}


def build_model(name: str, num_classes: int, normed: bool = False, experts: int = 1,
                contrastive: bool = False) -> nn.Module:
    """The network; with ``experts`` > 1, RIDE's multi-expert form of a CIFAR ResNet; with
    ``contrastive``, BCL's heads around it (the public code's widths: 512 and 128 on a CIFAR
    ResNet, 2048 and 1024 on ResNet-50)."""
    if contrastive:
        if experts > 1:
            raise ValueError("a network has RIDE's experts or BCL's heads, not both")
        backbone = build_model(name, num_classes, normed)
        dim_in = backbone.classifier.weight.shape[1]
        return ContrastiveNet(backbone, dim_in, *((2048, 1024) if name == "resnet50" else (512, 128)))
    if name in _CIFAR_NETS:
        blocks, width = _CIFAR_NETS[name]
        if experts > 1:
            return RideResNet(blocks, num_classes, width, experts)
        return CifarResNet(blocks, num_classes, width, normed)
    if experts > 1:
        raise ValueError(f"RIDE's experts are built on a CIFAR ResNet ({', '.join(_CIFAR_NETS)}), not {name!r}")
    if name == "resnet50":
        return TorchvisionResNet50(num_classes, normed)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
