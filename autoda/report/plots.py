"""The report's figures, as PNG bytes (matplotlib, no display needed)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import BoundaryNorm  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..secrets import printable, redact  # noqa: E402

FIGSIZE = (7.5, 3.6)


def _label(text: object) -> str:
    """A label as written: controls escaped, and no '$' starting matplotlib's math mode (an
    unbalanced one makes it raise)."""
    return printable(redact(str(text))).replace("$", r"\$")


def _png(fig) -> bytes:
    """The figure as a 256-colour PNG: the report embeds every figure, and a palette PNG is
    about 40% of the size of matplotlib's RGBA one, with nothing a reader can tell apart
    (a verdict's page with 26 figures went from 2.3 MB to under 1 MB)."""
    from PIL import Image  # matplotlib's own dependency

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    buffer.seek(0)
    palette = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True)
    return out.getvalue()


def _whole_numbers(axis) -> None:
    """Ticks on whole numbers only: an axis of epochs, generations or evaluations has no 2.5."""
    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def fitness_over_search(points: list[tuple[int, int, float]], references: dict[str, float]) -> bytes:
    return _png(fitness_figure(points, references))


def fitness_figure(points: list[tuple[int, int, float]], references: dict[str, float]):
    """points: (evaluation order, generation, fitness); the best so far as a step line. Each
    generation is one colour of a stepped colour bar, so a point's generation can be read off."""
    fig, ax = plt.subplots(figsize=FIGSIZE)
    if points:
        order, generation, fitness = zip(*points)
        first, last = min(generation), max(generation)
        colours = plt.get_cmap("viridis", last - first + 1)  # one colour per generation
        norm = BoundaryNorm([g - 0.5 for g in range(first, last + 2)], colours.N)
        scatter = ax.scatter(order, [100 * f for f in fitness], c=generation, cmap=colours, norm=norm, s=28, zorder=3)
        bar = fig.colorbar(scatter, ax=ax, label="generation")
        _whole_numbers(bar.ax.yaxis)
        best, line = -1.0, []
        for f in fitness:
            best = max(best, f)
            line.append(100 * best)
        ax.step(order, line, where="post", color="black", linewidth=1.2, label="best so far")
    for i, (name, value) in enumerate(sorted(references.items(), key=lambda item: str(item[0]))):
        ax.axhline(100 * value, linestyle="--", linewidth=1, color=f"C{i + 1}", label=_label(f"{name} (reference)"))
    ax.set_xlabel("evaluation")
    _whole_numbers(ax.xaxis)
    ax.set_ylabel("fitness: balanced val. accuracy (%)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def accuracy_by_frequency(counts: list[int], series: dict[str, list[float | None]], split: str) -> bytes:
    """Per-class accuracy against the class's training images, one series per policy."""
    fig, ax = plt.subplots(figsize=FIGSIZE)
    for i, (label, accuracy) in enumerate(series.items()):
        pairs = sorted((n, 100 * a) for n, a in zip(counts, accuracy) if a is not None)
        if pairs:
            ax.plot(*zip(*pairs), marker="o", markersize=4, linewidth=1, color=f"C{i}", label=_label(label))
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _png(fig)


def op_heatmaps(ops: list[str], frequency, magnitude, title: str) -> bytes:
    return _png(op_heatmaps_figure(ops, frequency, magnitude, title))


def op_heatmaps_figure(ops: list[str], frequency, magnitude, title: str):
    """Each op's selection frequency and mean magnitude over epochs (the paper's Figure 9)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.32 * len(ops) + 1.6), sharey=True)
    for ax, values, label, cmap in ((axes[0], frequency, "share of samples applying the op", "Blues"),
                                    (axes[1], magnitude, "mean magnitude when applied", "Oranges")):
        image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xlabel("epoch")
        _whole_numbers(ax.xaxis)
        ax.set_title(label, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    axes[0].set_yticks(range(len(ops)), ops, fontsize=8)
    fig.suptitle(_label(title), fontsize=10)
    return fig
