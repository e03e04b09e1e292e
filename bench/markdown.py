"""The Markdown that every benchmark table is made of."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def met(ok: bool) -> str:
    """How a target reads in a report: met, or in bold when not."""
    return "met" if ok else "**not met**"


def row(cells: Iterable[object]) -> str:
    """One table row."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def markdown_table(
    title: str, columns: Sequence[str], rows: Iterable[Iterable[object]], text_columns: int = 1
) -> list[str]:
    """A heading and a table: the first ``text_columns`` left-aligned, the numbers right."""
    alignment = "|" + "---|" * text_columns + "---:|" * (len(columns) - text_columns)
    return [f"### {title}", "", row(columns), alignment, *(row(cells) for cells in rows)]
