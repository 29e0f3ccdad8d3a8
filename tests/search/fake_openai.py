"""A small OpenAI-compatible chat server on 127.0.0.1 for tests: it answers each request
with the next scripted behaviour, so the real openai client meets valid answers, broken
ones, errors and stalls over real HTTP."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    """Script items: a str (the answer), or a dict with "status" (an HTTP error) and/or
    "sleep" (seconds before answering) and "content". When the script runs out, the
    fallback answers."""

    def __init__(self, script: list, fallback: str | None = None) -> None:
        self.script = list(script)
        self.fallback = fallback
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    item = server.script.pop(0) if server.script else server.fallback
                item = {"content": item} if isinstance(item, str) or item is None else item
                if item.get("sleep"):
                    time.sleep(item["sleep"])
                status = item.get("status", 200)
                if status != 200:
                    payload = {"error": {"message": f"scripted {status}", "type": "test", "code": status}}
                else:
                    content = item.get("content") or ""
                    payload = {"id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": 0,
                               "model": body.get("model", "fake"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
