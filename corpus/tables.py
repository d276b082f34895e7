"""专栏 boxes: the flattened indicator table (one record per row) and project items.

A table pasted from a web page arrives one cell per line: a line starting with a tab opens a cell,
a short line without a tab continues the previous cell (a category printed one character per
line, a value wrapped over two lines). Merged cells arrive empty and are inherited from the row
above within the same group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.numbering import match_numbering
from corpus.text import compact, normalize

_MAX_CONTINUATION = 4  # characters: "规划", "单位", "童", "提高"
_UNIT_SUFFIX = re.compile(r"[（(]([^（）()]+)[）)]$")
_YEAR = re.compile(r"(\d{4})")
_PROJECT = re.compile(r"^(?P<name>[^：:，,。；;、\s]{2,30}?(?:项目|工程|行动|计划))\s*[：:]")
_UNIT_LABELS = {
    "责任单位": "responsible_unit",
    "牵头单位": "lead_unit",
    "参与单位": "participating_units",
    "配合单位": "participating_units",
}
_UNIT_SPLIT = re.compile(r"[，,；;]\s*(?=(?:" + "|".join(_UNIT_LABELS) + r")\s*[:：])")


@dataclass(frozen=True)
class Cell:
    """One table cell: its text (wrapped lines joined) and 0-based first/last source line."""

    text: str
    first: int
    last: int


@dataclass(frozen=True)
class TableRow:
    """One indicator row: role -> value (category, number, indicator, unit, target_YYYY,
    attribute, responsible_unit), the cells rendered as one line, and its 0-based line span."""

    fields: dict[str, str]
    rendered: str
    first: int
    last: int
    inherited_number: bool


@dataclass(frozen=True)
class Table:
    """A parsed table: header labels, the last header line, its rows and the index after it."""

    header: tuple[str, ...]
    header_last: int
    rows: tuple[TableRow, ...]
    end: int


def read_cells(lines: Sequence[str], start: int) -> tuple[list[Cell], int]:
    """Read tab-led cells from `start`; return them and the index of the first line after them."""
    cells: list[Cell] = []
    index, end = start, start
    while index < len(lines):
        raw = lines[index]
        if raw.startswith("\t"):
            cells.append(Cell(raw.strip(), index, index))
            end = index + 1
        elif raw.strip():
            key = compact(raw)
            if not cells or len(key) > _MAX_CONTINUATION or match_numbering(raw):
                break
            last = cells[-1]
            first = last.first if last.text else index
            cells[-1] = Cell(last.text + key, first, index)
            end = index + 1
        index += 1
    return cells, end


def parse_table(lines: Sequence[str], start: int) -> Table | None:
    """Parse a flattened table starting at `start`; None when the lines there are not one.

    The column count is read from the data: the first purely numeric cell is the first row's
    序号, so the cells before the 序号 header repeat that many columns.
    """
    first_text = next((i for i in range(start, min(start + 3, len(lines))) if lines[i].strip()), None)
    if first_text is None or not lines[first_text].startswith("\t"):
        return None
    cells, end = read_cells(lines, start)
    number_column = next((i for i, cell in enumerate(cells[:20]) if "序号" in cell.text), None)
    first_number = next((i for i, cell in enumerate(cells) if cell.text.isdigit()), None)
    if number_column is None or first_number is None or first_number <= number_column:
        return None
    width = first_number - number_column
    header = tuple(cell.text for cell in cells[:width])
    roles = [_role(label) for label in header]
    rows: list[TableRow] = []
    previous: dict[str, str] = {}
    for offset in range(width, len(cells), width):
        row_cells = cells[offset : offset + width]
        values = {role: cell.text for role, cell in zip(roles, row_cells, strict=False) if role}
        inherited = not values.get("number")
        for role in ("category", "number"):
            if not values.get(role) and previous.get(role):
                values[role] = previous[role]
        if inherited:
            for role in ("attribute", "responsible_unit"):
                if not values.get(role) and previous.get(role):
                    values[role] = previous[role]
        unit = _UNIT_SUFFIX.search(values.get("indicator", ""))
        if unit:
            values["unit"] = unit.group(1)
        filled = [cell for cell in row_cells if cell.text]
        if not filled:
            continue
        rendered = "；".join(
            f"{label}：{values[role]}"
            for label, role in zip(header, roles, strict=False)
            if role and values.get(role)
        )
        rows.append(
            TableRow(
                fields={k: v for k, v in values.items() if v},
                rendered=rendered,
                first=min(cell.first for cell in filled),
                last=max(cell.last for cell in filled),
                inherited_number=inherited,
            )
        )
        previous = values
    header_cells = cells[:width]
    return Table(header, max(cell.last for cell in header_cells), tuple(rows), end)


def _role(label: str) -> str | None:
    if "类别" in label:
        return "category"
    if "序号" in label:
        return "number"
    if "属性" in label:
        return "attribute"
    if "名称" in label or label in ("指标", "项目", "内容"):
        return "indicator"
    year = _YEAR.search(label)
    if year:
        return f"target_{year.group(1)}"
    if "责任" in label or "单位" in label:
        return "responsible_unit"
    return None


def match_project(line: str) -> str | None:
    """Return the project name of a 专栏 item line ("儿童医务人员提升项目：…"), else None."""
    found = _PROJECT.match(normalize(line).strip())
    return line.strip()[: len(found.group("name"))] if found else None


def unit_fields(text: str) -> dict[str, str]:
    """Read the responsibility note at the end of a clause: （责任单位：…） or (牵头单位:…,参与单位:…)."""
    norm = normalize(text)
    start = max(norm.rfind("责任单位"), norm.rfind("牵头单位"))
    if start < 0:
        return {}
    end = norm.find(")", start)
    segment = text[start : end if end >= 0 else len(text)]
    fields: dict[str, str] = {}
    for part in _UNIT_SPLIT.split(segment):
        label, _, value = normalize(part).partition(":")
        key = _UNIT_LABELS.get(label.strip())
        original = part[len(part) - len(value) :].strip() if value else ""
        if key and original and key not in fields:
            fields[key] = original.rstrip("。")
    return fields
