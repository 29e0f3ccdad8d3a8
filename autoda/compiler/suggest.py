"""Did-you-mean hints: the nearest known word to a misspelt one."""
from __future__ import annotations

import difflib
from typing import Iterable


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word``, or None when nothing is close.

    >>> nearest("rotat", ["rotate", "invert"])
    'rotate'
    >>> nearest("True", ["true", "false"])
    'true'
    >>> nearest("zzz", ["rotate"]) is None
    True
    """
    pool = sorted(set(candidates))
    for candidate in pool:
        if candidate.lower() == word.lower():
            return candidate
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    found = nearest(word, candidates)
    return f"did you mean {found!r}?" if found else None
