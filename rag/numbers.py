"""Clause numbers as printed ("(17)", "17.", "（三）", "三、", "第三条", "①") reduced to comparable keys.

The recognition itself is the parser's (`corpus.numbering`): a reference typed by a user and a number
printed in a document are read by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.numbering import STYLE_ARABIC_DOT, match_numbering


@dataclass(frozen=True)
class NumberKey:
    """A clause number as (style, value), e.g. "(17)" -> ("arabic_paren", 17)."""

    style: str
    value: int


def heading_number(heading: str) -> NumberKey | None:
    """Return the key of the number a heading starts with ("（四）推进..." -> cn_paren 4)."""
    found = match_numbering(heading)
    if found is None or found.value is None:
        return None
    return NumberKey(found.style, found.value)


def parse_number(printed: str | None) -> NumberKey | None:
    """Return the key of a clause number as printed (the whole string), or None when it is not one."""
    if not printed:
        return None
    text = printed.strip()
    if text.isascii() and text.isdigit():  # a table row's 序号 cell
        return NumberKey(STYLE_ARABIC_DOT, int(text))
    found = match_numbering(text)
    if found is None or found.value is None or found.rest.strip():
        return None
    return NumberKey(found.style, found.value)
