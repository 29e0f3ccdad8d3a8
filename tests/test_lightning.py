"""autoda.lightning: PolicyCallback's hooks do what a plain loop does (tested without
Lightning), the module imports without Lightning, and, where Lightning is installed, the
callback in a real fit, resumed from a checkpoint."""
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import autoda
from autoda.lightning import PolicyHooks

COUNTS = torch.tensor([40, 20, 10, 5])
NORM_BALANCE = "examples/policies/norm_balance.dsl"  # reads w_norm: the classifier's weight


class Net(torch.nn.Module):
    """A LightningModule's shape without Lightning: .device, a body and a last layer."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.head = torch.nn.Linear(4, len(COUNTS))
        self.device = torch.device("cpu")


def batches(n, b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randint(0, 256, (b, 3, 8, 8), generator=g, dtype=torch.uint8),
             torch.randint(0, len(COUNTS), (b,), generator=g)] for _ in range(n)]


def test_the_hooks_augment_and_track_as_the_plain_loop_does():
    net, epochs, data = Net(), 2, batches(3)
    hooks = PolicyHooks(NORM_BALANCE, COUNTS, classifier="head", normalize=([0.5] * 3, [0.25] * 3), seed=7)
    trainer = SimpleNamespace(max_epochs=epochs)
    policy = autoda.compile_policy(NORM_BALANCE, class_counts=COUNTS, seed=7)  # the plain loop's
    tracker = autoda.ClassStatsTracker(COUNTS, total_epochs=epochs)
    hooks.on_fit_start(trainer, net)
    for _ in range(epochs):
        hooks.on_train_epoch_start(trainer, net)
        policy.update_epoch(tracker.stats)
        for images, labels in data:
            batch = [images, labels]
            hooks.on_train_batch_start(trainer, net, batch, 0)
            expected = (policy(images, labels).float() / 255 - 0.5) / 0.25
            assert torch.equal(batch[0], expected)
            logits = net.head(net.body(batch[0]))
            hooks.on_train_batch_end(trainer, net, {"loss": logits.sum(), "logits": logits}, batch, 0)
            tracker.update(logits, labels)
        hooks.on_train_epoch_end(trainer, net)
        tracker.end_epoch(net.head.weight)
        for name in ("train_acc", "prev_train_acc", "w_norm"):
            assert torch.equal(getattr(hooks.tracker.stats, name), getattr(tracker.stats, name)), name
    assert hooks.policy.epochs == policy.epochs == epochs
    assert hooks.tracker.stats.missing == ("train_loss", "feat_norm")  # norm_balance reads neither


def test_the_hooks_name_what_the_run_does_not_give():
    net, trainer = Net(), SimpleNamespace(max_epochs=3)
    images, labels = batches(1)[0]
    hooks = PolicyHooks(NORM_BALANCE, COUNTS)  # no classifier: no w_norm
    hooks.on_fit_start(trainer, net)
    hooks.on_train_epoch_start(trainer, net)
    with pytest.raises(autoda.PolicyRuntimeError, match="reads w_norm: training_step must return a dict with 'logits'"):
        hooks.on_train_batch_end(trainer, net, {"loss": torch.tensor(1.0)}, [images, labels], 0)
    hooks.on_train_batch_end(trainer, net, {"logits": torch.zeros(len(labels), len(COUNTS))}, [images, labels], 0)
    hooks.on_train_epoch_end(trainer, net)
    with pytest.raises(autoda.PolicyRuntimeError, match="reads w_norm.*ClassStatsTracker.end_epoch"):
        hooks.on_train_epoch_start(trainer, net)
    with pytest.raises(autoda.PolicyRuntimeError, match="classifier='fc' names no layer"):
        PolicyHooks(NORM_BALANCE, COUNTS, classifier="fc").on_fit_start(trainer, net)
    with pytest.raises(autoda.PolicyRuntimeError, match="batch must be a list"):
        reads_nothing = PolicyHooks("examples/policies/randaugment.dsl", COUNTS, normalize=([0.5] * 3, [0.25] * 3))
        reads_nothing.on_fit_start(trainer, net)
        reads_nothing.on_train_epoch_start(trainer, net)
        reads_nothing.on_train_batch_start(trainer, net, (images, labels), 0)


def test_importing_autoda_lightning_does_not_import_lightning():
    code = "import sys, autoda.lightning; print(sorted({'lightning', 'pytorch_lightning'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_without_lightning_the_callback_says_what_to_install():
    code = ("import sys\nfor name in ('lightning', 'lightning.pytorch', 'pytorch_lightning'):\n"
            "    sys.modules[name] = None  # as if not installed\n"
            "try:\n    from autoda.lightning import PolicyCallback\nexcept ImportError as error:\n    print(error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "needs PyTorch Lightning: pip install 'autoda[lightning]'" in out


def test_the_callback_in_a_lightning_fit_and_its_resumption(tmp_path):
    L = pytest.importorskip("lightning", reason="PyTorch Lightning is not installed (the optional extra "
                                                "autoda[lightning]); the hooks are tested without it above")
    from autoda.lightning import PolicyCallback

    data = batches(4, seed=1)
    counts_seen = torch.stack([labels for _, labels in data]).flatten().bincount(minlength=len(COUNTS))

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net, self.seen = Net(), []

        def training_step(self, batch, batch_idx):
            images, labels = batch
            logits = self.net.head(self.net.body(images.float() / 255))
            self.seen.append((images.clone(), logits.detach().argmax(1) == labels, labels))
            return {"loss": F.cross_entropy(logits, labels), "logits": logits}

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

        def train_dataloader(self):
            return torch.utils.data.DataLoader(data, batch_size=None)  # the batches as they are

    def fit(epochs, callback, module, ckpt_path=None):
        trainer = L.Trainer(max_epochs=epochs, callbacks=[callback], accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(module, ckpt_path=ckpt_path)
        return trainer

    module = Module()
    callback = PolicyCallback(NORM_BALANCE, class_counts=COUNTS, classifier="net.head", seed=0)
    trainer = fit(2, callback, module)
    stats = callback.tracker.stats
    assert stats.epoch == 2 and callback.policy.epochs == 2 and stats.missing == ("train_loss", "feat_norm")
    assert torch.allclose(stats.w_norm, module.net.head.weight.detach().norm(dim=1))
    last = module.seen[-len(data):]  # the last epoch, as training_step saw it
    hits = torch.zeros(len(COUNTS)).index_add_(0, torch.cat([l for *_, l in last]),
                                                torch.cat([h for _, h, _ in last]).float())
    assert torch.allclose(stats.train_acc, hits / counts_seen.clamp(min=1))
    assert any(not torch.equal(seen, original) for (seen, *_), (original, _) in zip(last, data))  # augmented

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    resumed = PolicyCallback(NORM_BALANCE, class_counts=COUNTS, classifier="net.head", seed=0)
    fit(3, resumed, Module(), ckpt_path=tmp_path / "last.ckpt")
    assert resumed.policy.epochs == 3 and resumed.tracker.stats.epoch == 3
    continued = PolicyCallback(NORM_BALANCE, class_counts=COUNTS, classifier="net.head", seed=0)
    continued.load_state_dict(callback.state_dict())
    assert torch.equal(continued.policy.state["gap"], callback.policy.state["gap"])
