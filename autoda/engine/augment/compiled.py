"""CompiledPolicy: a checked policy as a torch.nn.Module you can drop into a training loop.

    policy = autoda.compile_policy("examples/policies/tail_curriculum.dsl", class_counts=counts, seed=0)
    tracker = autoda.ClassStatsTracker(counts, total_epochs=epochs)
    for epoch in range(epochs):
        policy.update_epoch(tracker.stats)      # start of the epoch: runs the epoch section
        for images, labels in batches:
            images = policy(images, labels)     # [B, 3, H, W] uint8 or float in [0, 1]
            ...                                 # tracker.update(logits, labels, loss, features)
        tracker.end_epoch(classifier_weight)

With ``class_counts`` (or, for a policy that reads none of count, freq and rank, with
``num_classes``) the first batch runs the epoch update of epoch 0 itself, if none has run.

Randomness is counter-based: batch number n draws from a generator seeded by (seed, n),
and epoch update number n by (seed, epoch stream, n), so a run replays exactly on a
device, ``policy.draw`` and ``policy.apply`` can replay or inspect one batch, and moving
the policy to another device needs no generator state.
"""
from __future__ import annotations

import operator
from typing import Mapping, Sequence

import torch

from ...class_stats import correct_counts
from ...compiler import CheckedPolicy
from ...errors import AutodaError, FailureKind
from .epoch import DTYPES, run_epoch_program, shape_of
from .epoch_step import EpochStep, EpochStepMaker
from .pipeline import Draw, Pipeline
from .statistics import MAX_CLASSES, ClassStats, StatsError

_EPOCH_STREAM = 1 << 40
_MIX = 0x9E3779B97F4A7C15  # a large odd constant: spreads nearby counters over the seed space


class PolicyRuntimeError(AutodaError, RuntimeError):
    """A compiled policy was used wrongly (before its first epoch update, with bad inputs)."""

    kind = FailureKind.RUNTIME


class PythonPolicyError(PolicyRuntimeError):
    """A policy's epoch step (a Python policy's sandboxed get_aug_type) failed; ``kind`` is
    the step's own (one of autoda.errors.SANDBOX_FAILURES for the sandbox)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _holds(condition: torch.Tensor) -> bool:
    """Whether a CPU bool tensor is true, read by torch._assert_async, which raises at once
    on the CPU and is not one of the tensor-to-Python reads the per-batch path avoids."""
    try:
        torch._assert_async(condition)
    except RuntimeError:
        return False
    return True


def labels_outside(labels: torch.Tensor, classes: int) -> str | None:
    """For a CPU batch: "got values in [lo, hi]" when a label lies outside [0, classes), else
    None (an accelerator's batch is clamped instead: see CompiledPolicy._check_values)."""
    if _holds(((labels >= 0) & (labels < classes)).all()):
        return None
    return f"got values in [{int(labels.min())}, {int(labels.max())}]"


def _range_hint(lo: float, hi: float) -> str:
    """What float images outside [0, 1] most likely are, and what to do."""
    if lo < 0:
        return ("they look normalised (mean 0, std 1): augment before normalising, "
                "e.g. ToTensor() in the data set and Normalize after the policy")
    if hi <= 255:
        return "they look like pixel values in [0, 255]: pass them as uint8, or divide by 255"
    return "scale them into [0, 1] before the policy"


def _checked_counts(class_counts: object) -> torch.Tensor:
    """Training images per class, checked as the epoch update checks ``count``, on the CPU."""
    try:
        stats = ClassStats.initial(class_counts)
        stats.validate()
    except StatsError as error:
        raise PolicyRuntimeError(f"bad class_counts: {error}") from None
    return stats.count.cpu()


class CompiledPolicy(torch.nn.Module):
    def __init__(self, checked: CheckedPolicy, num_classes: int | None = None, *,
                 seed: int | None = None, generator: torch.Generator | None = None,
                 epoch_step: EpochStep | None = None,
                 class_counts: torch.Tensor | Sequence[int] | None = None) -> None:
        """``class_counts`` (training images per class) gives num_classes and the statistics
        of epoch 0, which the first batch runs the epoch update with if none has run.
        ``epoch_step`` fills the policy's state at each epoch update, before the epoch
        section runs (see epoch_step.EpochStep); by default a Python policy's checked carrier
        makes its own (``checked.python.epoch_step()``: the sandbox's), and a policy in the
        language has none."""
        super().__init__()
        self.checked = checked
        self.plan = checked.lower()
        self.plan.verify()  # the lowering's output checked before anything is built from it
        # a Python policy's carrier augments a sample with all its class's ops or none (the
        # paper's AUG_PROB coin); the language draws each op's chance on its own
        self.pipeline = Pipeline(self.plan, one_coin=checked.python is not None)
        if seed is None:  # from the given or global generator, so torch.manual_seed replays a run
            device = generator.device if generator is not None else None
            seed = int(torch.randint(0, 1 << 62, (1,), generator=generator, device=device).item())
        self.seed = int(seed)
        self.step = 0  # batches drawn so far
        self.epochs = 0  # epoch updates run so far
        self.num_classes: int | None = None
        self.ready = False  # the tables hold this epoch's parameters only after update_epoch
        self._generators: dict[torch.device, torch.Generator] = {}
        if epoch_step is None and checked.python is not None:
            maker: EpochStepMaker = checked.python  # the sandbox's, handed in with the checked policy, never imported
            epoch_step = maker.epoch_step()
        self.epoch_step = epoch_step
        self.class_counts: torch.Tensor | None = None
        if class_counts is not None:
            self.class_counts = _checked_counts(class_counts)
            num_classes = len(self.class_counts) if num_classes is None else num_classes
        if num_classes is not None:
            self._materialise(num_classes)
            if self.class_counts is not None and len(self.class_counts) != self.num_classes:
                raise PolicyRuntimeError(f"class_counts has {len(self.class_counts)} classes; "
                                         f"num_classes is {self.num_classes}")

    @property
    def reads(self) -> tuple[str, ...]:
        """The class statistics the policy reads: its epoch section's, and train_acc where an
        epoch step (a Python policy's get_aug_type) runs."""
        return tuple(dict.fromkeys(self.plan.stats + (("train_acc",) if self.epoch_step is not None else ())))

    # --- state ---------------------------------------------------------------------------

    def _materialise(self, num_classes: int) -> None:
        device = self._device()
        try:
            if isinstance(num_classes, bool):
                raise TypeError
            num_classes = operator.index(num_classes)
        except TypeError:
            raise PolicyRuntimeError(f"num_classes must be a whole number, got {num_classes!r}") from None
        if not 1 <= num_classes <= MAX_CLASSES:
            raise PolicyRuntimeError(f"a policy needs 1 to {MAX_CLASSES:,} classes, got {num_classes}")
        self.num_classes = num_classes
        for s in self.plan.states:
            shape = shape_of("class_op" if s.per_op else "class", num_classes, self.plan.num_ops)
            self.register_buffer(f"state_{s.name}", torch.full(shape, s.init, dtype=DTYPES[s.dtype], device=device))
        self.register_buffer("tables", torch.zeros(num_classes, self.pipeline.table_width, device=device))

    @property
    def state(self) -> dict[str, torch.Tensor]:
        """The policy state: name -> [C, 1] or [C, K] tensor."""
        return {s.name: getattr(self, f"state_{s.name}") for s in self.plan.states}

    def get_extra_state(self) -> dict:
        return {"seed": self.seed, "step": self.step, "epochs": self.epochs, "num_classes": self.num_classes,
                "ready": self.ready, "hash": self.checked.hash}

    def set_extra_state(self, extra: dict) -> None:
        if extra["hash"] != self.checked.hash:
            raise PolicyRuntimeError("this state belongs to a different policy")
        self.seed, self.step, self.epochs = extra["seed"], extra["step"], extra["epochs"]
        self.ready = extra["ready"]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        extra = state_dict.get(prefix + "_extra_state")
        if self.num_classes is None and extra and extra.get("num_classes"):
            self._materialise(extra["num_classes"])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _device(self) -> torch.device:
        return self.pipeline.at_zero.device  # the pipeline's constants move with .to(device)

    def _generator(self, counter: int) -> torch.Generator:
        device = self._device()
        generator = self._generators.get(device)
        if generator is None:
            generator = self._generators[device] = torch.Generator(device=device)
        generator.manual_seed((self.seed * _MIX + counter) % (1 << 63))
        return generator

    # --- once per epoch ------------------------------------------------------------------

    def update_epoch(self, stats: ClassStats | Mapping[str, object]) -> None:
        """Run the epoch section at the start of an epoch, with the statistics of the one
        before (``ClassStats.initial`` before the first), and fix this epoch's parameters."""
        if not isinstance(stats, (ClassStats, Mapping)):
            raise PolicyRuntimeError(f"update_epoch takes ClassStats or a dict of statistics, "
                                     f"not {type(stats).__name__}")
        try:
            if not isinstance(stats, ClassStats):
                stats = ClassStats.from_mapping(stats)
            stats.validate(self.num_classes)
            stats.require(self.reads, self.plan.name)
        except StatsError as error:
            raise PolicyRuntimeError(f"bad class statistics: {error}") from None
        if self.num_classes is None:
            self._materialise(stats.num_classes)
        if self.epoch_step is not None:
            self._run_epoch_step(stats)
        device = self._device()
        try:
            state, values = run_epoch_program(self.plan, self.state, stats.to(device),
                                              self._generator(_EPOCH_STREAM + self.epochs))
        except StatsError as error:  # lol_pass without a probe, or a probe that answers wrongly
            raise PolicyRuntimeError(str(error)) from None
        for name, value in state.items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise PolicyRuntimeError(f"state {name!r} is not finite after epoch update {self.epochs}")
            getattr(self, f"state_{name}").copy_(value)
        self.tables.copy_(self.pipeline.pack(values, self.num_classes))
        self.epochs += 1
        self.ready = True

    def _run_epoch_step(self, stats: ClassStats) -> None:
        """The epoch step (a Python policy's sandboxed get_aug_type): state and accuracies out
        as arrays, the next state back."""
        state = {name: value.cpu().numpy() for name, value in self.state.items()}
        seed = self.seed * _MIX + _EPOCH_STREAM + self.epochs  # the sandbox's step reduces it modulo 2**32
        accs = stats.train_acc.double().cpu().numpy()
        correct = correct_counts(accs, stats.count.double().cpu().numpy())
        try:
            new = self.epoch_step(state, accs, stats.epoch, seed, correct=correct)
        except AutodaError as error:
            raise PythonPolicyError(error.kind, f"get_aug_type failed after epoch {stats.epoch - 1} "
                                                f"({error.kind}): {error}") from None
        for name, value in new.items():
            if name not in state:
                raise PolicyRuntimeError(f"the epoch step returned {name!r}, which is not a state of this policy")
            getattr(self, f"state_{name}").copy_(torch.from_numpy(value))

    # --- per batch -----------------------------------------------------------------------

    def _check(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Refuse a batch the graph cannot run on. Types, shapes and devices are known on the
        host, so these checks are free; values are checked by ``_check_values``."""
        self._check_ready()
        for name, value in (("images", images), ("labels", labels)):
            if not isinstance(value, torch.Tensor):
                raise PolicyRuntimeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if images.dim() != 4 or images.shape[1] != 3:
            raise PolicyRuntimeError(f"images must be [B, 3, H, W], got {tuple(images.shape)}")
        if images.shape[2] < 1 or images.shape[3] < 1:
            raise PolicyRuntimeError(f"images must be at least 1 x 1 pixels, got {tuple(images.shape)}")
        if images.dtype != torch.uint8 and not images.is_floating_point():
            raise PolicyRuntimeError(f"images must be uint8 or floating point, got {images.dtype}")
        if labels.shape != (images.shape[0],) or labels.dtype not in (torch.int64, torch.int32):
            raise PolicyRuntimeError(f"labels must be an int64 vector of length {images.shape[0]}, "
                                     f"got {labels.dtype} {tuple(labels.shape)}")
        if images.device != self.tables.device or labels.device != self.tables.device:
            raise PolicyRuntimeError(f"images ({images.device}) and labels ({labels.device}) must be on the "
                                     f"policy's device ({self.tables.device}); move the policy with .to(device)")
        if images.device.type == "cpu":
            self._check_values(images, labels)

    def _check_values(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Labels in [0, C) and float pixels in [0, 1], on CPU batches only.

        Out-of-range labels or pixels (or NaN) would index past the class table and the
        colour lookup tables. Refusing them needs their values on the host: free on the
        CPU, but on an accelerator a host sync per batch, which the per-batch path never
        makes. There the graph clamps instead (labels into [0, C), pixels into [0, 1] with
        NaN as 0: see ``draw`` and ``pipeline.to_unit``), so the policy never faults the
        device; validating the data is left to whoever loads it. torch._assert_async is the
        check: on the CPU it raises at once, and it is not a tensor-to-Python read.
        """
        c = self.num_classes
        outside = labels_outside(labels, c)
        if outside:
            raise PolicyRuntimeError(f"labels must lie in [0, {c}) for a policy of {c} classes, {outside}")
        if images.is_floating_point() and images.numel():
            lo, hi = torch.aminmax(images)
            if not _holds((lo >= 0) & (hi <= 1)):  # NaN fails both comparisons
                if images.isnan().any():
                    raise PolicyRuntimeError("float images contain NaN")
                raise PolicyRuntimeError(f"float images must lie in [0, 1] (uint8 images in [0, 255]), got "
                                         f"values in [{float(lo):g}, {float(hi):g}]: "
                                         + _range_hint(float(lo), float(hi)))

    def _check_ready(self) -> None:
        """Before the first batch: the epoch update of epoch 0 where the policy knows its
        statistics (one host read, as every epoch update makes), else what to pass."""
        if self.ready:
            return
        by_count = [name for name in self.reads if name in ("count", "freq", "rank")]
        if self.class_counts is not None:
            self.update_epoch(ClassStats.initial(self.class_counts))
        elif self.num_classes is not None and not by_count:
            # what it reads at epoch 0 (0 for training statistics, epoch, progress,
            # num_classes) is the same whatever the counts, so any counts give it
            self.update_epoch(ClassStats.initial(torch.ones(self.num_classes, dtype=torch.int64)))
        elif self.num_classes is None:
            raise PolicyRuntimeError("the policy does not know its classes: compile it with class_counts= "
                                     "(images per class) or num_classes=, or call update_epoch(stats) before "
                                     "the first batch (ClassStats.initial(counts) gives the statistics of epoch 0)")
        else:
            raise PolicyRuntimeError(f"policy {self.plan.name!r} reads {', '.join(by_count)}, which need the class "
                                     f"counts: compile it with class_counts= (images per class), or call "
                                     f"update_epoch(ClassStats.initial(counts)) before the first batch")

    def draw(self, labels: torch.Tensor, image_shape: tuple[int, ...], step: int | None = None) -> Draw:
        """What batch number ``step`` (by default the next one) draws for these labels."""
        self._check_ready()
        if step is None:
            step, self.step = self.step, self.step + 1
        labels = labels.long().clamp(0, self.num_classes - 1)  # see _check_values: never index past the table
        return self.pipeline.draw(self.tables, labels, tuple(image_shape), self._generator(step))

    def apply(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        """Apply a drawn batch (replays exactly)."""
        return self.pipeline.apply(images, draw)

    def forward(self, images: torch.Tensor, labels: torch.Tensor, return_draw: bool = False):
        """Augment a batch: [B, 3, H, W] uint8, or float in [0, 1]; same dtype, shape and device out."""
        self._check(images, labels)
        draw = self.draw(labels, images.shape)
        out = self.apply(images, draw)
        return (out, draw) if return_draw else out

    def extra_repr(self) -> str:
        return f"policy={self.plan.name!r}, num_classes={self.num_classes}, ops={len(self.pipeline.entries)}"

