"""Python policies: the static checks (P001-P004), the trial run (P005), the hash, the
language switch, the worker's limits, and the CLI's answers."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autoda
from autoda.compiler import PolicyError
from autoda.compiler.source import Source
from autoda.sandbox import SandboxClient, SandboxLimits, check_python_source

ROOT = Path(__file__).parents[2]
DODA = (ROOT / "examples/policies/paper_doda.py").read_text()
SIGNATURE = "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"
KEEP = SIGNATURE + "    return lats_chose_matix, lats_chose_exts\n"


def codes(text: str) -> set[str]:
    with pytest.raises(PolicyError) as error:
        autoda.check_policy(text, lang="python")
    return {d.code for d in error.value.diagnostics}


@pytest.mark.parametrize("text,code", [
    ("import numpy as np\n", "P002"),  # no function
    ("def get_aug_type(a, b, c):\n    return a, b\n", "P002"),  # the wrong parameters
    ("def get_aug_type(*args):\n    return args\n", "P002"),
    ("OPS = ['rotate', 'rotat']\n" + KEEP, "P003"),
    ("OPS = ['rotate', 'rotate']\n" + KEEP, "P003"),
    ("OPS = []\n" + KEEP, "P003"),
    ("OPS = sorted(['rotate'])\n" + KEEP, "P003"),  # not a literal
    ("AUG_PROB = 1.5\n" + KEEP, "P003"),
    ("def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch)\n", "P001"),
    # syntax that parses and fails only in Python's compiler: was X001, "internal compiler error"
    ("return 1\n" + KEEP, "P001"),
    (SIGNATURE.replace("History_ACCs", "ACCs") + "    return ACCs, ACCs\n", "P001"),
    (SIGNATURE + "    break\n", "P001"),
    ("import pickle\n" + KEEP, "P004"),
    (SIGNATURE + "    return None\n", "P005"),  # a bad result, found by the trial run
    (SIGNATURE + "    return lats_chose_matix, lats_chose_exts + 3\n", "P005"),
])
def test_bad_python_policies_get_their_code(text, code):
    assert code in codes(text)


def test_a_trial_failure_names_its_kind_and_message():
    with pytest.raises(PolicyError) as error:
        autoda.check_policy(SIGNATURE + "    return 7\n", lang="python")
    message = error.value.diagnostics[0].message
    assert "trial run failed (bad_result)" in message and "get_aug_type must return" in message


def test_constants_are_read_without_running_anything():
    policy = check_python_source(Source("NAME = 'mine'\nOPS = ['rotate', 'invert']\nAUG_PROB = 0\n" + KEEP, "x.py"))
    assert (policy.name, policy.ops, policy.aug_prob) == ("mine", ("rotate", "invert"), 0.0)
    assert check_python_source(Source(KEEP, "x.py")).ops == autoda.check_policy(ROOT / "examples/policies/doda.dsl").lower().ops


def test_the_hash_ignores_comments_and_spacing_but_not_code():
    base = autoda.check_policy(DODA, lang="python")
    spaced = DODA.replace("\n\n\ndef", "\n# a comment\n\n\n\ndef").replace("num_class, num_aug =", "num_class,num_aug=")
    assert autoda.check_policy(spaced, lang="python").hash == base.hash
    changed = DODA.replace("+ 1, 1000", "+ 2, 1000")
    assert autoda.check_policy(changed, lang="python").hash != base.hash
    assert base.canonical == DODA  # the journal keeps the source itself


def test_auto_detects_python_by_suffix_or_definition_and_dsl_stays_dsl():
    assert autoda.check_policy(ROOT / "examples/policies/paper_doda.py").python is not None
    assert autoda.check_policy(DODA).python is not None
    assert autoda.check_policy(ROOT / "examples/policies/doda.dsl").python is None
    with pytest.raises(PolicyError) as error:  # read as the language, Python is a syntax error
        autoda.check_policy(DODA, lang="dsl")
    assert all(d.code.startswith("S") for d in error.value.diagnostics)


def test_the_worker_runs_under_its_limits():
    client = SandboxClient(SandboxLimits(memory_mb=300))
    client._start()
    try:
        limits = Path(f"/proc/{client.pid}/limits")
        if not limits.exists():
            pytest.skip("no /proc on this platform to read a process's limits from")
        rows = {line[:26].strip(): line[26:].split() for line in limits.read_text().splitlines()[1:]}
        assert rows["Max file size"][0] == "0"
        assert rows["Max open files"][0] == "16"
        assert rows["Max address space"][0] != "unlimited"
        assert rows["Max processes"][0] == "0"
        import os
        assert os.getpgid(client.pid) == client.pid != os.getpgid(0)  # a session of its own
    finally:
        client.close()


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autoda", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_cli_compiles_python_policies_and_reports_bad_ones(tmp_path):
    ok = run_cli("compile", "examples/policies/paper_doda.py", "examples/policies/paper_cuda.py")
    assert ok.returncode == 0 and "get_aug_type, sandboxed" in ok.stdout
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n" + KEEP)
    result = run_cli("compile", str(bad))
    assert result.returncode == 1 and "error[P004]: import of 'os' is not allowed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_train_stops_with_one_line_when_the_function_fails_mid_run(tmp_path):
    late = tmp_path / "late.py"
    late.write_text(SIGNATURE + "    if epoch >= 2:\n        return 1 / 0\n"
                                "    return lats_chose_matix, lats_chose_exts\n")
    result = run_cli("train", "--epochs", "4", "--policy", str(late), "--cache-dir", str(tmp_path))
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("error: the policy failed at run time: get_aug_type failed after epoch 2 (exception): "
                    "ZeroDivisionError: division by zero")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_doctor_lists_every_isolation_layer_and_says_whether_python_policies_run():
    from autoda.doctor import LAYER_NAMES, sandbox_layers
    from autoda.sandbox.isolation import missing_cuts

    result = run_cli("doctor")
    missing = missing_cuts(sandbox_layers())
    assert result.returncode == (1 if missing else 0), result.stdout + result.stderr
    for label in LAYER_NAMES.values():
        assert f" {label} " in result.stdout
    assert ("Python policies: run here" in result.stdout) == (not missing)


def test_cli_compile_names_the_layers_and_takes_the_weak_sandbox_flag():
    result = run_cli("compile", "--allow-weak-sandbox", "examples/policies/paper_doda.py")
    assert result.returncode == 0, result.stderr
    assert "isolated by environment" in result.stdout


@pytest.mark.slow
def test_cli_search_in_python_needs_an_llm(tmp_path):
    result = run_cli("search", "--policy-lang", "python", "--proposer", "offline", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "--policy-lang python needs an LLM" in result.stderr


def test_what_the_guards_keep_open_still_works():
    """The numpy surface a strategy function needs survives the audit: isinstance checks,
    np.empty (as zeros), dtypes by name, unique with counts, text arrays, where= with out=
    (and in reductions), indexing."""
    from autoda.sandbox import PythonStep
    from autoda.sandbox.policy import initial_state

    body = ("    import numpy as np\n"
            "    assert isinstance(aug_weight, np.ndarray) and not isinstance(epoch, np.ndarray)\n"
            "    blank = np.empty(aug_weight.shape)\n"
            "    assert (blank == 0).all()\n"
            "    counts = np.unique(np.array([1, 1, 2]), return_counts=True)[1]\n"
            "    names = np.array(['rotate', 'invert'])\n"
            "    chose = np.zeros(aug_weight.shape, dtype='bool')\n"
            "    chose[:, 0] = counts[0] == 2 and names[0] == 'rotate'\n"
            "    half = np.sqrt(np.full(aug_weight.shape, 0.0625), out=np.zeros(aug_weight.shape), where=True)\n"
            "    np.minimum(half, 1, out=half, where=ACCs[:, None] >= 0)\n"
            "    assert np.sum(ACCs, where=ACCs > 0) == ACCs.sum() and aug_weight[0, 0] == 1\n"
            "    return chose, half.astype(np.float32)\n")
    step = PythonStep(check_python_source(Source(SIGNATURE + body, "ok.py")), opening=False)
    try:
        result = step(initial_state(3, 10), np.full(3, 0.5), 1, seed=0, correct=np.full(3, 5))
    finally:
        step.close()
    assert result["chose"][:, 0].all() and not result["chose"][:, 1:].any()
    assert np.allclose(result["ext"], 0.25)
