"""Policy text and a one-line idea, from whatever an LLM answers: a fenced block (of any
language tag), or bare text starting at a `policy` line, with prose around it or not; for
Python policies, the block (or bare text) that defines get_aug_type.

Answers come from outside and may be megabytes of whitespace, fences or near-misses, so
every pattern here runs in time linear in the answer: each is anchored at a line start or
a literal, and nothing it repeats can cross a newline (a `^\\s*` under re.M would rescan
every following blank line from every line start: quadratic).
"""
from __future__ import annotations

import re

# the front door's test: a Python policy is text that defines get_aug_type
from ..policies import PYTHON_POLICY as _PYTHON_DEF

_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)  # an opening fence's tag cannot cross a line
_POLICY_LINE = re.compile(r"^[ \t]*policy[ \t]+[A-Za-z_]", re.M)
_IDEA = re.compile(r"^[ \t]*(?:[*_#>\-][ \t]*)*idea[ \t]*[:\-][ \t]*(.+)$", re.I | re.M)
_DESCRIPTION = re.compile(r'[ \t]*policy[ \t]+\w+[ \t]+"([^"\n]*)"')


def extract_policy(answer: str) -> str | None:
    """The policy in an answer, or None when there is none."""
    for block in _FENCE.findall(answer):
        match = _POLICY_LINE.search(block)
        if match:
            return block[match.start():].strip() + "\n"
    match = _POLICY_LINE.search(answer)
    if match is None:
        return None
    text = answer[match.start():]
    return text.split("```", 1)[0].strip() + "\n"


_PYTHON_START = re.compile(r"^(?:import |from \w+ import |def |[A-Z_]+ *=|\"\"\")", re.M)


def extract_python(answer: str) -> str | None:
    """The Python module defining get_aug_type in an answer, or None."""
    for block in _FENCE.findall(answer):
        if _PYTHON_DEF.search(block):
            return block.strip() + "\n"
    match = _PYTHON_DEF.search(answer)
    if match is None:
        return None
    # bare code: from the first line before the definition that looks like code
    first = _PYTHON_START.search(answer, 0, match.start() + 1)
    start = first.start() if first else match.start()
    return answer[start:].split("```", 1)[0].strip() + "\n"


def extract_idea(answer: str, policy_text: str | None = None) -> str | None:
    """The answer's `IDEA: ...` line, else the policy's description, else None."""
    match = _IDEA.search(answer)
    if match:
        return match.group(1).strip().strip("*_`\"").strip()[:300] or None
    if policy_text:
        header = _DESCRIPTION.match(policy_text)
        if header:
            return header.group(1)
    return None
