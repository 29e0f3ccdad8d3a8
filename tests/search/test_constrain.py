"""--constrain: the endpoint is probed once for the grammar form it honours, every answer
then carries the decode grammar in that form, the journal says so, and an endpoint that
ignores or refuses grammars gets unconstrained answers (or, asked for a form it does not
honour, a clear error)."""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.compiler.decode_grammar import decode_grammar
from autoda.compiler.decode_render import render
from autoda.search.completion import read_completion
from autoda.search.constrain import FORMS, TOOL, forms_to_try, request_fields
from autoda.search.llm import LLMClient, LLMSettings, LLMSetupError
from fake_openai import FakeOpenAI, completion
from test_llm_search import GOOD

ASK = [{"role": "user", "content": "write a policy"}]


def client(server: FakeOpenAI, constrain: str) -> LLMClient:
    return LLMClient(LLMSettings("fake", server.base_url, timeout=10, retries=0, constrain=constrain))


def grammar_in(request: dict) -> tuple[str, str] | None:
    """(form, grammar text) of what a request carried."""
    if "grammar" in request:
        return "gbnf", request["grammar"]
    if "structured_outputs" in request:
        return "vllm", request["structured_outputs"]["grammar"]
    if "guided_grammar" in request:
        return "vllm-guided", request["guided_grammar"]
    if request.get("tools"):
        return "openai", request["tools"][0]["custom"]["format"]["grammar"]["definition"]
    return None


@pytest.mark.parametrize("form", [f for forms in FORMS.values() for f in forms])
def test_auto_finds_the_form_the_endpoint_honours_and_sends_the_grammar_in_it(form: str) -> None:
    with FakeOpenAI([GOOD], grammar_form=form) as server:
        llm = client(server, "auto")
        assert form in llm.settle() and llm.form == form
        answer = llm.complete(ASK)
        assert answer.text == GOOD and answer.constrained == form
        tried = list(forms_to_try("auto", server.base_url))
        assert len(server.probes) == tried.index(form) + 1  # one probe per form, up to the one that works
        sent_form, text = grammar_in(server.requests[0])
        assert sent_form == form
        assert text == render(decode_grammar(), "lark" if form == "openai" else "gbnf" if form == "gbnf" else "ebnf")
        if form == "openai":
            assert server.requests[0]["tool_choice"] == {"type": "custom", "custom": {"name": TOOL}}
        llm.complete(ASK)
        assert len(server.probes) == tried.index(form) + 1  # probed once, not per answer


def test_an_endpoint_that_ignores_grammars_gets_unconstrained_requests() -> None:
    with FakeOpenAI([GOOD]) as server:
        llm = client(server, "auto")
        assert "takes no grammar" in llm.settle() and llm.form is None
        answer = llm.complete(ASK)
        assert answer.constrained is None and grammar_in(server.requests[0]) is None
        assert len(server.probes) == len(forms_to_try("auto", server.base_url))


def test_an_explicit_form_the_endpoint_does_not_honour_is_an_error_not_a_silent_fallback() -> None:
    with FakeOpenAI([GOOD], grammar_form="vllm") as server:
        with pytest.raises(LLMSetupError, match="--constrain gbnf: the endpoint did not apply the grammar"):
            client(server, "gbnf").settle()
        assert server.requests == []  # no candidate was asked for
        assert client(server, "vllm").settle()  # the form it does honour


def test_none_sends_no_probe_and_no_grammar() -> None:
    with FakeOpenAI([GOOD], grammar_form="gbnf") as server:
        answer = client(server, "none").complete(ASK)
        assert server.probes == [] and grammar_in(server.requests[0]) is None and answer.constrained is None


def test_openai_hosts_are_probed_with_custom_tools_first() -> None:
    assert forms_to_try("auto", None)[0] == "openai"
    assert forms_to_try("auto", "https://api.openai.com/v1")[0] == "openai"
    assert forms_to_try("auto", "http://127.0.0.1:8080/v1")[0] == "gbnf"
    assert forms_to_try("vllm", None) == ("vllm", "vllm-guided") and forms_to_try("none", None) == ()
    with pytest.raises(ValueError, match="unknown --constrain"):
        forms_to_try("xml", None)
    assert request_fields(None) == {}


def test_a_custom_tool_calls_input_is_the_answer() -> None:
    call = {"id": "c", "type": "custom", "custom": {"name": TOOL, "input": GOOD}}
    body = completion(message={"role": "assistant", "content": None, "tool_calls": [call]})
    assert read_completion(json.dumps(body).encode()).text == GOOD
    function = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = completion(message={"role": "assistant", "content": None, "tool_calls": [function]})
    assert read_completion(json.dumps(body).encode()).text == "{}"
    body = completion(message={"role": "assistant", "content": None, "tool_calls": "garbage"})
    assert read_completion(json.dumps(body).encode()).text == ""


def search_args(server: FakeOpenAI, tmp_path, *more: str) -> list[str]:
    return ["search", "--proposer", "llm", "--llm-model", "fake", "--base-url", server.base_url, "--timeout", "10",
            "--strategy", "simple", "--repair-tries", "0", "--out", str(tmp_path / "run"), "--epochs", "4",
            "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10", "--cache-dir", str(tmp_path / "cache"), *more]


def journaled(tmp_path) -> tuple[list, str | None]:
    with sqlite3.connect(tmp_path / "run" / "journal.sqlite") as db:
        rows = db.execute("SELECT constrained FROM candidates WHERE proposer = 'llm'").fetchall()
        meta = db.execute("SELECT value FROM meta WHERE key = 'constrained'").fetchone()
    return [r[0] for r in rows], meta and json.loads(meta[0])


def test_a_search_says_and_journals_whether_its_answers_were_constrained(tmp_path) -> None:
    with FakeOpenAI([GOOD], grammar_form="gbnf") as server:
        result = CliRunner().invoke(cli, search_args(server, tmp_path))
    assert result.exit_code == 0, result.output
    assert "constrained decoding: the endpoint takes the policy grammar as gbnf" in result.stderr
    assert journaled(tmp_path) == (["gbnf"], "gbnf")
    assert "grammar" in server.requests[0]


def test_a_search_with_constrain_none_journals_unconstrained_answers(tmp_path) -> None:
    with FakeOpenAI([GOOD], grammar_form="gbnf") as server:
        result = CliRunner().invoke(cli, search_args(server, tmp_path, "--constrain", "none"))
    assert result.exit_code == 0, result.output
    assert journaled(tmp_path) == ([None], "none") and server.probes == []


def test_an_endpoint_that_refuses_every_request_stops_the_search_before_any_candidate(tmp_path) -> None:
    with FakeOpenAI([], grammar_form="gbnf", refuse_probes=404) as server:
        result = CliRunner().invoke(cli, search_args(server, tmp_path))
    assert result.exit_code == 1
    assert "the LLM endpoint cannot be used" in result.stderr and "404" in result.stderr
    assert "Traceback" not in result.output and server.requests == []


def test_an_endpoint_that_refuses_grammar_fields_but_answers_plain_requests_is_unconstrained() -> None:
    with FakeOpenAI([GOOD], refuse_probes=400, plain_probes_pass=True) as server:
        llm = client(server, "auto")
        assert "takes no grammar" in llm.settle()
        assert llm.complete(ASK).text == GOOD


def test_python_policies_are_never_constrained(tmp_path) -> None:
    with FakeOpenAI([]) as server:
        result = CliRunner().invoke(cli, search_args(server, tmp_path, "--policy-lang", "python", "--constrain", "gbnf"))
    assert result.exit_code == 2 and "Python policies (--policy-lang python) are not constrained" in result.stderr


def test_the_header_names_the_model_and_endpoint_and_each_failed_answer_says_why(tmp_path) -> None:
    broken = "```\npolicy broken\nper sample:\n    rotat with probability 0.5\n```"
    with FakeOpenAI([broken, "no policy here, just prose", GOOD], grammar_form=None) as server:
        result = CliRunner().invoke(cli, search_args(server, tmp_path, "--constrain", "none", "--repair-tries", "2"))
    assert result.exit_code == 0, result.output
    assert f"llm proposer (fake at {server.base_url})" in result.stderr
    failed = [line for line in result.stderr.splitlines() if "of slot 0.0 failed" in line]
    assert len(failed) == 2, result.stderr
    assert "failed: compile (" in failed[0] and "[N" in failed[0] and "rotat" in failed[0]
    assert "failed: empty (no policy in the answer)" in failed[1]


def test_a_constrained_search_initialises_from_an_example(tmp_path) -> None:
    with FakeOpenAI([GOOD], grammar_form="gbnf") as server:
        args = search_args(server, tmp_path, "--strategy", "evolve", "--population", "1", "--generations", "0")
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    asked = server.requests[0]["messages"][-1]["content"]
    assert "Here is a hand-designed one" in asked and "```policy\npolicy " in asked
