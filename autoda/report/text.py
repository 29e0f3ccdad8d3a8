"""Tables as plain text: rich tables rendered to a string, and accuracies as the tables
show them."""
from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table


def percent(value: float | None) -> str:
    """An accuracy in [0, 1] as a percentage with two decimals; '-' for none."""
    return "-" if value is None else f"{100 * value:.2f}"


def render(table: Table, *after: str, width: int = 100) -> str:
    """A rich table (and lines after it) as plain text."""
    console = Console(width=width, file=io.StringIO())
    console.print(table)
    for line in after:
        console.print(line, highlight=False)
    return console.file.getvalue().rstrip()
