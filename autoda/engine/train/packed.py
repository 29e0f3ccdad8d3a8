"""K candidates fine-tuned at once, as one network: population-batched fitness.

A fitness evaluation fine-tunes a small network whose batch uses a few percent of a GPU.
Here K copies of the checkpoint train side by side as one *packed* CIFAR ResNet (grouped
convolutions, as in Packed-Ensembles): copy k's channels are group k of every layer, so
its batch-norm statistics, its gradient and its optimiser state are its own, and nothing
of one copy reaches another. Each copy sees the same batch (the same seed gives the same
order) augmented by its own compiled policy; the loss is the sum of the copies' losses,
whose gradient for copy k is copy k's alone. The result equals K separate fine-tunes with
the same seed, to float tolerance (tests/engine/train/test_packed.py).

A candidate whose policy fails (a runtime or statistics error, a Python policy that
breaks) or whose loss turns NaN fails alone: it is recorded, its copy trains on no loss
from then on, and the others go on.
"""
from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...compiler import PolicyError
from ..augment.compiled import CompiledPolicy, PolicyRuntimeError, PythonPolicyError
from ..augment.statistics import ClassStats, StatsError
from ..augment.tracker import class_sums
from .data import DataSplits, ImageSet
from .methods import Method
from .metrics import per_class_accuracy, summary
from .models import CifarResNet
from .trainer import Diverged, EpochLog, Recipe, _channel_moments, normalised

# what a candidate's policy may raise in a fine-tune: it fails alone (FitnessEvaluator
# records each kind as a separate evaluation would; a RuntimeError or ValueError from a
# policy's own kernels is its own, as Trainer's caller records it)
CANDIDATE_ERRORS = (PolicyError, PythonPolicyError, PolicyRuntimeError, StatsError, RuntimeError, ValueError)


class _PackedBlock(nn.Module):
    def __init__(self, k: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.k, self.cin, self.cout = k, cin, cout
        self.conv1 = nn.Conv2d(k * cin, k * cout, 3, stride, 1, bias=False, groups=k)
        self.bn1 = nn.BatchNorm2d(k * cout)
        self.conv2 = nn.Conv2d(k * cout, k * cout, 3, 1, 1, bias=False, groups=k)
        self.bn2 = nn.BatchNorm2d(k * cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.pad is None:
            shortcut = x
        else:  # option A, within each copy's channels
            sub = x[:, :, ::2, ::2]
            b, _, h, w = sub.shape
            shortcut = F.pad(sub.reshape(b, self.k, self.cin, h, w), (0, 0, 0, 0, self.pad, self.pad))
            shortcut = shortcut.reshape(b, self.k * self.cout, h, w)
        return F.relu(out + shortcut)


class _PackedLinear(nn.Module):
    """K classifiers: features (B, K, D) -> logits (B, K, C); ``weight`` is (K, C, D)."""

    def __init__(self, k: int, in_features: int, out_features: int, normed: bool) -> None:
        super().__init__()
        self.normed = normed
        self.weight = nn.Parameter(torch.zeros(k, out_features, in_features))
        self.bias = None if normed else nn.Parameter(torch.zeros(k, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normed:  # NormedLinear's cosine classifier, copy by copy
            return torch.einsum("bkd,kcd->bkc", F.normalize(x, dim=-1), F.normalize(self.weight, dim=-1))
        return torch.einsum("bkd,kcd->bkc", x, self.weight) + self.bias


class PackedCifarResNet(nn.Module):
    """K CifarResNets of one shape as one network. Its parameters are registered in the
    order of a CifarResNet's, so an optimiser's state maps index for index."""

    def __init__(self, k: int, blocks: int, num_classes: int, width: int, normed: bool) -> None:
        super().__init__()
        self.k = k
        self.conv1 = nn.Conv2d(k * 3, k * width, 3, 1, 1, bias=False, groups=k)
        self.bn1 = nn.BatchNorm2d(k * width)
        layers, cin = [], width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(blocks):
                layers.append(_PackedBlock(k, cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.classifier = _PackedLinear(k, cin, num_classes, normed)

    @classmethod
    def like(cls, model: CifarResNet, k: int) -> "PackedCifarResNet":
        """An (uninitialised) packed network of K copies of ``model``'s shape."""
        blocks = len(model.layers) // 3
        return cls(k, blocks, model.classifier.weight.shape[0], model.conv1.out_channels,
                   normed=not isinstance(model.classifier, nn.Linear))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, K*3, H, W), copy k's in channels 3k..3k+2 -> features (B, K, D)."""
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return F.adaptive_avg_pool2d(out, 1).flatten(1).reshape(len(x), self.k, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def _packed_along_first(name: str) -> bool:
    """Whether a tensor of a CifarResNet packs by stacking (the classifier: one per copy)
    rather than by concatenating channels (convolutions and batch norm)."""
    return not name.startswith("classifier.")


def pack(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """K CifarResNet state dicts (or per-parameter tensors keyed alike) as one packed one."""
    packed = {}
    for name, first in states[0].items():
        values = [s[name] for s in states]
        if name.endswith("num_batches_tracked"):
            packed[name] = first.clone()
        elif _packed_along_first(name):
            packed[name] = torch.cat(values, dim=0)
        else:
            packed[name] = torch.stack(values, dim=0)
    return packed


def unpack(state: dict[str, torch.Tensor], k: int, i: int) -> dict[str, torch.Tensor]:
    """Copy ``i`` of a packed state dict, as a CifarResNet's."""
    return {name: (value.clone() if name.endswith("num_batches_tracked")
                   else value.chunk(k, dim=0)[i].clone() if _packed_along_first(name) else value[i].clone())
            for name, value in state.items()}


class PackedTrainer:
    """The fine-tune of ``Trainer`` for K policies at once, from one checkpoint. Each
    copy's epoch is the one a Trainer with the same seed would run: the same batch order,
    the copy's own policy draws, statistics, and epoch update."""

    def __init__(self, model: CifarResNet, method: Method, data: DataSplits, policies: list[CompiledPolicy],
                 recipe: Recipe, device: torch.device, seed: int = 0) -> None:
        self.device = torch.device(device)
        self.k = len(policies)
        # bf16 autocast and channels_last on a GPU (Trainer's channels_last on a CPU is not
        # measured for grouped convolutions, and packing does not pay on a CPU)
        self.gpu = self.device.type == "cuda"
        self.model = PackedCifarResNet.like(model, self.k).to(
            self.device, memory_format=torch.channels_last if self.gpu else torch.contiguous_format)
        self.method, self.data, self.recipe, self.seed = method, data, recipe, seed
        self.policies = [p.to(self.device) for p in policies]
        self.images = data.train.images.to(self.device)
        self.labels = data.train.labels.to(self.device)
        self.counts = data.train.counts().to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                         weight_decay=recipe.weight_decay)
        self.epoch = 0
        self.stats = [ClassStats.initial(self.counts, recipe.epochs) for _ in policies]
        self.moments: tuple[torch.Tensor, torch.Tensor] | None = None
        self.failures: list[Exception | None] = [None] * self.k  # what failed each copy, if anything
        self.logs: list[list[EpochLog]] = [[] for _ in policies]

    def load_state_dict(self, state: dict) -> None:
        """Every copy from one Trainer state (the shared checkpoint), which is left as it was."""
        self.model.load_state_dict(pack([state["model"]] * self.k))
        names = [name for name, _ in self.model.named_parameters()]
        optimizer = copy.deepcopy(state["optimizer"])
        for index, slot in optimizer["state"].items():
            if "momentum_buffer" in slot and slot["momentum_buffer"] is not None:
                name = names[index]
                slot["momentum_buffer"] = pack([{name: slot["momentum_buffer"]}] * self.k)[name]
        self.optimizer.load_state_dict(optimizer)
        self.epoch = state["epoch"]
        self.stats = [ClassStats(**state["stats"]).to(self.device) for _ in range(self.k)]
        self.moments = state["mean"].to(self.device), state["std"].to(self.device)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        if self.moments is None:
            self.moments = _channel_moments(self.images)
        return normalised(images, *self.moments, self.gpu)

    def alive(self) -> list[int]:
        return [i for i, failure in enumerate(self.failures) if failure is None]

    def _view(self, i: int, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Copy i's batch: its policy's, or the plain images once it has failed (its copy
        trains on no loss then; the images only keep the packed batch whole)."""
        if self.failures[i] is None:
            try:
                return self.normalise(self.policies[i](images, labels))
            except CANDIDATE_ERRORS as error:
                self.failures[i] = error
        return self.normalise(images)

    def run_epoch(self) -> None:
        epoch, recipe, c = self.epoch, self.recipe, len(self.counts)
        start = time.perf_counter()
        for i in self.alive():
            try:
                self.policies[i].update_epoch(self.stats[i])
            except CANDIDATE_ERRORS as error:
                self.failures[i] = error
        lr = recipe.lr_at(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        g = torch.Generator(device=self.device).manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.labels), generator=g, device=self.device)
        seen = class_sums(self.labels[order], torch.ones(len(order), dtype=torch.float64, device=self.device), c)
        sums = torch.zeros(self.k, 3, c, dtype=torch.float64, device=self.device)  # per copy: correct, loss, norm
        self.model.train()
        for begin in range(0, len(order), recipe.batch_size):
            self.step(order[begin:begin + recipe.batch_size], epoch, sums)
        correct, loss_sum, feat_sum = sums.unbind(dim=1)
        totals = (loss_sum.sum(dim=1) / len(order)).tolist()  # the one sync of the epoch
        seconds = time.perf_counter() - start
        n = seen.clamp(min=1)
        w_norm = self.model.classifier.weight.detach().float().norm(dim=-1)
        for i in self.alive():
            if not math.isfinite(totals[i]):
                self.failures[i] = Diverged(f"the training loss is {totals[i]} in epoch {epoch}")
                continue
            self.stats[i] = ClassStats(self.counts, (correct[i] / n).float().clamp(0, 1), self.stats[i].train_acc,
                                       (loss_sum[i] / n).float().clamp(min=0), w_norm[i], (feat_sum[i] / n).float(),
                                       epoch + 1, recipe.epochs)
            self.logs[i].append(EpochLog(epoch, totals[i], float(correct[i].sum()) / len(order), lr, seconds,
                                         len(order) / seconds))
        self.epoch += 1

    def step(self, index: torch.Tensor, epoch: int, sums: torch.Tensor) -> None:
        """One batch for every copy (Trainer.step's, K at once), adding to ``sums`` (K x 3 x C)."""
        labels, images = self.labels[index], self.images.index_select(0, index)  # as Trainer.step gathers
        batch = torch.cat([self._view(i, images, labels) for i in range(self.k)], dim=1)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.gpu):
            features = self.model.embed(batch)
            logits = self.model.classifier(features)
        total = logits.new_zeros((), dtype=torch.float32)
        rows = []
        for i in range(self.k):
            per_sample, loss = self.method.loss(logits[:, i].float(), labels, epoch)
            if self.failures[i] is None:
                total = total + loss
            rows.append(per_sample.detach().double())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        with torch.no_grad():
            hits = torch.stack([self.method.predict(logits[:, i]) == labels for i in range(self.k)]).double()
            norms = features.detach().float().norm(dim=-1).double().T  # K x B
            sums += class_sums(labels, torch.stack([hits, torch.stack(rows), norms], dim=1), sums.shape[2])

    def train(self, until: int) -> None:
        while self.epoch < until and self.alive():
            self.run_epoch()

    @torch.no_grad()
    def evaluate(self, split: ImageSet, batch: int = 1024) -> list[dict]:
        """Each copy's accuracy on a split without augmentation (as Trainer.evaluate)."""
        self.model.eval()
        predictions = []
        images = split.images.to(self.device)
        for begin in range(0, len(images), batch):
            x = self.normalise(images[begin:begin + batch]).repeat(1, self.k, 1, 1)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.gpu):
                logits = self.model(x).float()
            predictions.append(torch.stack([self.method.predict(logits[:, i]) for i in range(self.k)]))
        labels = split.labels.to(self.device)
        every = torch.cat(predictions, dim=1)
        return [summary(per_class_accuracy(every[i], labels, split.num_classes), self.counts) for i in range(self.k)]
