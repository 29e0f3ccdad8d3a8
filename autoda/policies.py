"""Policies a user names: an example's name (examples/policies) or a file.

`autoda experiment` (a config's ``policies``) and `autoda search --baseline` take either,
and both read a file through the compiler's reader (autoda.compiler.source.read_source),
so a policy file fails there as it fails under `autoda compile`: at most
MAX_SOURCE_BYTES read, from a regular file only, UTF-8, with the same located
diagnostics (a PolicyError), never a UnicodeDecodeError.
"""
from __future__ import annotations

from pathlib import Path

from .compiler.source import read_source
from .resources import resource_names, resource_text


class PolicyNotFound(LookupError):
    """A name that is neither an example policy nor a file."""


def example_policies() -> dict[str, str]:
    """name -> text of every example policy in the policy language."""
    return {name.removesuffix(".dsl"): resource_text("autoda.examples", name)
            for name in resource_names("autoda.examples", ".dsl")}


def resolve_policy(name: str, base: Path | None = None) -> tuple[str, str, str]:
    """(label, text, file) of an example's name or a policy file.

    A relative file is looked for under ``base`` first (an experiment's config folder),
    then where the command runs. The label is the file's stem, or its folder's name for a
    search's ``best.dsl`` / ``best.py``. Raises PolicyNotFound, or PolicyError for a file
    that cannot be read as a policy (too large, not UTF-8, binary, not a regular file).
    """
    examples = example_policies()
    if name in examples:
        return name, examples[name], name
    given = Path(name)
    candidates = [given] if base is None or given.is_absolute() else [base / given, given]
    # exists, not is_file: a folder or FIFO of that name gets read_source's diagnostic, not "no such file"
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise PolicyNotFound(f"{name!r} is neither an example policy ({', '.join(examples)}) nor a file")
    source = read_source(path, file=str(path))
    label = path.parent.resolve().name if path.name in ("best.dsl", "best.py") else path.stem
    return label, source.text, source.file
