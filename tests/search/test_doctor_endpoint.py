"""`autoda doctor` says where autoda keeps its caches and how big they are, and whether the
configured LLM endpoint answers (exit 1 when it cannot be used)."""
from click.testing import CliRunner

from autoda.cli import cli
from fake_openai import FakeOpenAI


def doctor(tmp_path, monkeypatch, *args: str):
    monkeypatch.setenv("AUTODA_CACHE", str(tmp_path / "cache"))
    for name in ("AUTODA_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner().invoke(cli, ["doctor", *args])


def test_the_cache_folders_are_named_with_their_sizes(tmp_path, monkeypatch):
    checkpoints = tmp_path / "cache" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "a.pt").write_bytes(b"x" * (3 * 2**20))
    (checkpoints / "deeper").mkdir()
    (checkpoints / "deeper" / "b.pt").write_bytes(b"x" * 2**19)
    result = doctor(tmp_path, monkeypatch)
    lines = result.output.splitlines()
    assert any(str(tmp_path / "cache") in line for line in lines)
    [line] = [line for line in lines if line.strip().startswith("checkpoints/")]
    assert "3.5 MiB" in line
    [line] = [line for line in lines if line.strip().startswith("data/")]
    assert "empty" in line
    assert "LLM endpoint: none configured" in result.output


def test_an_endpoint_that_answers_is_said_to_with_the_grammar_it_takes(tmp_path, monkeypatch):
    with FakeOpenAI([], grammar_form="gbnf") as server:
        result = doctor(tmp_path, monkeypatch, "--llm-model", "fake", "--base-url", server.base_url)
    assert f"LLM endpoint: fake at {server.base_url} answers" in result.output
    assert "takes the policy grammar as gbnf" in result.output
    assert server.probes  # it asked


def test_an_endpoint_that_cannot_be_used_fails_the_doctor_with_its_reason(tmp_path, monkeypatch):
    with FakeOpenAI([], refuse_probes=401) as server:
        result = doctor(tmp_path, monkeypatch, "--llm-model", "fake", "--base-url", server.base_url)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith("LLM endpoint:")]
    assert "cannot be used" in line and "401" in line and "Traceback" not in result.output
