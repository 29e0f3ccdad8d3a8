"""Whatever checks must train: a policy at every limit checks, its canonical form checks
again, and it compiles with the standard crop and flip merged in, as training does; one
step over a limit is refused when it is checked (with a position), never later."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import autoda
from autoda.compiler import ast
from autoda.compiler.limits import MAX_DEPTH
from autoda.compiler.source import MAX_NESTING, MAX_SOURCE_BYTES, MAX_TOKENS, count_tokens
from autoda.engine import ClassStats
from autoda.engine.augment.standard import training_policy

STATE = "state s: float in [-1000, 1000] = 0\n"
TAIL = "per sample:\n    cutout(0.2) with probability 0.5\n"


def epoch_policy(*lines: str, states: str = STATE) -> str:
    return "policy p\n" + states + "every epoch:\n" + "".join(f"    {line}\n" for line in lines) + TAIL


def trains(text: str) -> autoda.CheckedPolicy:
    """Check ``text`` as `autoda compile` does, then everything training does with it."""
    checked = autoda.check_policy(text)
    again = autoda.check_policy(checked.canonical)  # as the journal and the workers re-read it
    assert again.hash == checked.hash
    policy = autoda.compile_policy(training_policy(checked), num_classes=3, seed=0)
    policy.update_epoch(ClassStats.initial(torch.tensor([30, 20, 10])))
    policy(torch.zeros(3, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1, 2]))
    return checked


def refused(text: str, code: str) -> autoda.Diagnostic:
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    (first, *_) = caught.value.diagnostics
    assert first.code == code, caught.value.render()
    assert first.line >= 1 and first.column >= 1
    return first


def chain(n: int) -> str:
    return " < ".join(["train_acc"] * (n + 1))


@pytest.mark.parametrize("n", [97, 330, 2000])
def test_long_comparison_chains_check_and_train(n):
    # 97 chained comparisons checked and then failed in training (I004): the canonical form
    # nested each 'and' one level deeper than the source
    trains(epoch_policy(f"s = where({chain(n)}, 1, 0)"))


def terms(n: int) -> str:
    return " + ".join(["0"] * n)  # left-nested: n terms are n levels deep


def test_expression_depth_at_the_limit_trains_and_one_more_level_is_refused():
    trains(epoch_policy(f"let x = {terms(MAX_DEPTH)}"))
    refused(epoch_policy(f"let x = {terms(MAX_DEPTH + 1)}"), "I004")


def test_augmented_assignment_counts_its_written_out_level():
    trains(epoch_policy(f"s -= {terms(MAX_DEPTH - 1)}"))  # s = s - (...): one level more
    refused(epoch_policy(f"s -= {terms(MAX_DEPTH)}"), "I004")


def nested_differences(brackets: int) -> str:
    e = "0 - 0"  # every bracket around it is needed: the formatter keeps them all
    for _ in range(brackets):
        e = f"0 - ({e})"
    return e


def test_bracket_nesting_of_the_canonical_form_is_checked():
    trains(epoch_policy(f"s -= {nested_differences(MAX_NESTING - 1)}"))
    # the source nests 50 deep, within the limit; written out, s = s - (0 - (...)) nests 51
    first = refused(epoch_policy(f"s -= {nested_differences(MAX_NESTING)}"), "I004")
    assert "canonical form" in first.message and first.line == 4


def padded(canonical_tokens: int, increments: int = 100) -> str:
    """``s += 0`` lines (3 tokens; 5 written out as s = s + 0), then lets (4 tokens either
    way, and dead: nothing to run) up to about ``canonical_tokens`` in canonical form."""
    fixed = count_tokens(epoch_policy(*["s = s + 0"] * increments))[0]
    lets = [f"let a{i} = 0" for i in range((canonical_tokens - fixed) // 4)]
    return epoch_policy(*["s += 0"] * increments, *lets)


def test_tokens_of_the_canonical_form_are_checked():
    checked = trains(padded(MAX_TOKENS))
    assert MAX_TOKENS - 4 < count_tokens(checked.canonical)[0] <= MAX_TOKENS
    over = padded(MAX_TOKENS + 100)  # the source fits, 200 tokens shorter; written out it does not
    assert count_tokens(over)[0] <= MAX_TOKENS
    assert "canonical form" in refused(over, "I001").message


def lets(n: int) -> str:
    name = "v" * 40  # written out, each line grows by its indent and the spaces around '='
    return "policy p\nevery epoch:\n" + "".join(f"let {name}{i:05d}=1\n" for i in range(n)) + TAIL


def test_bytes_of_the_canonical_form_are_checked():
    over = max(n for n in range(1500, 2500) if len(lets(n).encode()) <= MAX_SOURCE_BYTES)
    assert "canonical form" in refused(lets(over), "I001").message
    base = len(autoda.check_policy(lets(0)).canonical.encode())
    fits = (MAX_SOURCE_BYTES - base) // 58  # "    let NAME = 1\n" is 58 bytes
    assert len(trains(lets(fits)).canonical.encode()) == base + 58 * fits <= MAX_SOURCE_BYTES


def test_the_standard_stages_merge_into_a_policy_at_the_size_limits():
    # the merged tree is checked as a tree: the extra stages need no room under the limits
    checked = autoda.check_policy(padded(MAX_TOKENS))
    merged = training_policy(checked)
    assert merged.lower().ops[:2] == ("crop", "flip_lr")
    assert count_tokens(merged.canonical)[0] > count_tokens(checked.canonical)[0]


def test_a_tree_is_checked_without_being_read_as_text():
    checked = autoda.check_policy(epoch_policy(f"s = where({chain(3)}, 1, 0)"))
    again = autoda.check_policy(checked.ast)
    assert again.hash == checked.hash


def test_a_too_deep_tree_is_refused_with_a_diagnostic():
    deep: ast.Expr = ast.Num(0)
    for _ in range(5000):  # no text nests this deep; a program that builds trees might
        deep = ast.Unary("-", deep)
    tree = autoda.check_policy(epoch_policy("let x = 0")).ast
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(dataclasses.replace(tree, epoch=(ast.Let("x", deep),)))
    assert caught.value.diagnostics[0].code == "I004"
