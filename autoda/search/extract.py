"""Policy text and a one-line idea, from whatever an LLM answers: a fenced block (of any
language tag), or bare text starting at a `policy` line, with prose around it or not; for
Python policies, the block (or bare text) that defines get_aug_type."""
from __future__ import annotations

import re

# the compiler's test: a Python policy is text that defines get_aug_type
from ..compiler.pipeline import PYTHON_POLICY as _PYTHON_DEF

_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)
_POLICY_LINE = re.compile(r"^\s*policy\s+[A-Za-z_]", re.M)
_IDEA = re.compile(r"^\s*(?:[*_#>\-]\s*)*idea\s*[:\-]\s*(.+)$", re.I | re.M)


def extract_policy(answer: str) -> str | None:
    """The policy in an answer, or None when there is none."""
    for block in _FENCE.findall(answer):
        if _POLICY_LINE.search(block):
            return block[_POLICY_LINE.search(block).start():].strip() + "\n"
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
        header = re.match(r'\s*policy\s+\w+\s+"([^"\n]*)"', policy_text)
        if header:
            return header.group(1)
    return None
