import string

import pytest

from autoda.search.extract import extract_idea, extract_policy, extract_python
from autoda.search.prompting import TaskContext, follow_up, operator_prompt, system_prompt, template

POLICY = 'policy p "flips"\nper sample:\n    flip_lr\n'


@pytest.mark.parametrize("answer", [
    POLICY,
    "Sure.\n\n```\n" + POLICY + "```\nDone.",
    "```dsl\n" + POLICY + "```",
    "IDEA: x\n```python\n" + POLICY + "```\n```\nother\n```",
    "Here is a policy:\n" + POLICY,
    "```policy\n" + POLICY,  # an unclosed fence
])
def test_policy_text_comes_out_of_any_wrapping(answer):
    assert extract_policy(answer) == POLICY


@pytest.mark.parametrize("answer", ["", "I cannot help with that.", "```python\nimport torch\n```", '{"policy": 1}'])
def test_answers_without_a_policy(answer):
    assert extract_policy(answer) is None


def test_the_idea_line_or_else_the_description():
    assert extract_idea("**IDEA:** boost the tail\n" + POLICY) == "boost the tail"
    assert extract_idea("- idea - calmer rotations", None) == "calmer rotations"
    assert extract_idea("no idea line\n" + POLICY, POLICY) == "flips"
    assert extract_idea("nothing", None) is None


@pytest.mark.parametrize("name", ["system", "task", "initialise", "crossover", "mutate", "repair", "missing",
                                  "duplicate", "simple", "answer", "declared"])
def test_every_template_file_exists_and_names_its_placeholders(name):
    placeholders = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template(name).template)
                    if m.group("named") or m.group("braced")}
    expected = {"system": {"task", "reference"}, "task": {"dataset", "model", "method", "e_ckp", "n_ft"},
                "crossover": {"parents"}, "mutate": {"parent"}, "repair": {"diagnostics"}}.get(name, set())
    assert placeholders == expected


def test_rendered_prompts_have_no_placeholders_left():
    text = system_prompt(TaskContext("d", "m", "ce", 5, 2)) + operator_prompt("initialise", []) + follow_up("repair", "E")
    for name in ("task", "reference", "dataset", "model", "method", "e_ckp", "n_ft", "diagnostics"):
        assert f"${name}" not in text
    assert "policy tail_curriculum" in text  # the language reference's example came along


@pytest.mark.parametrize("operator", ["initialise", "crossover", "mutate", "simple"])
def test_every_operator_prompt_ends_with_the_answers_format_in_its_language(operator):
    from autoda.search.journal import Candidate

    parent = Candidate(1, 0, 0, 0, "initialise", [], "llm", "evaluated", POLICY, "h", "p", "flips", 0.4, {}, None,
                       None, 0, 0, None, None, None, None)
    dsl = operator_prompt(operator, [parent, parent])
    assert dsl.endswith("in one ```policy\nblock. Give the policy a new name.")
    python = operator_prompt(operator, [parent, parent], "python")
    assert python.endswith("defining `get_aug_type` in one\n```python block.") and "```policy" not in python


def test_a_constrained_answer_is_asked_for_with_the_grammars_names_and_shown_its_parents_in_them():
    from autoda.policies import example_policies
    from autoda.search.journal import Candidate
    from grammar_sampler import accepts
    from autoda.compiler.decode_grammar import decode_grammar

    doda = example_policies()["doda"]  # states w and picked, a let change
    parent = Candidate(1, 0, 0, 0, "initialise", [], "llm", "evaluated", doda, "h", "doda", "x", 0.4, {}, None,
                       None, 0, 0, None, None, None, None)
    held = operator_prompt("mutate", [parent], declared=True)
    shown = held.split("```policy\n", 1)[1].split("```", 1)[0]
    assert "state s1: float per op" in shown and "state s2: bool per op" in shown and "let v1 = " in shown
    assert "state w" not in shown and accepts(decode_grammar(answer=False), shown)
    assert "Name the states s1, s2 " in held and held.index("Give the policy a new name") < held.index("s1, s2")
    free = operator_prompt("mutate", [parent])
    assert "state w: float per op" in free and "s1" not in free


PY_FUNCTION = ("import numpy as np\n\ndef get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, "
               "lats_chose_exts, epoch):\n    return lats_chose_matix, lats_chose_exts\n")


@pytest.mark.parametrize("answer", [
    "IDEA: keep\n```python\n" + PY_FUNCTION + "```\nThat is all.",
    "Some prose first.\n```\n" + PY_FUNCTION + "```",
    "IDEA: bare\n" + PY_FUNCTION,
    "```python\nprint('a helper block')\n```\n```python\n" + PY_FUNCTION + "```",  # the block that defines it
])
def test_python_answers_give_the_module_that_defines_get_aug_type(answer):
    assert extract_python(answer) == PY_FUNCTION


def test_python_answers_without_the_function_give_none():
    assert extract_python("```python\ndef helper(x):\n    return x\n```") is None
    assert extract_python("policy p\nper sample:\n    identity\n") is None


MB2 = 2_000_000
ADVERSARIAL = {
    "newlines": "\n" * MB2,
    "whitespace": " \t\n\r\x0b\x0c" * (MB2 // 6),
    "fences": "```" * (MB2 // 3),
    "fence lines": "```\n" * (MB2 // 4),
    "an opening fence and a long line": "```" + "a" * MB2,
    "an unclosed fence of blank lines": "```policy\n" + "\n" * MB2,
    "policy words": "policy " * (MB2 // 7),
    "policy lines": "policy\n" * (MB2 // 7),
    "indented near misses": (" " * 60 + "polic y\n") * (MB2 // 68),
    "idea near misses": "- * # > idea" * (MB2 // 12),
    "idea lines": "IDEA\n" * (MB2 // 5),
    "markers": "- " * (MB2 // 2),
    "def lines": "def\n" * (MB2 // 4),
    "def and spaces": "def" + " " * MB2,
    "capitals": "A" * MB2,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_extraction_is_linear_on_megabytes_of_adversarial_answers(name):
    """Each of these took minutes or more with `^\\s*` patterns (quadratic: 40,000 newlines
    took 44 s); linear, each is a fraction of a second."""
    import time

    answer = ADVERSARIAL[name]
    started = time.monotonic()
    extract_policy(answer)
    extract_python(answer)
    extract_idea(answer, "policy p" + " " * MB2)
    assert time.monotonic() - started < 5


def test_a_policy_after_megabytes_of_whitespace_is_still_found():
    assert extract_policy("\n" * MB2 + POLICY) == POLICY
    assert extract_idea(" \n" * 100_000 + "IDEA: late\n" + POLICY) == "late"


def test_a_constrained_initialise_starts_from_an_example_in_the_grammars_names():
    from autoda.policies import NOT_SEEDS, example_policies
    from autoda.search.prompting import initialise_example

    drawn = {initialise_example(seed) for seed in range(40)}
    examples = {name: text for name, text in example_policies().items() if name not in ("none", *NOT_SEEDS)}
    assert drawn == set(examples.values())  # every hand-designed example the search grows from, never `none`
    held = operator_prompt("initialise", [], declared=True, example=examples["doda"])
    shown = held.split("```policy\n", 1)[1].split("```", 1)[0]
    assert "state s1: float per op" in shown and "state w" not in shown  # the grammar's names
    assert "Write a different policy" in held and "Name the states s1, s2 " in held
    assert "hand-designed" not in operator_prompt("initialise", [])  # unconstrained: from nothing, as before
