import string

import pytest

from autoda.search.extract import extract_idea, extract_policy, extract_python
from autoda.search.prompts import TaskContext, follow_up, operator_prompt, system_prompt, template

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
                                  "duplicate", "simple"])
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
