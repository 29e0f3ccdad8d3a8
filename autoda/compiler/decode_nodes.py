"""The nodes a decode grammar is written in (decode_grammar builds them, decode_render
writes them as GBNF, EBNF or Lark), and the pieces of the canonical layout and of numbers
that more than one part of the grammar spells."""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Chars:
    ranges: tuple[tuple[str, str], ...]  # inclusive ranges of characters

    def members(self) -> list[str]:
        return [chr(c) for lo, hi in self.ranges for c in range(ord(lo), ord(hi) + 1)]


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    item: Node
    low: int
    high: int | None  # None: no upper bound
    chain: bool = False  # the tails of an operator chain (a + b + ...), shortened at depth (_copy)


Node = Union[Lit, Chars, Ref, Seq, Alt, Rep]


@dataclass(frozen=True)
class DecodeGrammar:
    rules: dict[str, Node]  # in the order written; the first is the start
    start: str
    # rules that are single lexemes (regular: no reference back into the grammar): Lark
    # writes each as one regex terminal, since llguidance lexes a rule's literals one by
    # one, greedily, and would read the "l" of a name as the start of "let"
    lexemes: frozenset[str] = frozenset()


def chars(members: set[str] | str) -> Chars:
    """The character class of exactly ``members``, as ranges."""
    codes = sorted({ord(c) for c in members})
    ranges: list[tuple[str, str]] = []
    for code in codes:
        if ranges and ord(ranges[-1][1]) == code - 1:
            ranges[-1] = (ranges[-1][0], chr(code))
        else:
            ranges.append((chr(code), chr(code)))
    return Chars(tuple(ranges))


def seq(*items: Node) -> Node:
    return items[0] if len(items) == 1 else Seq(tuple(items))


def alt(*items: Node) -> Node:
    return items[0] if len(items) == 1 else Alt(tuple(items))


# --- the canonical layout and numbers ------------------------------------------------------

SPACE, MAYBE_SPACE = Lit(" "), Rep(Lit(" "), 0, 1)
NEWLINE = seq(Lit("\n"), Rep(Lit("\n"), 0, 1))
MAX_DIGITS = 6  # either side of a number's point
MAX_EXPONENT_DIGITS = 2  # 1e-06, as the canonical form writes small numbers
DIGIT = chars(string.digits)


def call(function: str, *arguments: Node) -> Node:
    """``function(a, b, ...)`` in the canonical layout."""
    items: list[Node] = [Lit(function), MAYBE_SPACE, Lit("("), MAYBE_SPACE]
    for i, argument in enumerate(arguments):
        items += [MAYBE_SPACE, Lit(","), MAYBE_SPACE, argument] if i else [argument]
    return seq(*items, MAYBE_SPACE, Lit(")"))


def infix(left: Node, operator: str, right: Node) -> Node:
    return seq(left, MAYBE_SPACE, Lit(operator), MAYBE_SPACE, right)
