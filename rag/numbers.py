"""Clause numbers as printed ("(17)", "17.", "（三）", "三、", "第三条", "①") reduced to comparable keys."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_UNITS = {"十": 10, "百": 100}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
NUMERAL = r"[0-9零〇一二两三四五六七八九十百]+"

# Styles of numbering, from outermost to innermost as used in Chinese official documents.
STYLE_ARTICLE = "article"  # 第三条
STYLE_CN = "cn"  # 三、
STYLE_PAREN_CN = "paren_cn"  # （三）
STYLE_ARABIC = "arabic"  # 3. 3． 3、
STYLE_PAREN_ARABIC = "paren_arabic"  # (3)
STYLE_CIRCLED = "circled"  # ③
STYLE_COLUMN = "column"  # 专栏三

_PATTERNS = (
    (STYLE_ARTICLE, re.compile(rf"^第({NUMERAL})[条款项]$")),
    (STYLE_COLUMN, re.compile(rf"^专栏({NUMERAL})$")),
    (STYLE_CN, re.compile(r"^([零〇一二两三四五六七八九十百]+)[、.]$")),
    (STYLE_PAREN_CN, re.compile(r"^\(([零〇一二两三四五六七八九十百]+)\)$")),
    (STYLE_ARABIC, re.compile(r"^(\d+)[.、]?$")),
    (STYLE_PAREN_ARABIC, re.compile(r"^\((\d+)\)$")),
)


def cn_to_int(numeral: str) -> int | None:
    """Convert an Arabic or Chinese numeral below 1000 to int; None if it is not one."""
    if numeral.isdigit():
        return int(numeral)
    total, current = 0, 0
    for char in numeral:
        if char in CN_DIGITS:
            current = CN_DIGITS[char]
        elif char in CN_UNITS:
            total += (current or 1) * CN_UNITS[char]
            current = 0
        else:
            return None
    return total + current


@dataclass(frozen=True)
class NumberKey:
    """A clause number as (style, value), e.g. "(17)" -> ("paren_arabic", 17)."""

    style: str
    value: int


def parse_number(printed: str | None) -> NumberKey | None:
    """Return the key of a clause number as printed, or None when it is not a recognised number."""
    if not printed:
        return None
    stripped = printed.strip()
    if len(stripped) == 1 and stripped in CIRCLED:  # before NFKC, which folds ⑤ into 5
        return NumberKey(STYLE_CIRCLED, CIRCLED.index(stripped) + 1)
    text = unicodedata.normalize("NFKC", stripped).replace(" ", "")
    for style, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            value = cn_to_int(match.group(1))
            if value is not None:
                return NumberKey(style, value)
    return None


def heading_number(heading: str) -> NumberKey | None:
    """Return the key of the number a heading starts with ("（四）推进..." -> paren_cn 4)."""
    stripped = heading.strip()
    if stripped[:1] and stripped[0] in CIRCLED:
        return NumberKey(STYLE_CIRCLED, CIRCLED.index(stripped[0]) + 1)
    text = unicodedata.normalize("NFKC", stripped)
    match = re.match(
        rf"^(第{NUMERAL}[编章节条]|{NUMERAL}[、.]|\({NUMERAL}\)|专栏{NUMERAL}|[{CIRCLED}])", text
    )
    if not match:
        return None
    token = match.group(1)
    chapter = re.match(rf"^第({NUMERAL})[编章节]$", token)
    if chapter:
        value = cn_to_int(chapter.group(1))
        return NumberKey("chapter", value) if value is not None else None
    return parse_number(token)
