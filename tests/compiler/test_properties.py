"""Properties of the front end over random programs, random text and mutated examples."""
import random
import re
from pathlib import Path

from hypothesis import given, strategies as st

import autoda
from autoda.compiler import canonical_hash, format_policy
from autoda.compiler.parser import parse
from autoda.compiler.source import read_source
from strategies import policies, policies_with_sub_policies

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "policies").glob("*.dsl"))


def reparse(text: str):
    return parse(read_source(text))


def compile_or_policy_error(source) -> None:
    """The contract: a checked program, or PolicyError that is not the compiler's own fault."""
    try:
        autoda.check_policy(source)
    except autoda.PolicyError as error:
        assert error.diagnostics, "a PolicyError lists its faults"
        assert all(d.code != "X001" for d in error.diagnostics), error.render()


@given(policies())
def test_format_then_parse_gives_the_same_tree(policy):
    assert reparse(format_policy(policy)) == policy


@given(policies_with_sub_policies())
def test_format_then_parse_gives_the_same_tree_with_sub_policies(policy):
    assert reparse(format_policy(policy)) == policy
    plan = autoda.check_policy(format_policy(policy)).lower()  # lowers, and the plan verifies
    assert sum(s.choice is not None for s in plan.stages) == sum(len(s.terms) for s in policy.stages
                                                                 if hasattr(s, "terms"))


@given(policies())
def test_random_well_typed_policies_check_and_lower(policy):
    checked = autoda.check_policy(format_policy(policy))
    plan = checked.lower()
    for index, instr in enumerate(plan.instrs):  # straight-line: operands come first
        assert all(arg < index for arg in instr.args)


@given(policies())
def test_canonical_form_is_idempotent(policy):
    once = autoda.check_policy(format_policy(policy)).canonical
    assert autoda.check_policy(once).canonical == once


def _respace(text: str, rng: random.Random) -> str:
    """The same policy with other spacing, indentation, blank lines and comments."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            out.append("")
            continue
        body = re.sub(r" ([-+*/%<>=,]=?|\*\*) ", lambda m: " " * rng.randint(1, 3) + m.group(1) + " " * rng.randint(1, 3), line.strip())
        body = body.replace("(", "( " if rng.random() < 0.5 else "(")
        indent = "\t" * rng.randint(0, 2) + " " * rng.randint(0, 3)
        comment = "   # " + "note" * rng.randint(0, 2) if rng.random() < 0.5 else ""
        if '"' in body:  # keep the header's description intact; comment after it
            indent = ""
        out.append(indent + body + comment)
        if rng.random() < 0.3:
            out.append(rng.choice(["", "# a comment line", "   "]))
    return "\n".join(out) + "\n"


@given(policies(), st.randoms(use_true_random=False), st.sampled_from(["other", "renamed"]))
def test_hash_ignores_whitespace_comments_and_name(policy, rng, name):
    text = format_policy(policy)
    respaced = _respace(text, rng).replace(f"policy {policy.name}", f"policy {name}", 1)
    assert autoda.check_policy(respaced).hash == canonical_hash(policy)


def test_hash_changes_with_behaviour():
    a = autoda.check_policy("policy p\nper sample:\n    cutout(0.25)\n")
    b = autoda.check_policy("policy p\nper sample:\n    cutout(0.5)\n")
    assert a.hash != b.hash


@given(st.text(max_size=400))
def test_random_text_gives_only_policy_errors(text):
    compile_or_policy_error(text)


@given(st.binary(max_size=400))
def test_random_bytes_give_only_policy_errors(data):
    compile_or_policy_error(data)


@given(st.sampled_from(EXAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255),
                                                     st.sampled_from(["insert", "delete", "replace"])),
                                           min_size=1, max_size=8))
def test_byte_mutations_of_examples_give_only_policy_errors(path, edits):
    data = bytearray(path.read_bytes())
    for position, byte, kind in edits:
        at = position % (len(data) + 1)
        if kind == "insert":
            data.insert(at, byte)
        elif kind == "delete" and at < len(data):
            del data[at]
        elif at < len(data):
            data[at] = byte
    compile_or_policy_error(bytes(data))


_TOKENS = ["policy", "p", "state", "x", ":", "int", "float", "bool", "per", "op", "in", "[", "]", ",",
           "=", "0", "1", "0.5", "-", "every", "epoch", "sample", "let", "apply", "one", "of", "rotate",
           "magnitude", "weight", "probability", "with", "(", ")", "if", "else", "and", "or", "not",
           "+", "*", "/", "**", "<", "==", "true", "clip", "where", "uniform", "sample_one",
           "train_acc", "\n", "\n    ", " "]


@given(st.lists(st.sampled_from(_TOKENS), max_size=60))
def test_random_token_soup_gives_only_policy_errors(tokens):
    compile_or_policy_error(" ".join(tokens))
