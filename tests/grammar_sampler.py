"""A sampler and a recogniser over autoda.compiler.decode_grammar's grammars, for tests.

The sampler draws strings the grammar admits (random alternatives and repetition counts;
past a nesting budget it takes each node's shortest expansion, so every draw ends). The
recogniser says whether the grammar admits a string: every node maps a start position to
the set of positions it can end at, memoised per rule and position (the decode grammar has
no left recursion, so this terminates).
"""
from __future__ import annotations

import functools
import random
import sys

from autoda.compiler.decode_nodes import Alt, Chars, DecodeGrammar, Lit, Ref, Rep, Seq

MAX_EXTRA_REPEATS = 3  # an unbounded repetition draws at most this many beyond its minimum


def shortest(grammar: DecodeGrammar) -> dict[str, int]:
    """Each rule's shortest expansion, in characters (a fixpoint over the rules)."""
    best = {name: sys.maxsize for name in grammar.rules}

    def size(node) -> int:
        if isinstance(node, Lit):
            return len(node.text)
        if isinstance(node, Chars):
            return 1
        if isinstance(node, Ref):
            return best[node.name]
        if isinstance(node, Seq):
            return min(sys.maxsize, sum(size(item) for item in node.items))
        if isinstance(node, Alt):
            return min(size(item) for item in node.items)
        return min(sys.maxsize, node.low * size(node.item))

    changed = True
    while changed:
        changed = False
        for name, body in grammar.rules.items():
            if (n := size(body)) < best[name]:
                best[name], changed = n, True
    return best


_SIZES: dict[int, tuple[DecodeGrammar, dict[str, int], dict[int, int]]] = {}


def _cheapest(grammar: DecodeGrammar):
    """node -> the length of its shortest expansion, memoised per grammar and node."""
    if id(grammar) not in _SIZES:
        _SIZES[id(grammar)] = (grammar, shortest(grammar), {})  # the grammar kept alive: its id stays its own
    _, best, sizes = _SIZES[id(grammar)]

    def size(node) -> int:
        if id(node) not in sizes:
            if isinstance(node, Ref):
                sizes[id(node)] = best[node.name]
            elif isinstance(node, Seq):
                sizes[id(node)] = sum(size(item) for item in node.items)
            elif isinstance(node, Alt):
                sizes[id(node)] = min(size(item) for item in node.items)
            elif isinstance(node, Rep):
                sizes[id(node)] = node.low * size(node.item)
            else:
                sizes[id(node)] = 1 if isinstance(node, Chars) else len(node.text)
        return sizes[id(node)]

    return size


def sample(grammar: DecodeGrammar, rng: random.Random, budget: int = 14) -> str:
    """One string the grammar admits; a rule nested ``depth`` deep takes its shortest
    expansion with probability depth / budget."""
    cheapest = _cheapest(grammar)

    def frugal(depth: int) -> bool:
        """Take the shortest way: more likely the deeper the draw, always past the budget
        (the expected size of a draw stays bounded however much each level repeats)."""
        return depth > budget or rng.random() < depth / budget

    out: list[str] = []

    def walk(node, depth: int) -> None:
        if isinstance(node, Lit):
            out.append(node.text)
        elif isinstance(node, Chars):
            out.append(rng.choice(node.members()))
        elif isinstance(node, Ref):
            walk(grammar.rules[node.name], depth + 1)
        elif isinstance(node, Seq):
            for item in node.items:
                walk(item, depth)
        elif isinstance(node, Alt):
            walk(min(node.items, key=cheapest) if frugal(depth) else rng.choice(node.items), depth)
        else:
            high = node.low + MAX_EXTRA_REPEATS if node.high is None else node.high
            count = node.low if frugal(depth) else rng.randint(node.low, min(high, node.low + MAX_EXTRA_REPEATS))
            for _ in range(count):
                walk(node.item, depth)

    walk(grammar.rules[grammar.start], 0)
    return "".join(out)


def accepts(grammar: DecodeGrammar, text: str) -> bool:
    """Whether the grammar admits the whole of ``text``."""

    @functools.lru_cache(maxsize=None)
    def rule_ends(name: str, start: int) -> frozenset[int]:
        return frozenset(ends(grammar.rules[name], start))

    def ends(node, start: int) -> set[int]:
        if isinstance(node, Lit):
            return {start + len(node.text)} if text.startswith(node.text, start) else set()
        if isinstance(node, Chars):
            return {start + 1} if start < len(text) and any(lo <= text[start] <= hi for lo, hi in node.ranges) else set()
        if isinstance(node, Ref):
            return set(rule_ends(node.name, start))
        if isinstance(node, Seq):
            positions = {start}
            for item in node.items:
                positions = {end for p in positions for end in ends(item, p)}
            return positions
        if isinstance(node, Alt):
            return {end for item in node.items for end in ends(item, start)}
        found = {start} if node.low == 0 else set()
        frontier, count = {start}, 0
        while frontier and (node.high is None or count < node.high):
            frontier = {end for p in frontier for end in ends(node.item, p)}
            count += 1
            if count >= node.low:
                found |= frontier
        return found

    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 20_000))
    try:
        return len(text) in ends(grammar.rules[grammar.start], 0)
    finally:
        sys.setrecursionlimit(previous)
