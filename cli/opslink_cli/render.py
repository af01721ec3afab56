"""Output for operators: aligned tables or JSON, as the AWS CLI's --output does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO, max_width: int = 48
) -> None:
    if not rows:
        out.write("(none)\n")
        return
    cells = [[_cell(r.get(c), max_width) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out.write(
        "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n"
    )
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def emit(data: Any, output: str, out: TextIO, columns: Sequence[str] | None = None) -> None:
    if output == "json":
        out.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
        return
    if isinstance(data, list):
        table(data, columns or (list(data[0].keys()) if data else []), out)
        return
    for key, value in data.items():
        if isinstance(value, list | dict):
            value = json.dumps(value, default=str, ensure_ascii=False)
        out.write(f"{key:>18}: {value}\n")
