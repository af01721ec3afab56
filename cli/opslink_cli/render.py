"""Output for operators, as the AWS CLI's `--output` and `--query` do: aligned tables
(no `None`, cells cut unless --no-truncate, colour only on a terminal and never with
NO_COLOR), JSON, tab-separated text or YAML, after an optional JMESPath query."""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import jmespath
from jmespath.exceptions import JMESPathError

_STATUS_COLOURS = {
    "open": "33",
    "resolved": "32",
    "closed": "32",
    "SUCCEEDED": "32",
    "FAILED": "31",
    "RUNNING": "36",
    "Remediated": "32",
    "HandedToHumans": "33",
    "Critical": "31",
    "High": "33",
    "yes": "31",
}


class QueryError(Exception):
    pass


@dataclass(frozen=True)
class Style:
    output: str = "table"
    query: str | None = None
    truncate: bool = True
    colour: bool = False


def style_from(args: Any, out: TextIO) -> Style:
    mode = getattr(args, "color", "auto")
    colour = mode == "on" or (
        mode == "auto"
        and not os.environ.get("NO_COLOR")
        and getattr(out, "isatty", lambda: False)()
    )
    return Style(
        output=getattr(args, "output", "table") or "table",
        query=getattr(args, "query", None),
        truncate=not getattr(args, "no_truncate", False),
        colour=bool(colour) and mode != "off",
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def display_width(text: str) -> int:
    """Columns a terminal uses for `text`: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def _cell(value: Any, width: int | None) -> str:
    text = " ".join(_text(value).split())
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _paint(text: str, raw: str, colour: bool) -> str:
    code = _STATUS_COLOURS.get(raw.strip())
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    max_width: int | None = 48,
    colour: bool = False,
) -> None:
    if not rows:
        out.write("(none)\n")
        return
    cells = [[_cell(r.get(c), max_width) for c in columns] for r in rows]
    widths = [max(len(c), *(display_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
    out.write((f"\033[1m{header}\033[0m" if colour else header) + "\n")
    for row in cells:
        line = "  ".join(
            _paint(_pad(v, w), v, colour) for v, w in zip(row, widths, strict=True)
        ).rstrip()
        out.write(line + "\n")


def _scalar(value: Any) -> bool:
    return not isinstance(value, list | dict)


def _text_row(item: dict[str, Any], keys: Sequence[str], name: str, out: TextIO) -> None:
    """One item as the AWS CLI prints it: its scalar values (a list of scalars spread over
    the row) tab-separated, then each nested object or list of objects as its own rows,
    named by the key in upper case."""
    cells: list[str] = [name] if name else []
    nested: list[tuple[str, Any]] = []
    for key in keys:
        value = item.get(key)
        if isinstance(value, list) and all(_scalar(v) for v in value):
            cells += [" ".join(_text(v).split()) for v in value]
        elif _scalar(value):
            cells.append(" ".join(_text(value).split()) if value is not None else "None")
        else:
            nested.append((key, value))
    if cells:
        out.write("\t".join(cells) + "\n")
    for key, value in nested:
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, dict):
                _text_row(child, list(child), key.upper(), out)
            else:
                out.write(f"{key.upper()}\t{_text(child)}\n")


def _as_text(data: Any, columns: Sequence[str] | None, out: TextIO) -> None:
    """The AWS CLI's text output: one line per item, values separated by tabs; lists of
    scalars spread over the line, nested objects on their own lines (KEY first)."""
    if isinstance(data, list):
        if data and all(_scalar(v) for v in data):
            out.write("\t".join(_text(v) for v in data) + "\n")
            return
        for item in data:
            if isinstance(item, dict):
                _text_row(item, columns or list(item), "", out)
            else:
                _as_text(item, None, out)
    elif isinstance(data, dict):  # one object: its scalars on one line, then its parts
        _text_row(data, list(data), "", out)
    elif data is not None:
        out.write(_text(data) + "\n")


def emit(
    data: Any,
    style: Style | str,
    out: TextIO,
    columns: Sequence[str] | None = None,
    max_width: int = 48,
) -> None:
    if isinstance(style, str):
        style = Style(output=style)
    if style.query:
        try:
            data = jmespath.search(style.query, data)
        except JMESPathError as exc:
            raise QueryError(f"bad --query {style.query!r}: {exc}") from None
        columns = None if not isinstance(data, list) else columns
        if isinstance(data, list) and data and isinstance(data[0], dict) and columns:
            columns = [c for c in columns if c in data[0]] or None
    if style.output == "json":
        out.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
        return
    if style.output == "yaml":
        import yaml

        out.write(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
        return
    if style.output == "text":
        _as_text(data, columns, out)
        return
    width = None if not style.truncate else max_width
    if isinstance(data, list):
        if data and not isinstance(data[0], dict):
            for item in data:
                out.write(_cell(item, width) + "\n")
            return
        table(data, columns or (list(data[0].keys()) if data else []), out, width, style.colour)
        return
    if isinstance(data, dict):
        for key, value in data.items():
            out.write(f"{key:>18}: {_text(value)}\n")
        return
    out.write(_text(data) + "\n")
