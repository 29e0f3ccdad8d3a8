"""PolicyCallback: a found policy in a PyTorch Lightning run (the `lightning` extra: pip
install 'autoda[lightning]'). Importing this module does not import Lightning; the first use
of PolicyCallback does.

    from autoda.lightning import PolicyCallback
    trainer = L.Trainer(max_epochs=30, callbacks=[PolicyCallback("best.dsl", class_counts=counts)])
    # and training_step returns {"loss": loss, "logits": logits}

It does what the plain loop of examples/train_your_own.py does. Before each training_step
it augments the batch (images, labels, ...) on its device: images uint8, or float in [0, 1]
(normalise inside the model, or give ``normalize=(mean, std)``). Each epoch starts with the
policy's epoch update, on the statistics a ClassStatsTracker gathered from what
training_step returned: "logits" (train_acc), and optionally "loss_per_sample" [B] (train_loss)
and "features" (feat_norm); ``classifier`` names the LightningModule's last layer (for
example "model.fc"), whose weight gives w_norm. A statistic the policy reads and the run does
not give is an error that names it. Lightning's checkpoints keep the policy and its
statistics, so a resumed run continues them.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import torch

from .engine import ClassStats, ClassStatsTracker, CompiledPolicy, PolicyRuntimeError
from .engine.augment.statistics import TRAINING_STATS
from .policies import compile_policy

INSTALL = "pip install 'autoda[lightning]'"


class PolicyHooks:
    """Augment each training batch with a policy, and feed it each epoch the class statistics
    of the one before (``policy``: a path, policy text, or a CompiledPolicy)."""

    def __init__(self, policy: str | CompiledPolicy, class_counts: torch.Tensor | Sequence[int], *,
                 classifier: str | None = None, normalize: tuple[Sequence[float], Sequence[float]] | None = None,
                 total_epochs: int | None = None, seed: int | None = None) -> None:
        self.policy = policy if isinstance(policy, CompiledPolicy) else \
            compile_policy(policy, class_counts=class_counts, seed=seed)
        self.class_counts = class_counts
        self.classifier, self.total_epochs = classifier, total_epochs
        self.normalize = None if normalize is None else \
            tuple(torch.as_tensor(v, dtype=torch.float32).view(1, -1, 1, 1) for v in normalize)
        self.reads_training = [name for name in self.policy.reads if name in TRAINING_STATS]
        self.tracker: ClassStatsTracker | None = None
        self._restored: ClassStats | None = None  # from a checkpoint, until the fit starts

    # --- Lightning's hooks ---------------------------------------------------------------

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        total = self.total_epochs or trainer.max_epochs
        if not isinstance(total, int) or total < 1:  # Lightning's -1 or None: no last epoch
            if "progress" in self.policy.reads:
                raise PolicyRuntimeError("the policy reads progress: give PolicyCallback total_epochs= "
                                         "or the Trainer max_epochs=")
            total = 1
        self.policy.to(pl_module.device)
        self.tracker = ClassStatsTracker(self.class_counts, total)
        if self._restored is not None:
            self.tracker.stats = self._restored
        if self.classifier is not None:
            self._classifier_weight(pl_module)  # a wrong name fails now, not after an epoch

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.tracker.reset()  # nothing of an epoch that a failure or a restart cut short
        self.policy.update_epoch(self.tracker.stats)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        images, labels = self._images_and_labels(batch)
        augmented = self.policy(images, labels)
        if self.normalize is not None:
            mean, std = (t.to(augmented.device) for t in self.normalize)
            unit = augmented.float() / 255 if augmented.dtype == torch.uint8 else augmented
            augmented = (unit - mean) / std
        if isinstance(batch, list):
            batch[0] = augmented  # training_step gets this very list
        elif augmented.dtype == images.dtype:
            images.copy_(augmented)
        else:
            raise PolicyRuntimeError("with normalize=, the batch must be a list (images, labels, ...), "
                                     f"not a {type(batch).__name__}: its images cannot change dtype in place")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.reads_training:
            return  # nothing to track: the policy reads no training statistic
        if not isinstance(outputs, dict) or "logits" not in outputs:
            raise PolicyRuntimeError(f"policy {self.policy.plan.name!r} reads {', '.join(self.reads_training)}: "
                                     "training_step must return a dict with 'logits' (and 'loss_per_sample', "
                                     "'features' for train_loss, feat_norm), not just the loss")
        self.tracker.update(outputs["logits"], self._images_and_labels(batch)[1],
                            outputs.get("loss_per_sample"), outputs.get("features"))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        weight = self._classifier_weight(pl_module) if self.classifier is not None else None
        self.tracker.end_epoch(weight)

    def state_dict(self) -> dict[str, Any]:
        stats = None if self.tracker is None else vars(self.tracker.stats.to("cpu"))
        return {"policy": self.policy.state_dict(), "stats": stats}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self._restored = ClassStats(**state["stats"]) if state.get("stats") else None

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _images_and_labels(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise PolicyRuntimeError(f"PolicyCallback takes batches (images, labels, ...), got {type(batch).__name__}")
        return batch[0], batch[1]

    def _classifier_weight(self, pl_module: Any) -> torch.Tensor:
        try:
            weight = functools.reduce(getattr, self.classifier.split("."), pl_module).weight
        except AttributeError:
            raise PolicyRuntimeError(f"classifier={self.classifier!r} names no layer with a weight on "
                                     f"{type(pl_module).__name__}") from None
        return weight


def _lightning_callback() -> type:
    try:
        from lightning.pytorch import Callback
    except ImportError:
        try:
            from pytorch_lightning import Callback
        except ImportError:
            raise ImportError(f"autoda.lightning.PolicyCallback needs PyTorch Lightning: {INSTALL}") from None
    return Callback


def __getattr__(name: str) -> Any:
    # PolicyCallback subclasses Lightning's Callback, so it is made on first use: importing
    # this module must work, and cost nothing, without Lightning
    if name == "PolicyCallback":
        callback = type("PolicyCallback", (PolicyHooks, _lightning_callback()),
                        {"__doc__": PolicyHooks.__doc__, "__module__": __name__})
        globals()[name] = callback
        return callback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
