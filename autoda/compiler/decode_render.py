"""The decode grammar written out for a model server: GBNF (llama.cpp), the EBNF of vLLM's
structured outputs and XGrammar (the GBNF dialect, its start named ``root``), or Lark
(llguidance, OpenAI's custom tools; its start named ``start``)."""
from __future__ import annotations

import json

from .decode_grammar import reachable
from .decode_nodes import Alt, Chars, DecodeGrammar, Lit, Node, Ref, Seq

FORMATS = ("gbnf", "ebnf", "lark")


def render(grammar: DecodeGrammar, format: str) -> str:
    """The grammar as text for a model server: ``gbnf`` (llama.cpp), ``ebnf`` (vLLM's
    structured outputs and XGrammar, which read the GBNF dialect with the start named
    ``root``) or ``lark`` (llguidance, OpenAI's custom tools; the start is ``start``)."""
    if format not in FORMATS:
        raise ValueError(f"unknown grammar format {format!r}: one of {', '.join(FORMATS)}")
    lark = format == "lark"
    start = "start" if lark else "root"
    lines = [f"// the autoda policy language, for constrained decoding (autoda grammar --format {format})"
             if lark else f"# the autoda policy language, for constrained decoding (autoda grammar --format {format})"]
    if lark:
        # the rules outside the lexemes; a lexeme's inner rules are inlined into its regex
        outer = reachable(grammar.rules, grammar.start, grammar.lexemes)
        name = (lambda rule: rule.upper() if rule in grammar.lexemes else start if rule == grammar.start else rule)
        for rule, body in grammar.rules.items():
            if rule in grammar.lexemes:
                lines.append(f"{rule.upper()}: /{_regex(body, grammar.rules)}/")
            elif rule in outer:
                lines.append(f"{name(rule)}: {_write(body, name, lark, top=True)}")
        return "\n".join(lines) + "\n"
    name = (lambda rule: start if rule == grammar.start else rule.replace("_", "-"))
    for rule, body in grammar.rules.items():
        lines.append(f"{name(rule)} ::= {_write(body, name, lark, top=True)}")
    return "\n".join(lines) + "\n"


_REGEX_SPECIAL = set("\\.+*?()|[]{}^$#&-~/")


def _regex(node: Node, rules: dict[str, Node]) -> str:
    """A regular part of the grammar as one regex (references inlined), for a Lark terminal."""
    if isinstance(node, Lit):
        return "".join("\\n" if c == "\n" else "\\" + c if c in _REGEX_SPECIAL else c for c in node.text)
    if isinstance(node, Chars):
        return f"[{_class_body(node, lark=True)}]"
    if isinstance(node, Ref):
        return _regex(rules[node.name], rules)
    if isinstance(node, Seq):
        return "".join(_regex(item, rules) for item in node.items)
    if isinstance(node, Alt):
        return "(?:" + "|".join(_regex(item, rules) for item in node.items) + ")"
    item = _regex(node.item, rules)
    item = item if isinstance(node.item, Chars) else f"(?:{item})"
    if (node.low, node.high) == (0, 1):
        return f"{item}?"
    return f"{item}{{{node.low},}}" if node.high is None else f"{item}{{{node.low},{node.high}}}"


def _write(node: Node, name, lark: bool, top: bool = False) -> str:
    if isinstance(node, Lit):
        return json.dumps(node.text)
    if isinstance(node, Chars):
        return f"/[{_class_body(node, lark)}]/" if lark else f"[{_class_body(node, lark)}]"
    if isinstance(node, Ref):
        return name(node.name)
    if isinstance(node, Seq):
        return " ".join(_write(item, name, lark) for item in node.items)
    if isinstance(node, Alt):
        text = " | ".join(_write(item, name, lark) for item in node.items)
        return text if top else f"({text})"
    item = _write(node.item, name, lark)
    if isinstance(node.item, Seq):
        item = f"({item})"
    if (node.low, node.high) == (0, 1):
        return f"{item}?"
    if node.high is None:
        return f"{item}{'*' if node.low == 0 else '+' if node.low == 1 else '{%d,}' % node.low}"
    return f"{item}{{{node.low},{node.high}}}"


def _class_body(node: Chars, lark: bool) -> str:
    """The inside of a [...] class, in escapes every reader takes (llama.cpp's GBNF knows
    only backslash, quote, brackets, n, t, r and x with two hex digits): a lone "-" goes
    last, where it is itself; a Lark regex escapes its "/"."""
    def char(c: str) -> str:
        if c in "\\[]":
            return "\\" + c
        if c == "\n":
            return "\\n"
        if c == "-" or (c == "^" and not pieces) or not c.isprintable():
            return f"\\x{ord(c):02X}"
        return "\\/" if c == "/" and lark else c

    pieces: list[str] = []
    dash = False
    for lo, hi in node.ranges:
        if lo == hi == "-":
            dash = True
            continue
        pieces.append(char(lo) if lo == hi else f"{char(lo)}-{char(hi)}")
    return "".join(pieces) + ("-" if dash else "")
