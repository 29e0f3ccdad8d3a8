"""A small OpenAI-compatible chat server on 127.0.0.1 for tests: it answers each request
with the next scripted behaviour, so the real openai client meets valid answers, broken
ones, hostile ones, errors and stalls over real HTTP."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from autoda.search.constrain import PROBE_PROMPT, PROBE_WORD, TOOL, probe_fields

MISSING = object()  # a field left out of the answer altogether
_USUAL = object()


def completion(content: object = "", *, message: object = _USUAL, choices: object = _USUAL,
               usage: object = _USUAL, id: object = "chatcmpl-1", model: str = "fake") -> dict:
    """A chat completion payload; any part can be replaced (MISSING leaves it out)."""
    if message is _USUAL:
        message = {"role": "assistant", "content": content}
    if choices is _USUAL:
        choices = [{"index": 0, "finish_reason": "stop", "message": message}]
        if message is MISSING:
            del choices[0]["message"]
    if usage is _USUAL:
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    payload = {"id": id, "object": "chat.completion", "created": 0, "model": model, "choices": choices,
               "usage": usage}
    return {k: v for k, v in payload.items() if v is not MISSING}


class FakeOpenAI:
    """Script items, one per request:

    - a str (or None): the answer's content;
    - a callable: called with the request ({"body", "headers"}), returns an item;
    - a dict with any of
      "status" (an HTTP error), "sleep" (seconds before answering), "content" (any JSON
      value as the message's content), "payload" (the whole JSON body), "body" (raw body
      bytes), "content_type", "length" (a Content-Length other than the body's: more cuts
      the body off), "trickle" (send the body a byte at a time, this many seconds apart).

    When the script runs out, the fallback answers.

    Constrained-decoding probes (autoda.search.constrain) are answered apart, without
    using the script, and kept in ``probes``: as a server that honours the grammar in the
    ``grammar_form`` it is given would answer them (None: one that ignores grammars), or
    refused (``refuse_probes``)."""

    def __init__(self, script: list, fallback: object = None, grammar_form: str | None = None,
                 refuse_probes: int | None = None, plain_probes_pass: bool = False) -> None:
        self.script = list(script)
        self.fallback = fallback
        self.grammar_form = grammar_form
        # probes answered with this HTTP error (all of them, or with plain_probes_pass those
        # that carry a grammar: a server that refuses fields it does not know)
        self.refuse_probes, self.plain_probes_pass = refuse_probes, plain_probes_pass
        self.probes: list[dict] = []
        self.requests: list[dict] = []  # the JSON bodies received
        self.headers: list[dict] = []  # and their headers (lower-case names)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}  # names as sent vary in case
                if body.get("messages") == [{"role": "user", "content": PROBE_PROMPT}]:
                    server.probes.append(body)
                    plain = not any(k in body for k in ("grammar", "structured_outputs", "guided_grammar", "tools"))
                    if server.refuse_probes and not (plain and server.plain_probes_pass):
                        error = {"error": {"message": f"scripted {server.refuse_probes}", "type": "test"}}
                        self._answer(server.refuse_probes, json.dumps(error).encode())
                    else:
                        self._answer(200, json.dumps(server._probe_answer(body)).encode())
                    return
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(headers)
                    item = server.script.pop(0) if server.script else server.fallback
                if callable(item):
                    item = item({"body": body, "headers": headers})
                item = {"content": item} if isinstance(item, str) or item is None else item
                if item.get("sleep"):
                    time.sleep(item["sleep"])
                status = item.get("status", 200)
                if "body" in item:
                    data = item["body"]
                elif status != 200:
                    data = json.dumps({"error": {"message": f"scripted {status}", "type": "test", "code": status}}).encode()
                elif "payload" in item:
                    data = json.dumps(item["payload"]).encode()
                else:
                    data = json.dumps(completion(item.get("content") or "", id=f"chatcmpl-{len(server.requests)}",
                                                 model=body.get("model", "fake"))).encode()
                self._answer(status, data, item)

            def _answer(self, status: int, data: bytes, item: dict | None = None) -> None:
                item = item or {}
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", item.get("content_type", "application/json"))
                    self.send_header("Content-Length", str(item.get("length", len(data))))
                    self.end_headers()
                    if item.get("trickle"):
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(item["trickle"])
                    else:
                        self.wfile.write(data)
                    if item.get("length", len(data)) != len(data):
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _probe_answer(self, body: dict) -> dict:
        """The probe word where the request carries the grammar in this server's form (as a
        custom tool's call for OpenAI's), else a greeting."""
        if self.grammar_form is not None:
            fields = probe_fields(self.grammar_form)
            expected = {**fields.pop("extra_body", {}), **fields}
            if all(body.get(name) == value for name, value in expected.items()):
                if self.grammar_form != "openai":
                    return completion(PROBE_WORD)
                call = {"id": "call_1", "type": "custom", "custom": {"name": TOOL, "input": PROBE_WORD}}
                return completion(message={"role": "assistant", "content": None, "tool_calls": [call]})
        return completion("Hello!")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
