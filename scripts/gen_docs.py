"""Regenerate the tables of docs/language.md from the registries (ops, statistics,
functions, diagnostic codes). tests/compiler/test_doc_tables.py fails when they are stale.

    python scripts/gen_docs.py           rewrite the tables
    python scripts/gen_docs.py --check   only say whether they are current (exit 1 if not)
"""
import sys
from pathlib import Path

from autoda.compiler.doc_tables import update_tables

DOC = Path(__file__).resolve().parents[1] / "docs" / "language.md"

if __name__ == "__main__":
    check = sys.argv[1:] == ["--check"]
    old = DOC.read_text(encoding="utf-8")
    new = update_tables(old)
    if check:
        print(f"{DOC.name}: {'stale: run python scripts/gen_docs.py' if new != old else 'current'}")
        sys.exit(int(new != old))
    DOC.write_text(new, encoding="utf-8")
    print(f"{DOC.name}: {'updated' if new != old else 'already current'}")
