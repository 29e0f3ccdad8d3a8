from pathlib import Path

from autoda.class_stats import STATS
from autoda.compiler.diagnostics import CODES
from autoda.compiler.functions import FUNCTIONS
from autoda.compiler.doc_tables import update_tables
from autoda.ops import OPS

DOC = Path(__file__).parents[2] / "docs" / "language.md"


def test_language_reference_tables_are_current():
    text = DOC.read_text()
    assert update_tables(text) == text, "run: python scripts/gen_docs.py"


def test_reference_names_every_op_statistic_function_and_code():
    text = DOC.read_text()
    for name in [*OPS, *STATS, *FUNCTIONS, *CODES]:
        assert f"`{name}" in text, name
