"""Regenerate the tables of docs/language.md from the registries (ops, statistics,
functions, diagnostic codes). tests/compiler/test_doc_tables.py fails when they are stale."""
from pathlib import Path

from autoda.compiler.doc_tables import update_tables

DOC = Path(__file__).resolve().parents[1] / "docs" / "language.md"

if __name__ == "__main__":
    old = DOC.read_text(encoding="utf-8")
    new = update_tables(old)
    DOC.write_text(new, encoding="utf-8")
    print(f"{DOC.name}: {'updated' if new != old else 'already current'}")
