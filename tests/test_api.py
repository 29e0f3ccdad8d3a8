from pathlib import Path

import pytest

import autoda
from bounded import run_bounded

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


def test_a_policy_path_on_a_device_or_fifo_is_a_diagnostic_not_an_endless_read(tmp_path):
    import os
    os.mkfifo(tmp_path / "policy.dsl")
    code = ("from pathlib import Path\nimport autoda\n"
            f"for path in ('/dev/zero', {str(tmp_path / 'policy.dsl')!r}, {str(tmp_path)!r}):\n"
            "    try:\n        autoda.check_policy(Path(path))\n"
            "    except autoda.PolicyError as error:\n        print(error.diagnostics[0].code, error.diagnostics[0].message)\n")
    result = run_bounded(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [
        "I006 cannot read policy file: it is a character device, not a regular file",
        "I006 cannot read policy file: it is a named pipe (FIFO), not a regular file",
        "I006 cannot read policy file: it is a directory, not a regular file",
    ]


def test_a_policy_file_over_the_limit_is_refused_by_size(tmp_path):
    from autoda.compiler.source import MAX_SOURCE_BYTES
    big = tmp_path / "big.dsl"
    big.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(autoda.PolicyError, match=r"policy file is 100,001 bytes; the limit is 100,000") as error:
        autoda.check_policy(big)
    assert error.value.diagnostics[0].code == "I001"
