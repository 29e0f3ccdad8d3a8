"""Counts and articles in what autoda prints: "1 image" and "2 images", "an edge_enhance"."""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one.

    >>> counted(1, "epoch"), counted(3, "image"), counted(0, "candidate")
    ('1 epoch', '3 images', '0 candidates')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def with_article(word: str) -> str:
    """``word`` with its indefinite article, by its first letter.

    >>> with_article("rotate"), with_article("edge_enhance")
    ('a rotate', 'an edge_enhance')
    """
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def duration(seconds: float) -> str:
    """A time as people say it, to the precision that matters at its size.

    >>> duration(42.4), duration(754), duration(3 * 3600 + 20 * 60), duration(30 * 3600)
    ('42 s', '13 min', '3 h 20 min', '30 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours < 10 and rest else f"{hours} h"
