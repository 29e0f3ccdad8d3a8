"""What a decode grammar's values may be: the kinds of state the declared-names grammar
declares, the names each place in an expression may read, and the families of numbers
whose range the checker's rules bound.

The checker refuses a magnitude that may leave [0, 1], a weight that may go below 0, a
state assigned a value outside its range, an int state given a float, a divisor that can
be 0 and a per-class value reduced over ops (R002, R004, T003, T004): most of what a small
model held to the parser's grammar writes that parses and does not check. Interval
arithmetic is not context-free, but families of expressions closed under the operations
that keep a range are:

- ``expr_unit`` (a magnitude, a probability, uniform's bounds) is in [0, 1]: products of
  numbers in [0, 1], statistics in [0, 1], states in [0, 1] and ``level / N`` (N >= 10),
  ``1 - x``, ``0.a + 0.b * x`` with a + b < 1, clip to bounds in [0, 1], min, max, where,
  powers and conditionals of those;
- ``expr_nonneg`` (a weight) is >= 0: sums and products of numbers >= 0, quotients by
  numbers > 0, and the like;
- ``expr_int`` (what a level state is given) is a whole number;
- ``positive`` (a divisor, log's argument) is > 0.

The declared-names grammar gives each state one of four kinds (``STATE_KINDS``) with a
fixed range, so that the grammar knows what a state may be read as and what it may be
given: the examples' states are all of these kinds.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

from ..class_stats import STATS
from ..ops import OPS
from .decode_nodes import (DIGIT, MAX_DIGITS, MAX_EXPONENT_DIGITS, MAYBE_SPACE, NEWLINE, SPACE, Lit, Node, Ref, Rep,
                           alt, call, chars, infix, seq)

MOST_IN_A_CHAIN = 4  # terms in an operator chain (a + b + ...; the examples have at most three)


@dataclass(frozen=True)
class StateKind:
    letter: str  # in the names of the rules of a scope that has a state of this kind
    declaration: str  # what follows "state s1: " (up to the initial value where that is free)
    assignment: str  # the rule of what the state may be given
    per_op: bool
    roles: tuple[str, ...]  # the name roles (ROLES) a state of this kind is read in


STATE_KINDS = {
    # a strength: fit_gap's and norm_balance's states
    "unit": StateKind("u", "float in [0, 1] = ", "assign_unit", False,
                      ("value_name", "class_value_name", "unit_name", "class_unit_name", "nonneg_name")),
    # a level, as CUDA's: an int in [0, 10], also how many ops a sample draws
    "level": StateKind("l", "int in [0, 10] = 0", "assign_level", False,
                       ("value_name", "class_value_name", "level_name", "nonneg_name")),
    # op weights, as DODA's
    "weight": StateKind("w", "float per op in [1, 1000] = 1", "assign_weight", True,
                        ("value_name", "op_value_name", "nonneg_name", "positive_name")),
    # ops picked, as DODA's
    "picked": StateKind("p", "bool per op = false", "assign_picked", True, ("flag_name",)),
}

# The places a name is read, each a rule of the names it may be: a number of any shape; a
# per-class number (reduced over classes); a per-op number (reduced over ops, sample_one's
# weights); a condition on its own; how many ops a sample draws; a number in [0, 1], and
# one per class; a number >= 0; a number > 0.
ROLES = ("value_name", "class_value_name", "op_value_name", "flag_name", "level_name", "unit_name",
         "class_unit_name", "nonneg_name", "positive_name")
_LETS_READ_AS = ("value_name", "class_value_name", "op_value_name", "flag_name")  # a let's kind is not known


def _stat_roles(name: str) -> set[str]:
    spec = STATS[name]
    roles = {"value_name"}
    if spec.per_class:
        roles.add("class_value_name")
    if spec.lo >= 0:
        roles.add("nonneg_name")
    if spec.lo > 0:
        roles.add("positive_name")
    if spec.lo >= 0 and spec.hi <= 1:
        roles.update({"unit_name", "class_unit_name"} if spec.per_class else {"unit_name"})
    return roles


def role_names(states: tuple[str, ...], lets: list[str], state_names: list[str]) -> dict[str, list[str]]:
    """The names each role reads in a scope: the statistics, ``state_names`` (of kinds
    ``states``) and ``lets``."""
    names: dict[str, list[str]] = {role: [] for role in ROLES}
    for stat in sorted(STATS):
        for role in _stat_roles(stat):
            names[role].append(stat)
    for name, kind in zip(state_names, states):
        for role in STATE_KINDS[kind].roles:
            names[role].append(name)
    for let in lets:
        for role in _LETS_READ_AS:
            names[role].append(let)
    return names


def free_roles(keywords: set[str]) -> dict[str, Node]:
    """Each role as the free grammar has it: any name, or a statistic that is a keyword
    (``epoch``) where that statistic may be read."""
    return {role: alt(*(Lit(s) for s in sorted(STATS) if s in keywords and role in _stat_roles(s)), Ref("ident"))
            for role in ROLES}


def state_declaration(name: Node, kind: str) -> Node:
    """``state <name>: <kind's declaration>``; a unit state's initial value is any number
    in [0, 1]."""
    declaration = STATE_KINDS[kind].declaration
    head, _, tail = declaration.partition(" = ")
    head_items: list[Node] = []
    for i, word in enumerate(head.split(" ")):
        head_items += [SPACE, Lit(word)] if i else [Lit(word)]
    initial = Ref("unit_number") if kind == "unit" else Lit(tail)
    return seq(Lit("state"), SPACE, name, MAYBE_SPACE, Lit(":"), MAYBE_SPACE, *head_items, MAYBE_SPACE, Lit("="),
               MAYBE_SPACE, initial, NEWLINE)


# --- literals ---------------------------------------------------------------------------

def _fraction(low: int = 1) -> Node:
    return Rep(DIGIT, low, MAX_DIGITS)


def _exponent() -> Node:
    return Rep(seq(Lit("e-"), Rep(DIGIT, 1, MAX_EXPONENT_DIGITS)), 0, 1)


def _literals() -> dict[str, Node]:
    nonzero = chars("123456789")
    # a fraction with a digit that is not 0 (0.05, not 0.0): z zeros, then one that is not
    nonzero_fraction = alt(*(seq(*([Lit("0" * z)] if z else []), nonzero,
                                 *([Rep(DIGIT, 0, MAX_DIGITS - 1 - z)] if z < MAX_DIGITS - 1 else []))
                             for z in range(MAX_DIGITS)))
    return {
        "unit_number": alt(seq(Lit("0"), Rep(seq(Lit("."), _fraction()), 0, 1)),
                           seq(Lit("1"), Rep(seq(Lit("."), Rep(Lit("0"), 1, MAX_DIGITS)), 0, 1))),
        "positive_number": alt(seq(nonzero, Rep(DIGIT, 0, MAX_DIGITS - 1), Rep(seq(Lit("."), _fraction()), 0, 1),
                                   _exponent()),
                               seq(Lit("0"), Lit("."), nonzero_fraction, _exponent())),
        "tens_number": seq(nonzero, Rep(DIGIT, 1, MAX_DIGITS - 1), Rep(seq(Lit("."), _fraction()), 0, 1)),  # >= 10
        "whole_number": Rep(DIGIT, 1, 3),
    }


# --- the families -------------------------------------------------------------------------

def _conditional(core: str, family: str) -> Node:
    """``core`` or ``core if condition else <family>``."""
    return seq(Ref(core), Rep(seq(SPACE, Lit("if"), SPACE, Ref("or_expr"), SPACE, Lit("else"), SPACE, Ref(family)),
                              0, 1))


def _chain(first: Node, *tails: Node) -> Node:
    """``first`` then up to MOST_IN_A_CHAIN - 1 of ``tails`` (shortened with depth)."""
    return seq(first, Rep(alt(*tails), 0, MOST_IN_A_CHAIN - 1, chain=True))


def _power(atom: str) -> Node:
    return seq(Ref(atom), Rep(seq(MAYBE_SPACE, Lit("**"), MAYBE_SPACE, Ref("number")), 0, 1))


def _unit_pairs() -> dict[str, Node]:
    """``0.a + 0.b * x`` with x in [0, 1] and a + b < 1 (rank_scaled's magnitude, 0.1 +
    0.4 * rank): a is one digit and b's first digit at most 8 - a, so their sum stays
    below 1. ``unit_pair``, and the second numbers' rules (``unit_pair_b<a>``), which read
    no name, so that a scope's copies share them. The first number is one literal: written
    "0", ".", "4", llguidance's lexer (reading the GBNF, where unit_number becomes one
    terminal) would not follow it past a space."""
    seconds = {f"unit_pair_b{a}": seq(Lit("0."), chars(string.digits[:9 - a]), Rep(DIGIT, 0, MAX_DIGITS - 1))
               for a in range(9)}
    pair = alt(*(seq(Lit(f"0.{a}"), MAYBE_SPACE, Lit("+"), MAYBE_SPACE, Ref(f"unit_pair_b{a}"), MAYBE_SPACE, Lit("*"),
                     MAYBE_SPACE, Ref("unit_product")) for a in range(9)))
    return {"unit_pair": pair, **seconds}


def _reductions(name: str) -> list[Node]:
    return [call(f, Ref(name)) for f in ("mean", "min", "max")]


def value_families() -> dict[str, Node]:
    """The families' rules (see the module's docstring); they read names through ROLES."""
    one_minus = seq(Lit("1"), MAYBE_SPACE, Lit("-"), MAYBE_SPACE, Ref("unit_product"))
    return {
        **_literals(),
        "expr_unit": _conditional("unit_core", "expr_unit"),
        "unit_core": alt(Ref("unit_product"), Ref("unit_pair"), one_minus),
        **_unit_pairs(),
        "unit_product": _chain(Ref("unit_power"), seq(MAYBE_SPACE, Lit("*"), MAYBE_SPACE, Ref("unit_power"))),
        # a level over N >= 10 not raised to a power: `s1 / 30 ** 2` is s1 / 900, `s1 / 74 ** 0.007` past 1
        "unit_power": alt(_power("unit_atom"), infix(Ref("level_name"), "/", Ref("tens_number"))),
        "unit_atom": alt(
            Ref("unit_number"), Ref("unit_name"),
            seq(Lit("("), MAYBE_SPACE, Ref("expr_unit"), MAYBE_SPACE, Lit(")")),
            call("clip", Ref("expr"), Ref("unit_number"), Ref("unit_number")),
            call("min", Ref("expr_unit"), Ref("expr_unit")), call("max", Ref("expr_unit"), Ref("expr_unit")),
            call("where", Ref("or_expr"), Ref("expr_unit"), Ref("expr_unit")), *_reductions("class_unit_name")),
        "expr_nonneg": _conditional("nonneg_core", "expr_nonneg"),
        "nonneg_core": _chain(alt(Ref("nonneg_product"), one_minus),
                              seq(MAYBE_SPACE, Lit("+"), MAYBE_SPACE, Ref("nonneg_product"))),
        "nonneg_product": _chain(Ref("nonneg_power"), seq(MAYBE_SPACE, Lit("*"), MAYBE_SPACE, Ref("nonneg_power")),
                                 seq(MAYBE_SPACE, Lit("/"), MAYBE_SPACE, Ref("positive"))),
        "nonneg_power": _power("nonneg_atom"),
        "nonneg_atom": alt(
            Ref("number"), Ref("nonneg_name"), seq(Lit("("), MAYBE_SPACE, Ref("expr_nonneg"), MAYBE_SPACE, Lit(")")),
            call("clip", Ref("expr"), Ref("number"), Ref("number")), call("abs", Ref("expr")),
            call("sqrt", Ref("positive")), call("max", Ref("expr_nonneg"), Ref("expr")),
            call("min", Ref("expr_nonneg"), Ref("expr_nonneg")),
            call("where", Ref("or_expr"), Ref("expr_nonneg"), Ref("expr_nonneg")), *_reductions("class_unit_name")),
        "positive": alt(Ref("positive_number"), Ref("positive_name"), call("max", Ref("expr"), Ref("positive_number")),
                        call("exp", Ref("expr"))),
        "expr_int": _chain(Ref("int_term"), seq(MAYBE_SPACE, alt(Lit("+"), Lit("-")), MAYBE_SPACE, Ref("int_term"))),
        "int_term": seq(Rep(seq(Lit("-"), MAYBE_SPACE), 0, 1), Ref("int_atom")),
        "int_atom": alt(
            Ref("whole_number"), Ref("level_name"), *(call(f, Ref("expr")) for f in ("round", "floor", "ceil")),
            seq(Lit("("), MAYBE_SPACE, _conditional("expr_int", "expr_int"), MAYBE_SPACE, Lit(")")),
            call("where", Ref("or_expr"), Ref("expr_int"), Ref("expr_int")),
            call("min", Ref("expr_int"), Ref("expr_int")), call("max", Ref("expr_int"), Ref("expr_int"))),
        # what each kind of state is given: within its range by construction
        "assign_unit": Ref("expr_unit"),
        "assign_level": call("clip", Ref("expr_int"), Lit("0"), Lit("10")),
        "assign_weight": call("clip", Ref("expr"), Lit("1"), Lit("1000")),
        "assign_picked": alt(call("sample_one", Ref("op_value_name")), Ref("or_expr")),
    }


# --- how many ops a sample draws, and lists at least that long ------------------------------

def apply_counts() -> dict[int, Node]:
    """Each bound a count can have, with the counts that have it: 1, 2 or 3; ``a +
    round(b * x)`` with x in [0, 1] (a + b); ``round(b * x)`` (b); a level (10). The op
    list after it lists at least that many ops (R002: more ops drawn than listed)."""
    counts: dict[int, list[Node]] = {}
    for a in (1, 2, 3):
        counts.setdefault(a, []).append(Lit(str(a)))
        counts[a].append(call("round", seq(Lit(str(a)), MAYBE_SPACE, Lit("*"), MAYBE_SPACE, Ref("unit_product"))))
        for b in (1, 2, 3):
            rounded = call("round", seq(Lit(str(b)), MAYBE_SPACE, Lit("*"), MAYBE_SPACE, Ref("unit_product")))
            counts.setdefault(a + b, []).append(seq(Lit(str(a)), MAYBE_SPACE, Lit("+"), MAYBE_SPACE, rounded))
    counts[10] = [Ref("level_name")]
    return {bound: alt(*options) for bound, options in sorted(counts.items())}


def _ops_sorted(with_parameter: bool) -> list[str]:
    return sorted((op for op in OPS if (OPS[op].param is not None) == with_parameter), key=lambda o: (-len(o), o))


def op_lists(at_least: int, separator: Node) -> tuple[Node, Node | None]:
    """Op lists of at least ``at_least`` ops: one with an op that takes a magnitude (ops
    without one, then one with, then any), and one of ops without a magnitude only (None
    where there are not that many)."""
    without, total = len(_ops_sorted(False)), len(OPS)
    item = seq(MAYBE_SPACE, Lit(","), separator)

    def repeated(node: Node, low: int, high: int) -> list[Node]:
        return [Rep(node, low, high)] if high else []

    def listed(*items: Node) -> Node:
        return seq(Lit("["), MAYBE_SPACE, *items, MAYBE_SPACE, Lit("]"))

    def options(x: int, exactly: bool) -> Node:
        """x ops without a magnitude first (exactly x, or at least x), then one with, then
        enough of any kind to make at_least."""
        first = repeated(seq(Ref("op_without_magnitude"), item), x, x if exactly else without)
        return seq(*first, Ref("op_with_magnitude"), *repeated(seq(item, Ref("op_name")), max(0, at_least - 1 - x),
                                                               total - 1 - x))

    with_magnitude = listed(alt(*(options(x, x < at_least - 1) for x in range(min(at_least, without + 1)))))
    plain = None if at_least > without else listed(
        Ref("op_without_magnitude"), *repeated(seq(item, Ref("op_without_magnitude")), at_least - 1, without - 1))
    return with_magnitude, plain


def op_names() -> dict[str, Node]:
    return {"op_with_magnitude": alt(*(Lit(op) for op in _ops_sorted(True))),
            "op_without_magnitude": alt(*(Lit(op) for op in _ops_sorted(False)))}
