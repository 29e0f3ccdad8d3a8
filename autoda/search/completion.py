"""What an OpenAI-compatible server's chat completion says, read from its raw body and
checked: the answer's text, its token counts and request id, or a clear reason the body
holds no answer. Servers differ and some are broken or hostile, so nothing in the body is
trusted: the content may be a string, a list of parts or an object; the message may be
null; the body may be HTML, plain text, cut off or garbage; token counts may be strings,
negative, floats or astronomically large. The text that comes out is redacted, valid
UTF-8 and at most MAX_ANSWER_CHARS long.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import AutodaError, FailureKind
from ..secrets import redact

MAX_ANSWER_CHARS = 200_000  # twice the compiler's cap on a policy; an answer of 2,000 tokens is ~10,000
MAX_TOKEN_COUNT = 10**9  # a larger count is not a count
SNIPPET = 120  # characters of a bad body quoted in the error


class BadCompletion(AutodaError, ValueError):
    """The body holds no usable answer; the message says why, for the journal."""

    kind = FailureKind.API


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int
    request_id: str | None


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:SNIPPET] + ("..." if len(text) > SNIPPET else ""))


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def token_count(value: object) -> int:
    """A usage count as the server gave it, or 0 when it is not a plausible count."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 12:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_TOKEN_COUNT else 0


def _part_text(part: object) -> str | None:
    """The text of one content part: a string, {"text": "..."} or {"text": {"value": "..."}}."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        text = part.get("text")
        if isinstance(text, dict):
            text = text.get("value")
        if isinstance(text, str) and part.get("type", "text") in ("text", "output_text"):
            return text
    return None


def content_text(content: object) -> str:
    """The message's content as text: a string; null (no answer: empty); a list of parts,
    whose text parts are joined (the way OpenAI's own parts read); an object with text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [t for t in map(_part_text, content) if t is not None]
        if content and not texts:
            raise BadCompletion(f"the answer's content is a list of {len(content)} parts, none of them text")
        return "".join(texts)
    if isinstance(content, dict):
        text = _part_text(content)
        if text is None:
            raise BadCompletion(f"the answer's content is an object without text (keys: "
                                f"{', '.join(map(str, list(content)[:5])) or 'none'})")
        return text
    raise BadCompletion(f"the answer's content is {_kind(content)}, not text")


def tool_input(calls: object) -> str:
    """The input of the first tool call, where the answer came as one (constrained decoding
    through OpenAI's custom tools: autoda.search.constrain): a custom tool's ``input``, or
    a function's ``arguments``; empty when there is none."""
    if not isinstance(calls, list) or not calls or not isinstance(calls[0], dict):
        return ""
    call = calls[0]
    for kind, field in (("custom", "input"), ("function", "arguments")):
        part = call.get(kind)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            return part[field]
    return ""


def clean_text(text: str) -> str:
    """Valid UTF-8 (lone surrogates from JSON escapes replaced), capped, redacted."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS] + f"\n[the answer was cut at {MAX_ANSWER_CHARS:,} characters]"
    return redact(text)


def read_completion(body: bytes, content_type: str | None = None, header_id: str | None = None) -> Answer:
    """The answer in a 200 response's body; BadCompletion when there is none."""
    media = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if not text.strip():
        raise BadCompletion("the server answered with an empty body")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        if media == "text/html" or text.lstrip()[:1] == "<":
            raise BadCompletion(f"the server answered with a web page ({media or 'no content type'}), not a chat "
                                f"completion: {_snippet(text)}") from None
        if media.startswith("text/"):
            raise BadCompletion(f"the server answered with plain text ({media}), not JSON: {_snippet(text)}") from None
        where = f" at character {error.pos}" if isinstance(error, json.JSONDecodeError) else ""
        raise BadCompletion(f"the server's answer is not valid JSON (cut off or garbled{where} of {len(text):,}): "
                            f"{_snippet(text)}") from None
    if not isinstance(payload, dict):
        raise BadCompletion(f"the server's answer is {_kind(payload)}, not a chat completion object")
    choices = payload.get("choices")
    if not choices and payload.get("error") is not None:
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise BadCompletion(f"the server reported an error: {_snippet(str(message))}")
    if not isinstance(choices, list):
        raise BadCompletion("the answer has no choices" if choices is None else f"the answer's choices are {_kind(choices)}, not a list")
    if not choices:
        raise BadCompletion("the answer's choices are empty")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise BadCompletion(f"the answer's first choice is {_kind(choice)}, not an object")
    message = choice.get("message")
    if isinstance(message, dict):
        answer = content_text(message.get("content")) or tool_input(message.get("tool_calls"))
    elif message is None and isinstance(choice.get("text"), str):  # a text-completion server
        answer = choice["text"]
    else:
        raise BadCompletion(f"the answer's message is {_kind(message)}" + ("" if message is None else ", not an object"))
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    request_id = payload.get("id") if isinstance(payload.get("id"), str) else header_id
    return Answer(clean_text(answer), token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens")),
                  redact(request_id[:200]) if isinstance(request_id, str) else None)
