"""A policy found by autoda in a plain PyTorch training loop, with a torchvision model.

    python examples/train_your_own.py                              # seconds on a CPU
    python examples/train_your_own.py --policy runs/RUN/best.dsl --epochs 30

The data here is random long-tailed images made in code (10 classes, 100 images down to
10), so the script runs anywhere and downloads nothing: put your data set's images (uint8,
or float in [0, 1]: the policy augments before normalisation) and labels in their place.
Everything autoda adds to an ordinary loop is marked "autoda".
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader, TensorDataset

import autoda

MEAN = torch.tensor([0.49, 0.48, 0.45]).view(1, 3, 1, 1)
STD = torch.tensor([0.25, 0.24, 0.26]).view(1, 3, 1, 1)


def long_tailed_images(classes: int, largest: int, imb_ratio: float, size: int,
                       seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(uint8 images [N, 3, size, size], labels [N], images per class [C]): class i has
    largest * imb_ratio ** (-i / (C - 1)) images, the usual long-tail profile."""
    g = torch.Generator().manual_seed(seed)
    counts = torch.tensor([max(1, round(largest * imb_ratio ** (-i / max(classes - 1, 1)))) for i in range(classes)])
    labels = torch.repeat_interleave(torch.arange(classes), counts)
    tint = torch.randint(0, 256, (classes, 3, 1, 1), generator=g)  # a colour per class, so there is something to learn
    noise = torch.randint(-60, 61, (len(labels), 3, size, size), generator=g)
    return (tint[labels] + noise).clamp(0, 255).to(torch.uint8), labels, counts


def train(policy_path: str, epochs: int, classes: int = 10, largest: int = 100, imb_ratio: float = 10,
          size: int = 32, batch_size: int = 64, device: str = "cpu", seed: int = 0) -> autoda.ClassStats:
    torch.manual_seed(seed)
    train_images, train_labels, counts = long_tailed_images(classes, largest, imb_ratio, size, seed)
    loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=batch_size, shuffle=True, drop_last=True)
    model = torchvision.models.resnet18(num_classes=classes).to(device)
    head, model.fc = model.fc, torch.nn.Identity()  # model(x) gives the features, head(features) the logits
    optimizer = torch.optim.SGD([*model.parameters(), *head.parameters()], lr=0.01, momentum=0.9, weight_decay=5e-4)
    mean, std = MEAN.to(device), STD.to(device)

    policy = autoda.compile_policy(policy_path, class_counts=counts, seed=seed, device=device)  # autoda
    tracker = autoda.ClassStatsTracker(counts, total_epochs=epochs)                            # autoda
    for epoch in range(epochs):
        model.train()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            images = policy(images, labels)                       # autoda: uint8 in, uint8 out
            features = model((images.float() / 255 - mean) / std)
            logits = head(features)
            loss = F.cross_entropy(logits, labels, reduction="none")
            optimizer.zero_grad()
            loss.mean().backward()
            optimizer.step()
            tracker.update(logits, labels, loss, features)        # autoda: on the device, no sync
        samples, correct, loss_sum = tracker.totals()
        print(f"epoch {epoch}: loss {loss_sum / samples:.3f}, training accuracy {correct / samples:.3f}")
        policy.update_epoch(tracker.end_epoch(head.weight))       # autoda: the next epoch's augmentation
    return tracker.stats


def main(argv: list[str] | None = None) -> autoda.ClassStats:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default="examples/policies/tail_curriculum.dsl", help="a policy file")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--largest", type=int, default=100, help="images of the largest class")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return train(args.policy, args.epochs, largest=args.largest, size=args.size, batch_size=args.batch_size,
                 device=args.device, seed=args.seed)


if __name__ == "__main__":
    main()
