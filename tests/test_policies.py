"""autoda.policies: an example's name or a policy file, read as `autoda compile` reads it,
for `autoda experiment` and `autoda search --baseline` alike."""
import pytest

import autoda
from autoda.experiment import Experiment, ExperimentError
from autoda.policies import PolicyNotFound, example_policies, resolve_policy
from autoda.search.run import RunError, baseline_text

LATIN1 = "policy caf\xe9\nper sample:\n    flip_lr\n".encode("latin-1")


def test_examples_by_name_and_files_by_path(tmp_path):
    assert resolve_policy("cuda")[:2] == ("cuda", example_policies()["cuda"])
    (tmp_path / "mine.dsl").write_text("policy mine\nper sample:\n    flip_lr\n")
    label, text, file = resolve_policy("mine.dsl", base=tmp_path)
    assert (label, file) == ("mine", str(tmp_path / "mine.dsl")) and text.startswith("policy mine")
    (tmp_path / "run3").mkdir()
    (tmp_path / "run3" / "best.dsl").write_text("policy b\nper sample:\n    flip_lr\n")
    assert resolve_policy(str(tmp_path / "run3" / "best.dsl"))[0] == "run3"
    with pytest.raises(PolicyNotFound, match="'nope' is neither an example policy"):
        resolve_policy("nope", base=tmp_path)


@pytest.mark.parametrize("content,code", [(LATIN1, "I002"), (b"\x00\x01binary", "I003"), (b"   \n", "I005"),
                                          (b"#" * 100_001, "I001")])
def test_a_file_that_is_not_a_policy_is_a_policy_error_as_autoda_compile_gives(tmp_path, content, code):
    (tmp_path / "p.dsl").write_bytes(content)
    with pytest.raises(autoda.PolicyError) as error:
        resolve_policy("p.dsl", base=tmp_path)
    assert error.value.diagnostics[0].code == code and error.value.diagnostics[0].file == str(tmp_path / "p.dsl")


def test_an_experiment_with_a_latin1_policy_file_names_it_with_i002(tmp_path):
    (tmp_path / "latin.dsl").write_bytes(LATIN1)
    config = tmp_path / "grid.toml"
    config.write_text('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["latin.dsl"]\n')
    with pytest.raises(autoda.PolicyError, match=r"latin.dsl:1:11: error\[I002\]: byte 0xe9 is not valid UTF-8"):
        Experiment.load(config)
    config.write_text('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["missing.dsl"]\n')
    with pytest.raises(ExperimentError, match="policy 'missing.dsl' is neither an example policy"):
        Experiment.load(config)


def test_a_latin1_baseline_is_a_run_error_with_i002(tmp_path):
    (tmp_path / "latin.dsl").write_bytes(LATIN1)
    with pytest.raises(RunError, match=r"--baseline .*latin.dsl:1:11: error\[I002\]"):
        baseline_text(str(tmp_path / "latin.dsl"))
    with pytest.raises(RunError, match="--baseline 'nope' is neither an example policy"):
        baseline_text("nope")
    assert baseline_text("none") == ("none", example_policies()["none"])


# --- the front door: either language, one call --------------------------------------------

DSL = "policy p\nper sample:\n    flip_lr\n"
PYTHON = "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n    pass\n"


def test_the_package_checks_and_compiles_through_the_front_door():
    from autoda import policies

    assert autoda.check_policy is policies.check_policy and autoda.compile_policy is policies.compile_policy


def test_which_language_a_source_is_in():
    from autoda.compiler.source import Source
    from autoda.policies import is_python_policy

    assert is_python_policy(Source(DSL, "p.py")) and not is_python_policy(Source(PYTHON, "p.dsl"))
    assert is_python_policy(Source(PYTHON, "<policy>")) and not is_python_policy(Source(DSL, "<policy>"))


def test_the_compiler_reads_the_policy_language_only():
    from autoda.compiler import check_policy as check_dsl

    with pytest.raises(autoda.PolicyError) as error:
        check_dsl(PYTHON)
    assert error.value.diagnostics[0].code.startswith("S")  # a syntax error of the language, not a P code
    with pytest.raises(ValueError, match="lang must be one of auto, dsl, python"):
        autoda.check_policy(DSL, lang="lua")


def test_checking_a_dsl_policy_loads_neither_the_sandbox_nor_torch():
    import subprocess
    import sys

    code = ("import sys, autoda; autoda.check_policy('policy p\\nper sample:\\n    flip_lr\\n'); "
            "print(sorted(m for m in ('autoda.sandbox', 'autoda.engine', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
