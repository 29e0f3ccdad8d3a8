"""Policy text and a one-line idea, from whatever an LLM answers: a fenced block (of any
language tag), or bare text starting at a `policy` line, with prose around it or not."""
from __future__ import annotations

import re

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
