"""Hostile and broken OpenAI-compatible servers: every answer that holds no usable text is a
journaled failure (kind `api`) and the search goes on; a server that trickles bytes or
stalls cannot hold a call past its timeout, retries included, nor a search past its
--max-time; answers of megabytes are cut before anything reads them."""
import time
from collections import Counter

import pytest

from autoda.search.completion import MAX_ANSWER_CHARS, BadCompletion, read_completion, token_count
from autoda.search.journal import Journal
from autoda.search.llm import LLMClient, LLMError, LLMSettings
from autoda.search.loop import SearchConfig
from autoda.search.summary import summarise
from fake_openai import MISSING, FakeOpenAI, completion
from test_llm_search import GOOD, OTHER, search

ASK = [{"role": "user", "content": "a policy, please"}]
BROKEN_BODIES = {
    "content is a number": {"payload": completion(42)},
    "content is an object without text": {"payload": completion({"kind": "image"})},
    "content parts without text": {"payload": completion([{"type": "image_url", "image_url": {"url": "x"}}])},
    "message is null": {"payload": completion(message=None)},
    "message is missing": {"payload": completion(message=MISSING)},
    "message is a string": {"payload": completion(message="hi")},
    "plain text body": {"body": b"policy p\nper sample:\n    flip_lr\n", "content_type": "text/plain"},
    "HTML body": {"body": b"<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"},
    "invalid JSON": {"body": b"{'choices': oops"},
    "truncated JSON": {"body": b'{"id": "x", "choices": [{"message": {"content": "pol'},
    "JSON nested too deep": {"body": b"[" * 100_000},
    "body is a list": {"payload": [1, 2, 3]},
    "choices missing": {"payload": completion(choices=MISSING)},
    "choices empty": {"payload": completion(choices=[])},
    "choices a string": {"payload": completion(choices="none")},
    "choice a number": {"payload": completion(choices=[7])},
    "an error object": {"payload": {"error": {"message": "model overloaded"}}},
    "empty body": {"body": b""},
}


def client(server, timeout=5.0, retries=0):
    return LLMClient(LLMSettings("fake", server.base_url, None, timeout=timeout, retries=retries))


@pytest.mark.parametrize("name", list(BROKEN_BODIES))
def test_a_body_without_an_answer_is_an_api_error_with_a_reason(name):
    with FakeOpenAI([BROKEN_BODIES[name]]) as server:
        with pytest.raises(LLMError) as raised:
            client(server).complete(ASK)
    assert raised.value.kind == "api" and str(raised.value)
    assert len(str(raised.value)) <= 600  # a reason, not the body


@pytest.mark.parametrize("content,text", [
    ([{"type": "text", "text": "policy p\n"}, {"type": "text", "text": "per sample:\n    flip_lr\n"}],
     "policy p\nper sample:\n    flip_lr\n"),
    ([{"type": "output_text", "text": "a"}, {"type": "image_url", "image_url": {}}, "b"], "ab"),
    ({"type": "text", "text": "just text"}, "just text"),
    ({"text": {"value": "wrapped"}}, "wrapped"),
    (None, ""),
])
def test_content_that_clearly_is_text_becomes_text(content, text):
    with FakeOpenAI([{"payload": completion(content)}]) as server:
        assert client(server).complete(ASK).text == text


@pytest.mark.parametrize("usage,counts", [
    ({"prompt_tokens": "12", "completion_tokens": "3"}, (12, 3)),
    ({"prompt_tokens": -5, "completion_tokens": 7.0}, (0, 7)),
    ({"prompt_tokens": 10**30, "completion_tokens": 1.5}, (0, 0)),
    ({"prompt_tokens": float("inf"), "completion_tokens": True}, (0, 0)),
    ({"prompt_tokens": "a lot", "completion_tokens": None}, (0, 0)),
    ("many", (0, 0)),
    (None, (0, 0)),
])
def test_token_counts_are_checked_at_the_boundary(usage, counts):
    with FakeOpenAI([{"payload": completion("hi", usage=usage)}]) as server:
        answer = client(server).complete(ASK)
    assert (answer.prompt_tokens, answer.completion_tokens) == counts
    assert all(type(n) is int for n in counts)


def test_the_search_journals_every_broken_answer_and_goes_on(tmp_path):
    script = list(BROKEN_BODIES.values()) + [
        {"payload": completion(GOOD, usage={"prompt_tokens": "99", "completion_tokens": 10**40}, id={"not": "a str"})},
        {"body": b'{"choices": [', "length": 400},  # the connection drops mid-body
        {"payload": completion([{"type": "text", "text": OTHER}])},
    ]
    with FakeOpenAI(script) as server:
        s, journal = search(server, SearchConfig(population=len(script), generations=0, repair_tries=0), tmp_path)
        assert s.run() == "done"
    rows = journal.all()
    assert Counter(r.failure for r in rows) == Counter({"api": len(BROKEN_BODIES), None: 2, "connection": 1})
    assert [r.policy_name for r in journal.evaluated()] == ["tail", "other"]
    assert journal.tokens() == 99 + 120  # broken answers count nothing; a count that is not one reads as 0
    summary = summarise(journal, tmp_path, 1.0, "done")  # what resume, show and report read back works
    assert summary["tokens"] == {"prompt": 99 + 100, "completion": 20} and summary["evaluations"] == 2


def test_a_trickling_server_cannot_hold_a_call_past_its_timeout():
    """A byte every 0.2 s: the openai client's per-read timeout never fires (a minute here)."""
    with FakeOpenAI([{"trickle": 0.2, "content": GOOD}] * 3) as server:
        started = time.monotonic()
        with pytest.raises(LLMError) as raised:
            client(server, timeout=2.0, retries=2).complete(ASK)
        assert time.monotonic() - started < 10
    assert raised.value.kind == "timeout"


@pytest.mark.slow
def test_the_timeout_covers_retries_and_their_waits():
    with FakeOpenAI([{"status": 500, "sleep": 3.0}] * 5) as server:
        started = time.monotonic()
        with pytest.raises(LLMError) as raised:
            client(server, timeout=4.0, retries=4).complete(ASK)
        assert time.monotonic() - started < 8  # the openai client's own retries: 15 s and more
    assert raised.value.kind in ("timeout", "server")


@pytest.mark.slow
def test_retries_still_happen_within_the_deadline():
    with FakeOpenAI([{"status": 503}, {"status": 429}, GOOD]) as server:
        assert client(server, timeout=20.0, retries=2).complete(ASK).text == GOOD
        assert len(server.requests) == 3


def test_a_huge_body_is_refused_and_a_long_answer_cut():
    with FakeOpenAI([{"body": b" " * (5 << 20)}, "x" * (MAX_ANSWER_CHARS + 5000)]) as server:
        with pytest.raises(LLMError) as raised:
            client(server).complete(ASK)
        assert raised.value.kind == "api" and "bytes" in str(raised.value)
        text = client(server).complete(ASK).text
    assert len(text) < MAX_ANSWER_CHARS + 100 and text.endswith("characters]")


def test_max_time_holds_while_the_llm_stalls(tmp_path):
    """The call's own timeout is a minute; the search's budget is 2 s and wins."""
    with FakeOpenAI([{"sleep": 30, "content": GOOD}] * 2) as server:
        s, journal = search(server, SearchConfig(population=3, generations=0, max_time=2.0), tmp_path, timeout=60.0)
        started = time.monotonic()
        assert s.run() == "stopped: max-time (2 s)"
        assert time.monotonic() - started < 15
    [row] = journal.all()
    assert row.failure == "timeout" and "--max-time" in row.message


def test_read_completion_never_raises_anything_but_bad_completion():
    for body in (b"\xff\xfe", b"null", b"1e999", b'{"choices": [{"message": {"content": "\\ud800"}}]}', b"\x00" * 10):
        try:
            answer = read_completion(body, "application/json")
        except BadCompletion:
            continue
        answer.text.encode("utf-8")  # a lone surrogate would fail here (and in SQLite)
    assert token_count("²") == 0
