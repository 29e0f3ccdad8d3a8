"""Training on the device: uint8 images already on the device (or, for a set larger than
the device's memory, streamed from the host: streaming.py), batches from a device-side
permutation (no DataLoader), the compiled policy applied per batch, normalisation on the
device, channels_last (on a CPU too: there it trains a CIFAR ResNet 1.2 to 1.4 times as
fast, docs/training.md), bf16 autocast on a GPU, per-class statistics accumulated on the
device and read once per epoch (by a ClassStatsTracker, as a loop of your own would).

The recipe is the standard CIFAR-LT one (SGD 0.1, momentum 0.9, weight decay 2e-4, 5
warm-up epochs, x0.01 at epoch 160 and x1e-4 at 180 of 200, DRW from 160, batch 128);
``Recipe.for_epochs(n)`` keeps its proportions for a shorter run.
"""
from __future__ import annotations

import copy
import functools
import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import torch

from ...compiler import CheckedPolicy
from ...errors import AutodaError, FailureKind
from ..augment.compiled import CompiledPolicy
from ..augment.level_probe import LevelProbe, reads_level_probe
from ..augment.standard import contrastive_policy, training_policy
from ..augment.statistics import ClassStats
from ..augment.tracker import ClassStatsTracker
from ..augment.views import PolicyViews
from .data import DataSplits, ImageSet
from .methods import Method, make_method
from .metrics import per_class_accuracy, summary
from .models import build_model
from .streaming import HostBatches, fits_on_device


class Diverged(AutodaError, RuntimeError):
    """The training loss became NaN or infinite."""

    kind = FailureKind.NAN


@dataclass(frozen=True)
class Recipe:
    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 2e-4
    warmup_epochs: int = 5
    milestones: tuple[int, int] = (160, 180)
    decays: tuple[float, float] = (0.01, 1e-4)
    drw_epoch: int = 160
    nesterov: bool = False

    @classmethod
    def for_epochs(cls, epochs: int, **overrides) -> "Recipe":
        """The standard recipe scaled to ``epochs`` (milestones and DRW at 80% and 90%)."""
        scaled = cls(epochs=epochs, warmup_epochs=round(5 * epochs / 200),
                     milestones=(round(0.8 * epochs), round(0.9 * epochs)), drw_epoch=round(0.8 * epochs))
        return replace(scaled, **overrides)

    def lr_at(self, epoch: int) -> float:
        if epoch < self.warmup_epochs:
            return self.lr * (epoch + 1) / self.warmup_epochs
        if epoch >= self.milestones[1]:
            return self.lr * self.decays[1]
        if epoch >= self.milestones[0]:
            return self.lr * self.decays[0]
        return self.lr

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.nesterov:  # left out as before it existed: recipes (and checkpoint keys) stay what they were
            del d["nesterov"]
        return d


@dataclass
class EpochLog:
    epoch: int
    loss: float
    train_acc: float
    lr: float
    seconds: float
    images_per_second: float


def _channel_moments(images: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation in [0, 1] units, in chunks (a float copy of
    a large set would not fit beside it)."""
    total = torch.zeros(3, dtype=torch.float64, device=images.device)
    square = torch.zeros(3, dtype=torch.float64, device=images.device)
    for begin in range(0, len(images), chunk):
        x = images[begin:begin + chunk].double().div_(255)
        total += x.sum(dim=(0, 2, 3))
        square += x.pow(2).sum(dim=(0, 2, 3))
    n = images.numel() / 3
    mean = total / n
    std = (square / n - mean ** 2).clamp(min=1e-12).sqrt()
    return mean.float().view(1, 3, 1, 1), std.float().view(1, 3, 1, 1)


def normalised(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 images as the network takes them: in [0, 1], standardised per channel (a new
    tensor: ``float`` copies), channels_last where the network is."""
    x = (images.float().div_(255) - mean) / std
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def build_network(data: DataSplits, method: str, model: str, recipe: Recipe,
                  device: torch.device | str) -> tuple[torch.nn.Module, Method]:
    """The network (its classifier and heads the method's) and the method, its class counts on the device."""
    fitted = make_method(method, data.train.counts().to(device), recipe.drw_epoch)  # on the device: used per batch
    network = build_model(model, data.num_classes, normed=fitted.normed_classifier, experts=fitted.experts,
                          contrastive=fitted.views > 1)
    return network, fitted


def build_trainer(data: DataSplits, policy: CheckedPolicy | None, method: str, model: str, recipe: Recipe,
                  device: torch.device | str, seed: int = 0, base: str = "standard",
                  stream: bool | None = None) -> Trainer:
    """A fresh trainer: seeded model initialisation, the method's classifier, the compiled
    policy: ``policy`` (None: the base alone) with the base ``base`` merged around it (CUDA's
    probe augments with the base too), and for a method of several views (BCL) the same
    policy on the contrastive views' base."""
    merged = training_policy(policy, base, data.train.images.shape[-1])
    torch.manual_seed(seed)
    network, fitted = build_network(data, method, model, recipe, device)
    views = contrastive_policy(policy) if fitted.views > 1 else None
    return Trainer(network, fitted, data, CompiledPolicy(merged, data.num_classes, seed=seed), recipe,
                   torch.device(device), seed, base, views, stream)


class Trainer:
    def __init__(self, model: torch.nn.Module, method: Method, data: DataSplits, policy: CompiledPolicy,
                 recipe: Recipe, device: torch.device, seed: int = 0, base: str = "standard",
                 views: CheckedPolicy | None = None, stream: bool | None = None) -> None:
        """``views``: the policy of the second and later views of each image, for a method of
        several (PolicyViews: the first view is ``policy``'s). ``stream``: keep the training
        images on the host and feed them batch by batch (streaming.py); by default only
        when they take more than half the device's free memory."""
        self.device = torch.device(device)
        self.gpu = self.device.type == "cuda"
        self.model = model.to(self.device, memory_format=torch.channels_last)
        # the method's own optimiser settings (RIDE's) are part of the recipe it trains with
        self.method, self.data, self.recipe, self.seed = method, data, replace(recipe, **method.optimizer), seed
        self.policy = policy.to(self.device)
        if (views is None) != (method.views == 1):
            raise ValueError(f"method {method.name!r} learns from {method.views} view(s) of each image: "
                             f"give the policy of the others, and only then")
        self.views = None if views is None else PolicyViews(self.policy, views, method.views)
        self.streamed = not fits_on_device(data.train.images, self.device) if stream is None else stream
        self.images = data.train.images if self.streamed else data.train.images.to(self.device)
        self.batches = HostBatches(self.images, self.device, recipe.batch_size) if self.streamed else None
        self.labels = data.train.labels.to(self.device)
        self.counts = data.train.counts().to(self.device)
        # per-channel (mean, std), computed on first use: a checkpoint loaded before training
        # supplies them and spares the full pass over the images
        self._moments: tuple[torch.Tensor, torch.Tensor] | None = None
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.recipe.lr, momentum=self.recipe.momentum,
                                         weight_decay=self.recipe.weight_decay, nesterov=self.recipe.nesterov)
        self.epoch = 0  # the next epoch to run
        # its stats are what the next epoch update reads
        self.tracker = ClassStatsTracker(self.counts, recipe.epochs, predict=method.predict)
        self.log: list[EpochLog] = []
        # CUDA's probe, for a policy that calls lol_pass: the model classifies in eval mode
        self.level_probe = (LevelProbe(self.images, self.labels, data.num_classes, self.correct, base, seed)
                            if reads_level_probe(self.policy.plan) else None)

    # --- state ---------------------------------------------------------------------------

    @property
    def stats(self) -> ClassStats:
        return self.tracker.stats

    @stats.setter
    def stats(self, stats: ClassStats) -> None:
        self.tracker.stats = stats

    @property
    def mean(self) -> torch.Tensor:
        return self._normalisation()[0]

    @property
    def std(self) -> torch.Tensor:
        return self._normalisation()[1]

    def _normalisation(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._moments is None:
            self._moments = _channel_moments(self.images)
        return self._moments

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                "stats": vars(self.stats.to("cpu")), "mean": self.mean.cpu(), "std": self.std.cpu()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state``, which is left as it was (a cached checkpoint serves many
        fine-tunes: the optimizer would otherwise keep the given momentum buffers and update
        them in place)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.epoch = state["epoch"]
        self.stats = ClassStats(**state["stats"]).to(self.device)
        self._moments = state["mean"].to(self.device), state["std"].to(self.device)

    # --- training ------------------------------------------------------------------------

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return normalised(images, *self._normalisation(), True)

    def run_epoch(self, max_batches: int | None = None,
                  on_batch: Callable[[int, int], None] | None = None) -> EpochLog:
        """One epoch: the policy's epoch update, then every training image once (or the
        first ``max_batches`` batches of the epoch, for measuring). ``on_batch(done, of)``
        hears of each batch sent to the device (for progress bars: it reads nothing back)."""
        epoch, recipe = self.epoch, self.recipe
        start = time.perf_counter()
        self.update_policy()
        lr = recipe.lr_at(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        g = torch.Generator(device=self.device).manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.labels), generator=g, device=self.device)
        if max_batches is not None:
            order = order[: max_batches * recipe.batch_size]
        self.tracker.reset()  # nothing of an epoch a failure cut short
        self.model.train()
        batches = -(-len(order) // recipe.batch_size)
        gathered = None if self.batches is None else self.batches.epoch(order)  # a streamed set's batches
        for done, begin in enumerate(range(0, len(order), recipe.batch_size), 1):
            self.step(order[begin:begin + recipe.batch_size], epoch, None if gathered is None else next(gathered))
            if on_batch is not None:
                on_batch(done, batches)
        _, correct, loss_sum = self.tracker.totals()  # the one sync of the epoch
        total_loss = loss_sum / len(order)
        if not math.isfinite(total_loss):
            raise Diverged(f"the training loss is {total_loss} in epoch {epoch}")
        self.tracker.end_epoch(self.model.classifier.weight)
        self.epoch += 1
        seconds = time.perf_counter() - start
        entry = EpochLog(epoch, total_loss, correct / len(order), lr, seconds, len(order) / seconds)
        self.log.append(entry)
        return entry

    def update_policy(self) -> None:
        """The policy's epoch update for the next epoch (every view's), with the statistics of
        the last and, for a policy that calls lol_pass, CUDA's probe of the model as it is."""
        probe = None if self.level_probe is None else functools.partial(self.level_probe, epoch=self.epoch)
        (self.views or self.policy).update_epoch(self.stats if probe is None else replace(self.stats, probe=probe))

    def step(self, index: torch.Tensor, epoch: int, images: torch.Tensor | None = None) -> None:
        """One training batch (the images at ``index``, or ``images``, which a streamed set
        gathered), its per-class correct predictions, losses and feature norms added up by
        the tracker on the device: nothing here waits for the device (a test holds it to
        that)."""
        # index_select: on a CPU several times faster than indexing, for the same rows
        labels, batch = self.labels[index], self.images.index_select(0, index) if images is None else images
        augmented = self.policy(batch, labels) if self.views is None else torch.cat(self.views(batch, labels))
        b = len(labels)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.gpu):
            features = self.model.embed(self.normalise(augmented))
            logits = self.model.classifier(features[:b])  # the first view's: the one the classifier learns from
        per_sample, loss = self.method.batch_loss(self.model, features, logits.float(), labels, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        # a multi-expert model's statistics are of the experts' mean; a multi-view batch's of its first view
        self.tracker.update(self.model.combine(logits), labels, per_sample, self.model.combine(features[:b]))

    def train(self, until: int, on_epoch: Callable[[EpochLog], None] | None = None,
              on_batch: Callable[[int, int], None] | None = None) -> None:
        while self.epoch < until:
            entry = self.run_epoch(on_batch=on_batch)
            if on_epoch is not None:
                on_epoch(entry)

    # --- evaluation ----------------------------------------------------------------------

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """The classes the model, in eval mode, gives uint8 ``images`` (the next epoch sets
        train mode again)."""
        self.model.eval()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.gpu):
            logits = self.model(self.normalise(images))
        return self.method.predict(logits.float())

    def correct(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Which ``images`` the model classifies as ``labels``: what CUDA's probe asks at the
        start of an epoch."""
        return self.predict(images) == labels

    @torch.no_grad()
    def evaluate(self, split: ImageSet, batch: int = 1024) -> dict:
        """Accuracy on a split without augmentation: many/medium/few/all and per class."""
        images = split.images  # moved a batch at a time: a split need not fit on the device
        predictions = [self.predict(images[begin:begin + batch].to(self.device))
                       for begin in range(0, len(images), batch)]
        labels = split.labels.to(self.device)
        per_class = per_class_accuracy(torch.cat(predictions), labels, split.num_classes)
        return summary(per_class, self.counts)
