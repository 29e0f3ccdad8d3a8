"""examples/train_your_own.py: a found policy in a plain PyTorch loop with a torchvision
model runs, gives the policy every statistic it reads, and is what the README shows."""
import importlib.util
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "train_your_own.py"


def example():
    spec = importlib.util.spec_from_file_location("train_your_own", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("policy", ["norm_balance", "doda"])  # reads w_norm; train_acc and prev_train_acc
def test_the_example_trains_with_a_policy_at_a_tiny_size(policy, capsys):
    module = example()
    stats = module.main(["--policy", f"examples/policies/{policy}.dsl", "--epochs", "2", "--largest", "16",
                         "--size", "16", "--batch-size", "8"])
    _, _, counts = module.long_tailed_images(10, 16, 10, 16, 0)
    assert stats.epoch == 2 and stats.missing == () and torch.equal(stats.count, counts)
    assert counts.tolist() == [round(16 * 10 ** (-i / 9)) for i in range(10)]  # the long-tail profile
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 0", "epoch 1"]
    stats.validate(10)


def code_lines(text):
    """Statements without comments or blank lines ('...' stands for code left out)."""
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return [line for line in lines if line and line != "..."]


def test_the_readme_shows_the_examples_loop():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using a found policy in your own training loop", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown, ran = code_lines(snippet), set(code_lines(EXAMPLE.read_text(encoding="utf-8")))
    assert len(shown) >= 10 and [line for line in shown if line not in ran] == []
