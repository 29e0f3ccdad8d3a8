from pathlib import Path

import pytest

import autoda

CUDA = Path(__file__).parents[1] / "examples" / "policies" / "cuda.dsl"


@pytest.mark.parametrize("source", [CUDA, str(CUDA), CUDA.read_text(), CUDA.read_bytes()])
def test_check_policy_takes_a_path_text_or_bytes(source):
    checked = autoda.check_policy(source)
    assert isinstance(checked, autoda.CheckedPolicy) and checked.name == "cuda"


def test_importing_autoda_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, autoda; autoda.check_policy('policy p\\nper sample:\\n    flip_lr\\n'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # `autoda compile` stays fast
