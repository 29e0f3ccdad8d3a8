"""Constrained decoding: the policy language's decode grammar, sent the way an endpoint
reads it, so that every answer parses (autoda.compiler.decode_grammar).

Endpoints take a grammar in different fields and dialects (`--constrain`):

- ``gbnf``: llama.cpp's server and llama-cpp-python's: the request's ``grammar`` field.
- ``vllm``: vLLM's structured outputs, ``structured_outputs: {"grammar": ...}`` (0.12 and
  later), or ``guided_grammar`` before (the form ``vllm-guided``); XGrammar reads the
  GBNF dialect.
- ``openai``: OpenAI's custom tools: a tool whose input a Lark grammar constrains, which
  the model is made to call; its input is the answer.
- ``auto``: each form is tried once with a grammar that admits one word no model says
  unasked; the first whose answer is that word is used, and none when no form is.

A server that does not know a field ignores it or refuses the request; either way the
probe's answer tells, so a grammar that would be silently dropped is never assumed.
"""
from __future__ import annotations

import urllib.parse

from ..compiler.decode_grammar import DecodeGrammar, Lit, decode_grammar
from ..compiler.decode_render import render

MODES = ("auto", "none", "gbnf", "vllm", "openai")
FORMS = {"gbnf": ("gbnf",), "vllm": ("vllm", "vllm-guided"), "openai": ("openai",)}
PROBE_PROMPT = "Say hello."
PROBE_WORD = "autoda-grammar-probe"
PROBE_TOKENS = 24  # the word is a few tokens; an endpoint that ignores the grammar stops here
TOOL = "write_policy"
_PROBE = DecodeGrammar({"probe": Lit(PROBE_WORD)}, "probe")


def forms_to_try(mode: str, base_url: str | None) -> tuple[str, ...]:
    """The grammar forms a mode tries, in order: OpenAI's own API first where it is the host."""
    if mode not in MODES:
        raise ValueError(f"unknown --constrain {mode!r}: one of {', '.join(MODES)}")
    if mode == "none":
        return ()
    if mode != "auto":
        return FORMS[mode]
    host = (urllib.parse.urlsplit(base_url).hostname or "") if base_url else "api.openai.com"
    order = ("openai", "gbnf", "vllm") if host == "openai.com" or host.endswith(".openai.com") else ("gbnf", "vllm", "openai")
    return tuple(form for mode in order for form in FORMS[mode])


def request_fields(form: str | None, grammar: DecodeGrammar | None = None) -> dict:
    """The chat-completion arguments that constrain an answer to ``grammar`` (the decode
    grammar of a whole answer by default) in a form; none for no form."""
    if form is None:
        return {}
    grammar = grammar or decode_grammar()
    if form == "gbnf":
        return {"extra_body": {"grammar": render(grammar, "gbnf")}}
    if form == "vllm":
        return {"extra_body": {"structured_outputs": {"grammar": render(grammar, "ebnf")}}}
    if form == "vllm-guided":
        return {"extra_body": {"guided_grammar": render(grammar, "ebnf")}}
    if form == "openai":
        tool = {"name": TOOL, "description": "Answer with the IDEA line and the policy in a fenced block.",
                "format": {"type": "grammar", "grammar": {"syntax": "lark", "definition": render(grammar, "lark")}}}
        return {"tools": [{"type": "custom", "custom": tool}],
                "tool_choice": {"type": "custom", "custom": {"name": TOOL}}}
    raise ValueError(f"unknown grammar form {form!r}")


def probe_fields(form: str) -> dict:
    """The arguments of a probe: the form's fields with a grammar admitting PROBE_WORD only."""
    return request_fields(form, _PROBE)


def honoured(answer: str) -> bool:
    """Whether a probe's answer shows the grammar was applied."""
    return answer.strip() == PROBE_WORD
