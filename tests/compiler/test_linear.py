"""Compiling is linear in the source: every pass visits each node a bounded number of times.

A chained comparison ``0 < e < 1`` names ``e`` twice; were ``e`` a shared child of two
comparisons, every pass would walk it twice per level, and 40 nested
``where(0 < e < 1, 0, 1)`` (a 900-byte policy) would take 2**40 visits. The work is counted
here in node visits, by wrapping each pass's recursive step, against the policy's tokens
(every syntax-tree node needs at least one token of its own); a counter that runs over its
budget stops the pass at once, so a regression fails fast rather than hanging.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import pytest
import torch
from hypothesis import given, settings, strategies as st

from autoda.compiler import ast as ast_module
from autoda.compiler import cost, dump, format as format_module, lower, ranges, typecheck
from autoda.compiler.check import check_policy
from autoda.compiler.source import count_tokens
from autoda.engine import ClassStats
from autoda.engine.augment import epoch
from helpers import parsed

VISITS_PER_TOKEN = 4  # each pass visits a node once or twice; a node costs at least one token

# Each pass's step, called once per node visit (recursion goes through these names).
STEPS = {
    "walk (resolve, cost, limits)": (ast_module, "children"),
    "typecheck": (typecheck._Checker, "expr"),
    "ranges": (ranges._Ranger, "value"),
    "format, canonical, hash": (format_module, "format_expr"),
    "lower": (lower._PlanBuilder, "expr"),
    "dump": (dump, "_lines"),
    "epoch program": (epoch, "_evaluate"),
}


class OverBudget(AssertionError):
    pass


@contextmanager
def counting(budget: int):
    """Count the visits of every pass's step; raise OverBudget past ``budget`` for any one."""
    counts: Counter[str] = Counter()
    saved = []
    for name, (owner, attr) in STEPS.items():
        original = getattr(owner, attr)
        saved.append((owner, attr, original))

        def step(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            if counts[_name] > budget:
                raise OverBudget(f"{_name}: over {budget} visits")
            return _original(*args, **kwargs)

        setattr(owner, attr, step)
    try:
        yield counts
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def compile_everything(text: str) -> None:
    """Every pass over the policy, each once: check (resolve, typecheck, ranges, cost,
    limits), canonical text and hash, lowering, the AST dump, one epoch of the program."""
    checked = check_policy(text)
    checked.canonical, checked.hash
    plan = checked.lower()
    dump.dump_ast(checked.ast)
    state = {"q": torch.zeros(3, 1)}
    epoch.run_epoch_program(plan, state, ClassStats.initial(torch.tensor([30, 20, 10])),
                            torch.Generator().manual_seed(0))


def policy_of(expr: str) -> str:
    return (f"policy p\nstate q: float in [0, 1] = 0\nevery epoch:\n    q = clip({expr}, 0, 1)\n"
            "per sample:\n    cutout(0.2) with probability q\n")


def nested_where(levels: int, leaf: str = "train_acc") -> str:
    e = leaf
    for _ in range(levels):
        e = f"where(0 < {e} < 1, 0, 1)"
    return policy_of(e)


def test_forty_nested_chained_comparisons_compile_in_linear_work():
    text = nested_where(40)
    tokens = count_tokens(text)[0]
    with counting(VISITS_PER_TOKEN * tokens) as counts:
        compile_everything(text)
    assert set(counts) == set(STEPS)  # every pass was counted
    assert max(counts.values()) <= VISITS_PER_TOKEN * tokens


def test_a_chain_computes_its_middle_operand_once():
    plan = check_policy(nested_where(3, "exp(train_acc)")).lower()
    assert [i.op for i in plan.instrs].count("exp") == 1


# --- generated deep programs ------------------------------------------------------------

LEAVES = ("train_acc", "freq", "0.5", "2", "rank")


@st.composite
def number(draw, depth: int) -> str:
    """A number expression nesting ``depth`` constructs, one deep operand each (so the text
    grows linearly with depth), mixing every construct that nests."""
    if depth == 0:
        return draw(st.sampled_from(LEAVES))
    inner = draw(number(depth - 1))
    leaf = draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["where", "cond", "min", "clip", "add", "neg", "mul", "abs"]))
    if kind == "where":
        return f"where({draw(condition(depth - 1))}, {inner}, {leaf})"
    if kind == "cond":
        return f"({inner} if {draw(condition(depth - 1))} else {leaf})"
    return {"min": f"min({inner}, {leaf}, 1)", "clip": f"clip({inner}, 0, 1)", "add": f"({inner} + {leaf})",
            "neg": f"-({inner})", "mul": f"{leaf} * ({inner})", "abs": f"abs({inner})"}[kind]


@st.composite
def condition(draw, depth: int) -> str:
    if depth == 0:
        return "train_acc > 0.5"
    kind = draw(st.sampled_from(["chain", "long_chain", "not", "and"]))
    inner = draw(number(depth - 1))
    if kind == "chain":
        return f"0 < {inner} < 1"
    if kind == "long_chain":
        return f"freq <= {inner} < {inner} != 3"
    if kind == "not":
        return f"not ({draw(condition(depth - 1))})"
    return f"({draw(condition(depth - 1))}) and freq > 0"


@pytest.mark.slow
@settings(max_examples=40)
@given(st.integers(1, 24).flatmap(number))
def test_every_pass_is_linear_on_deep_programs(expr):
    text = policy_of(expr)
    tokens = count_tokens(text)[0]
    with counting(VISITS_PER_TOKEN * tokens) as counts:
        compile_everything(text)
    assert max(counts.values()) <= VISITS_PER_TOKEN * tokens, counts


@pytest.mark.slow
@settings(max_examples=40)
@given(st.integers(1, 24).flatmap(number))
def test_deep_programs_read_back_from_their_canonical_form(expr):
    checked = check_policy(policy_of(expr))
    assert parsed(checked.canonical) == checked.ast
    assert check_policy(checked.canonical).hash == checked.hash


@pytest.mark.parametrize("levels", [10, 20, 40])
def test_the_plan_grows_linearly(levels):
    plan = check_policy(nested_where(levels)).lower()
    assert len(plan.instrs) <= 4 * levels + 8
