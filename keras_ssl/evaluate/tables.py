"""`markdown_table`: labels and numbers as a Markdown table, for reports of results."""

from __future__ import annotations

import math
from collections.abc import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], text_columns: int = 1) -> str:
    """A Markdown table: `text_columns` label columns, then right-aligned numbers.

    Strings are written as given, numbers with two decimals, and None or NaN (not
    measured, or no reference to compare with) as an en dash, "–".

    Args:
        header: The column titles.
        rows: The rows, each a sequence of `len(header)` cells.
        text_columns: How many columns, from the left, are labels (aligned left).

    Returns:
        The table, a line per row (the header and the alignment row first), without a
        final newline.

    Example:
    >>> print(markdown_table(["Labels", "Accuracy (%)"], [["10%", 61.234], ["100%", None]]))
    | Labels | Accuracy (%) |
    | --- | ---: |
    | 10% | 61.23 |
    | 100% | – |
    """
    alignments = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
    lines = [header, alignments, *([_cell(value) for value in row] for row in rows)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _cell(value) -> str:
    if isinstance(value, str):
        return value
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"
