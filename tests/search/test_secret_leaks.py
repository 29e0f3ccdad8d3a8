"""The API key never reaches a prompt, the journal, the run folder, an error message or the
terminal, even from a server that echoes it back in every form it can."""
import base64
import json

import pytest
from click.testing import CliRunner

from autoda import secrets
from autoda.cli import cli
from autoda.search.llm import LLMClient, LLMError, LLMSettings
from fake_openai import FakeOpenAI
from test_llm_search import GOOD

KEY = "sk-leaky-0123456789abcdefABCDEF0123"
FORMS = [KEY, KEY[4:20], KEY[::-1], base64.b64encode(KEY.encode()).decode()[:16], KEY.encode().hex()[:16]]


def echo(request) -> str:
    """An answer built from the key the server was sent: raw, base64'd as in HTTP Basic,
    hex, reversed, in the idea, in a policy that fails to compile (so the compiler's
    diagnostics quote it back into the repair prompt) and in the policy's description."""
    key = request["headers"]["authorization"].removeprefix("Bearer ")
    basic = base64.b64encode(f"user:{key}".encode()).decode()
    return (f"IDEA: the key is {key} ({basic}, {key.encode().hex()}, {key[::-1]})\n"
            f"```policy\npolicy leak \"{key}\"\nper sample:\n    rotat({basic})\n```\n")


def echo_and_a_policy(request) -> str:
    """The echo, with a policy that compiles first, so a best.dsl is written too."""
    key = request["headers"]["authorization"].removeprefix("Bearer ")
    return f"IDEA: {key}\n" + GOOD.split("\n", 1)[1] + echo(request)


def leaked(data: str | bytes) -> list[str]:
    data = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [form for form in FORMS if form in data]


@pytest.fixture
def protected(monkeypatch):
    monkeypatch.setattr(secrets, "_active", secrets.Redactor())  # what an earlier test protected is forgotten after


def test_an_echoing_server_leaks_the_key_nowhere(tmp_path, protected, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    run = tmp_path / "run"
    with FakeOpenAI([echo, echo, echo_and_a_policy]) as server:
        result = CliRunner().invoke(cli, [
            "search", "--proposer", "llm", "--model", "fake", "--base-url", server.base_url, "--api-key", KEY,
            "--timeout", "20", "--strategy", "simple", "--repair-tries", "2", "--out", str(run), "--epochs", "4",
            "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10", "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        assert all(h["authorization"] == f"Bearer {KEY}" for h in server.headers)  # the server, and only it, has it
        assert len(server.requests) == 3
        for request in server.requests:  # every prompt, the repair prompts with their diagnostics included
            assert leaked(json.dumps(request["messages"], ensure_ascii=False)) == []
        assert "rotat" in server.requests[1]["messages"][-1]["content"]  # the diagnostics did go back
    assert leaked(result.stderr) == [] and leaked(result.stdout) == []
    assert result.stderr.count("warning: --api-key is visible to other processes") == 1
    for path in run.iterdir():  # journal.sqlite (its raw bytes), summary.json, best.dsl, ...
        assert leaked(path.read_bytes()) == [], path
    assert "[redacted]" in (run / "journal.sqlite").read_bytes().decode("utf-8", "replace")
    assert (run / "best.dsl").exists() and "[redacted]" in (run / "best.dsl").read_text()  # the idea, redacted


def test_error_messages_from_the_server_are_redacted(protected):
    secrets.protect(KEY)
    body = json.dumps({"error": {"message": f"invalid key {KEY}, base64 {base64.b64encode(KEY.encode()).decode()}"}})
    with FakeOpenAI([{"status": 401, "body": body.encode()}]) as server:
        with pytest.raises(LLMError) as raised:
            LLMClient(LLMSettings("fake", server.base_url, KEY, timeout=5, retries=0)).complete(
                [{"role": "user", "content": f"a prompt that quotes {KEY}"}])
        assert leaked(json.dumps(server.requests)) == []  # nor does a prompt carry it
    assert leaked(str(raised.value)) == [] and "[redacted]" in str(raised.value)
    assert KEY not in repr(LLMSettings("fake", None, KEY))


def test_hostile_text_in_arguments_reaches_the_terminal_escaped(tmp_path):
    result = CliRunner().invoke(cli, ["search", "--resume", str(tmp_path / "\x1b]0;owned\x07\u202erun")])
    assert result.exit_code == 2 and "\x1b" not in result.output and "\u202e" not in result.output
    assert "\\x1b" in result.stderr


def test_credentials_in_the_base_url_are_journaled_and_shown_as_redacted(protected):
    url = "http://alice:correct-horse-battery@127.0.0.1:9/v1?api-key=q0123456789abcdef&model=x"
    settings = LLMSettings.resolve("fake", url, None)
    stored = settings.public()["base_url"]  # what the journal's configuration holds
    assert "correct-horse" not in stored and "q0123456789" not in stored
    assert stored == "http://alice:[redacted]@127.0.0.1:9/v1?api-key=[redacted]&model=x"
    assert secrets.shown(f"cannot connect to {url}") == f"cannot connect to {stored}"  # messages that quote it
    short = LLMSettings.resolve("fake", "http://bob:pw@127.0.0.1:9/v1", None).public()["base_url"]
    assert short == "http://bob:[redacted]@127.0.0.1:9/v1"  # too short for the redactor, still kept out
    assert LLMSettings.resolve("fake", "http://127.0.0.1:9/v1", None).public()["base_url"] == "http://127.0.0.1:9/v1"


def tampered_run(tmp_path, llm: dict | None, executor: dict | None = None):
    """A run folder whose journal names an LLM server or a Ray cluster (anyone who could
    write the folder chose them)."""
    from autoda.search.run import new_config, open_run

    config = new_config(proposer="llm" if llm else "offline", dataset="synthetic", data_root=None, download=False,
                        imb_ratio=10, method="ce", net="resnet8", batch_size=64, lr=0.05, seed=0, device="cpu",
                        cache_dir=str(tmp_path / "cache" / "data"), fitness_cache=str(tmp_path / "cache"), llm=llm,
                        epochs=2, e_ckp=1, n_ft=1, executor=executor or {},
                        search={"population": 1, "generations": 0, "max_evals": 1, "repair_tries": 0})
    journal, _ = open_run(tmp_path / "run", config)
    journal.close()
    return str(tmp_path / "run")


def test_a_run_folder_does_not_choose_where_the_key_goes(tmp_path, protected, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI([]) as attacker:
        run = tampered_run(tmp_path, {"model": "fake", "base_url": attacker.base_url})
        result = CliRunner().invoke(cli, ["search", "--resume", run])
        assert result.exit_code == 1 and attacker.requests == [] and attacker.headers == []
    assert "resume with --base-url" in result.stderr and "Traceback" not in result.output


def test_a_run_folder_does_not_choose_a_ray_cluster_to_join(tmp_path):
    run = tampered_run(tmp_path, None, {"kind": "ray", "ray_address": "ray://203.0.113.7:10001"})
    result = CliRunner().invoke(cli, ["search", "--resume", run])
    assert result.exit_code == 1 and "resume with --ray-address" in result.stderr, result.output
