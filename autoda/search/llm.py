"""The LLM client: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp's
server) through the openai package. Timeout, retries, temperature and answer length are
set here, in one place; every call returns the text with its request id and token counts,
or raises LLMError with a kind the journal records.

The timeout is a deadline on the whole call, retries and their waits included (the openai
client's own timeout is per read, so a server trickling a byte a second would hold it for
ever): each attempt runs in a worker thread that reads the body in chunks against the
deadline and at most MAX_RESPONSE_BYTES of it, and the caller waits for that thread only
until the deadline, then shuts its connection down. The body is read and checked here
(autoda.search.completion), not by the openai client, so a broken answer is an LLMError
of kind `api`, never an exception from deep inside a library.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field, replace

import openai

from ..errors import AutodaError, FailureKind
from ..secrets import MARK, protect, redact
from ..words import counted
from .completion import BadCompletion, read_completion
from .constrain import PROBE_PROMPT, PROBE_TOKENS, forms_to_try, honoured, probe_fields, request_fields

TIMEOUT_SECONDS = 120.0  # the whole call, retries included
RETRIES = 2  # for 429, 5xx, dropped connections and cut-off answers, with backoff
TEMPERATURE = 0.8
MAX_TOKENS = 2000
MAX_RESPONSE_BYTES = 4 << 20  # a 2,000-token answer is ~10 kB of JSON
MAX_MESSAGE_CHARS = 500  # of an error message, for the journal and the terminal
BACKOFF_SECONDS = (0.5, 2.0, 8.0)  # before retry 1, 2, 3...; a server's Retry-After up to a minute wins
CHUNK_BYTES = 16384


class LLMError(AutodaError, RuntimeError):
    """An LLM call failed; ``kind`` is one of LLM_FAILURES (timeout, rate_limit, server,
    connection, api), as the journal records it."""

    def __init__(self, kind: FailureKind | str, message: str) -> None:
        message = redact(message)
        super().__init__(message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "...")
        self.kind = FailureKind(kind)


class LLMSetupError(AutodaError, ValueError):
    """Settings no call could work with (a base URL that is not an http(s) URL)."""


def check_base_url(url: str | None) -> None:
    if url is None:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise LLMSetupError(f"--base-url {url!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMSetupError(f"--base-url {url!r} is not an http(s) URL (like http://127.0.0.1:8080/v1)")


_SECRET_QUERY = ("key", "token", "secret", "password", "auth", "sig")  # parts of query names that hold credentials


def url_credentials(url: str | None) -> list[str]:
    """The secrets a base URL may carry: the password of http://user:password@host, and
    query values named like keys or tokens (?api-key=..., ?token=...)."""
    if not url:
        return []
    parts = urllib.parse.urlsplit(url)
    values = [parts.password or ""] + [value for name, value in urllib.parse.parse_qsl(parts.query)
                                       if any(word in name.lower() for word in _SECRET_QUERY)]
    return [value for value in values if value]


def public_url(url: str | None) -> str | None:
    """The base URL as journals and terminals may show it: credentials replaced by [redacted]
    (short passwords too, which the redactor leaves alone), other keys redacted."""
    if not url_credentials(url):
        return redact(url) if url else url
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MARK}@{netloc.rpartition('@')[2]}"
    query = "&".join(f"{name}={MARK if value in url_credentials(url) else value}"
                     for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return redact(urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query)))


class _Retryable(Exception):
    """An attempt that failed in a way another attempt may not (429, 5xx, a dropped connection)."""

    def __init__(self, error: LLMError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error, self.retry_after = error, retry_after


@dataclass(frozen=True)
class LLMSettings:
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never printed, journaled or sent anywhere but the server
    timeout: float = TIMEOUT_SECONDS
    retries: int = RETRIES
    temperature: float = TEMPERATURE
    max_tokens: int = MAX_TOKENS
    constrain: str = "none"  # a mode of autoda.search.constrain: how answers are held to the grammar

    @classmethod
    def resolve(cls, model: str | None, base_url: str | None, api_key: str | None, **overrides) -> "LLMSettings | None":
        """From flags, else OPENAI_BASE_URL, OPENAI_API_KEY and AUTODA_MODEL; None when no
        model is configured (then the search runs offline). Every key seen is redacted from
        then on, wherever text goes."""
        protect(api_key, os.environ.get("OPENAI_API_KEY"))
        model = model or os.environ.get("AUTODA_MODEL")
        if not model:
            return None
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        check_base_url(base_url)
        protect(*url_credentials(base_url))  # in error messages that quote the URL, say
        return cls(model, base_url, api_key or os.environ.get("OPENAI_API_KEY"),
                   **{k: v for k, v in overrides.items() if v is not None})

    def public(self) -> dict:
        """What the journal records: everything but the key (and credentials in the URL: a
        resumed run that needs them is given --llm-model and --base-url again)."""
        return {"model": self.model, "base_url": public_url(self.base_url), "timeout": self.timeout,
                "retries": self.retries, "temperature": self.temperature, "max_tokens": self.max_tokens,
                "constrain": self.constrain}


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    request_id: str | None
    seconds: float
    constrained: str | None = None  # the grammar form the answer was held to (autoda.search.constrain)


def _retry_after(response) -> float | None:
    try:
        return min(60.0, max(0.0, float(response.headers.get("retry-after"))))
    except (AttributeError, TypeError, ValueError):
        return None


class _Attempt:
    """One request in a worker thread. ``abort`` (from the caller, at the deadline) makes
    the thread give up: a flag it checks between chunks, and its socket shut down, which
    ends a blocked read at once."""

    def __init__(self, client: openai.OpenAI, settings: LLMSettings, messages: list[dict], fields: dict,
                 deadline: float, late: str) -> None:
        self.client, self.settings, self.messages, self.deadline = client, settings, messages, deadline
        self.fields = fields  # the request's arguments beside the model and messages
        self.late = late  # what a timeout says: whose deadline it was
        self.done = threading.Event()
        self.aborted = False
        self.socket: socket.socket | None = None
        self.result = None  # an Answer, or the exception to raise in the caller
        self.thread = threading.Thread(target=self._run, daemon=True, name="autoda-llm-call")

    def abort(self) -> None:
        self.aborted = True
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        try:
            self.result = self._request()
        except (LLMError, _Retryable) as error:
            self.result = error
        except openai.APITimeoutError:
            self.result = LLMError(FailureKind.TIMEOUT, self.late)
        except openai.RateLimitError as error:
            self.result = _Retryable(LLMError(FailureKind.RATE_LIMIT, f"rate limited ({error})"),
                                     _retry_after(error.response))
        except openai.APIStatusError as error:  # 5xx, 408 and 409 may pass; 4xx will not
            status = error.status_code
            failure = LLMError(FailureKind.SERVER if status >= 500 or status in (408, 409) else FailureKind.API,
                               f"the server answered HTTP {status} ({error})")
            retryable = failure.kind == FailureKind.SERVER
            self.result = _Retryable(failure, _retry_after(error.response)) if retryable else failure
        except openai.APIConnectionError as error:
            self.result = _Retryable(LLMError(FailureKind.CONNECTION,
                                              f"cannot reach {self.settings.base_url or 'the API'} ({error})"))
        except BaseException as error:  # noqa: BLE001 - a thread's exception must come back as a value
            # reading the body raises the HTTP library's own errors (httpx or httpx2 by openai version)
            self.result = (LLMError(FailureKind.TIMEOUT, self.late) if self.aborted else
                           _Retryable(LLMError(FailureKind.CONNECTION,
                                               f"the answer was cut off ({type(error).__name__}: {error})")))
        finally:
            self.done.set()

    def _request(self):
        remaining = max(0.001, self.deadline - time.monotonic())
        with self.client.chat.completions.with_streaming_response.create(
                model=self.settings.model, messages=self.messages, timeout=remaining, **self.fields) as response:
            raw = response.http_response
            stream = raw.extensions.get("network_stream")
            self.socket = stream.get_extra_info("socket") if stream is not None else None
            if self.aborted:
                self.abort()
            body = bytearray()
            for chunk in raw.iter_bytes(CHUNK_BYTES):
                body += chunk
                if self.aborted or time.monotonic() > self.deadline:
                    raise LLMError(FailureKind.TIMEOUT, f"{self.late} ({len(body):,} bytes came)")
                if len(body) > MAX_RESPONSE_BYTES:
                    raise LLMError(FailureKind.API, f"the answer is over {MAX_RESPONSE_BYTES:,} bytes; a policy is a page")
            content_type, header_id = raw.headers.get("content-type"), raw.headers.get("x-request-id")
        try:
            return read_completion(bytes(body), content_type, header_id)
        except BadCompletion as error:
            raise LLMError(FailureKind.API, str(error)) from None

    def run(self) -> object:
        """The answer, or the exception that ended the attempt; never later than the deadline."""
        self.thread.start()
        try:
            finished = self.done.wait(max(0.0, self.deadline - time.monotonic()))
        except BaseException:  # Ctrl-C: the thread must not go on reading
            self.abort()
            raise
        if not finished:
            self.abort()
            return LLMError(FailureKind.TIMEOUT, self.late)
        return self.result


class LLMClient:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        check_base_url(settings.base_url)
        # a local server needs no key, but the client insists on one; retries are ours, within the deadline
        try:
            self.client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "not-needed",
                                        timeout=settings.timeout, max_retries=0)
        except Exception as error:  # noqa: BLE001 - whatever the client refuses to start with
            raise LLMSetupError(redact(f"cannot set up the LLM client: {error}")) from None
        forms_to_try(settings.constrain, settings.base_url)  # ValueError for an unknown mode, before any call
        self.form: str | None = None  # the grammar form answers are held to, once settled
        self.settled = settings.constrain == "none"
        self.note = "constrained decoding: off (--constrain none)"

    def settle(self) -> str:
        """Find the grammar form the endpoint honours for the settings' --constrain (one
        short probe per form tried) and use it from now on; one line saying what was found.
        LLMSetupError when an explicitly asked form is not honoured; LLMError when the
        endpoint cannot be reached at all."""
        if self.settled:
            return self.note
        mode, tried, refused = self.settings.constrain, [], False
        for form in forms_to_try(mode, self.settings.base_url):
            tried.append(form)
            try:
                answer = self._probe(probe_fields(form))
            except LLMError as error:
                if error.kind != FailureKind.API:  # unreachable, overloaded, too slow: no form can tell
                    raise
                refused = True  # the endpoint refused the field, or refuses every request: see below
                continue
            if honoured(answer.text):
                self.form, self.settled = form, True
                self.note = f"constrained decoding: the endpoint takes the policy grammar as {form}"
                return self.note
        if refused:  # a plain request must work, or the search cannot: say why now, not per candidate
            self._probe({})
        if mode != "auto":  # (none is settled from the start)
            raise LLMSetupError(f"--constrain {mode}: the endpoint did not apply the grammar ({', '.join(tried)} "
                                "tried); use --constrain auto to find what it takes, or none")
        self.settled = True
        self.note = (f"constrained decoding: the endpoint takes no grammar ({', '.join(tried)} tried); "
                     "answers are unconstrained and repaired as usual")
        return self.note

    def _probe(self, fields: dict) -> Completion:
        return self._call([{"role": "user", "content": PROBE_PROMPT}],
                          {"temperature": 0, "max_tokens": PROBE_TOKENS, **fields}, None, self.settings.timeout)

    def complete(self, messages: list[dict], deadline: float | None = None) -> Completion:
        """One answer within the timeout, retries included, and by ``deadline`` (a
        time.monotonic() value: the search's own time budget) when one is given; held to
        the policy grammar where the endpoint takes it (settle)."""
        self.settle()
        fields = {"temperature": self.settings.temperature, "max_tokens": self.settings.max_tokens,
                  **request_fields(self.form)}
        return replace(self._call(messages, fields, deadline, self.settings.timeout), constrained=self.form)

    def _call(self, messages: list[dict], fields: dict, deadline: float | None, timeout: float) -> Completion:
        start = time.monotonic()
        end = start + timeout
        late = f"no complete answer within {timeout:g} s"
        if deadline is not None and deadline < end:
            end, late = deadline, "the search's time budget (--max-time) ran out before a complete answer"
        messages = [{**m, "content": redact(m["content"])} for m in messages]  # no key goes into a prompt
        retries = 0
        while True:
            if time.monotonic() >= end:
                raise LLMError(FailureKind.TIMEOUT, late)
            result = _Attempt(self.client, self.settings, messages, fields, end, late).run()
            if not isinstance(result, BaseException):
                return Completion(result.text, result.prompt_tokens, result.completion_tokens, result.request_id,
                                  time.monotonic() - start)
            if not isinstance(result, _Retryable):
                raise result
            wait = result.retry_after if result.retry_after is not None else \
                BACKOFF_SECONDS[min(retries, len(BACKOFF_SECONDS) - 1)]
            if retries >= self.settings.retries or time.monotonic() + wait >= end:
                raise LLMError(result.error.kind, f"{result.error} after {counted(retries, 'retry', 'retries')}"
                               if retries else str(result.error))
            retries += 1
            time.sleep(wait)
