"""What a search will cost on a CPU, said before it starts: its planned training epochs
(the checkpoint's, unless cached, and every planned fine-tune's) at the images per second
a quick probe of the network measures here.

A GPU is not probed: its first steps measure start-up, not speed, and its runs are short.
"""
from __future__ import annotations

import torch

from ..engine.train.probe import training_throughput
from ..words import counted, duration
from .config import RunConfig

# No CPU trains faster than this: work that would take under WORTH_SAYING even at this pace
# is not worth the probe's second (the default search on the synthetic set is such work).
FAST_IMAGES_PER_SECOND = 5000
WORTH_SAYING = 120  # seconds
LONG = 2 * 3600  # seconds: a search this long gets pointed at the preset sized for a CPU


def search_estimate(config: RunConfig, train_images: int, num_classes: int, image_size: int,
                    checkpoint_cached: bool) -> str | None:
    """One line of the estimated cost, or None on a GPU or for short work."""
    t = config.training
    if torch.device(t.device).type != "cpu":
        return None
    epochs = config.search.planned_epochs(t.n_ft, t.epochs) + (0 if checkpoint_cached else t.e_ckp)
    images = epochs * train_images
    if images / FAST_IMAGES_PER_SECOND < WORTH_SAYING:
        return None
    rate = training_throughput(t.net, num_classes, image_size, t.batch_size, t.device)
    seconds = images / rate
    line = (f"estimated: about {duration(seconds)} on this CPU for {counted(epochs, 'training epoch')} of "
            f"{train_images:,} images at {rate:,.0f} images/s (a probe of {t.net}"
            f"{'' if checkpoint_cached else f', the checkpoint included'})")
    max_time = config.search.max_time
    if max_time is not None and max_time < seconds:
        line += f"; --max-time stops it after {duration(max_time)}"
    elif max_time is None and seconds > LONG:
        line += ("; --max-time bounds it, and --preset cifar10-lt-small is sized for a CPU "
                 "(docs/benchmarks.md)")
    return line
