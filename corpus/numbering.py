"""Recognise every numbering level of Chinese official documents on one line.

One pass, one table of patterns: 第X编/章/节/条/款, 一、, （一）/(一), 1./1．/1、, （1）/(1), ①,
"——" lead items and 专栏N boxes. Matching runs on the width-normalised line (see `text.normalize`,
which maps characters one to one), so the printed number is cut from the original line unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.sentences import first_full_stop
from corpus.text import compact, normalize

STYLE_PART = "part"  # 第X编
STYLE_CHAPTER = "chapter"  # 第X章
STYLE_SECTION = "section"  # 第X节
STYLE_ARTICLE = "article"  # 第X条
STYLE_PARAGRAPH = "paragraph"  # 第X款
STYLE_CN_COMMA = "cn_comma"  # 一、
STYLE_CN_PAREN = "cn_paren"  # （一） (一)
STYLE_ARABIC_DOT = "arabic_dot"  # 1. 1． 1、
STYLE_ARABIC_PAREN = "arabic_paren"  # （1） (1)
STYLE_CIRCLED = "circled"  # ①
STYLE_DASH = "dash"  # ——lead item
STYLE_BOX = "box"  # 专栏N

# The statute levels have a fixed order; all other styles nest in the order a document uses them.
LEGAL_RANK = {STYLE_PART: 0, STYLE_CHAPTER: 1, STYLE_SECTION: 2, STYLE_ARTICLE: 3, STYLE_PARAGRAPH: 4}
_LEGAL_UNIT = {
    "编": STYLE_PART,
    "章": STYLE_CHAPTER,
    "节": STYLE_SECTION,
    "条": STYLE_ARTICLE,
    "款": STYLE_PARAGRAPH,
}

_CN_NUM = "零〇一二三四五六七八九十百千两"
# A number as printed or typed, in Arabic or Chinese numerals (17, 十七, 一百零三).
NUMERAL = rf"[0-9{_CN_NUM}]+"
_CN_VALUES = {
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
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

_LEGAL_RE = re.compile(rf"第([{_CN_NUM}\d]{{1,6}})([编章节条款])")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (STYLE_BOX, re.compile(rf"专栏\s*([{_CN_NUM}\d]{{1,3}})(?=\s|$|[:：])")),
    (STYLE_CN_COMMA, re.compile(rf"([{_CN_NUM}]{{1,3}})、")),
    (STYLE_CN_PAREN, re.compile(rf"\(([{_CN_NUM}]{{1,3}})\)")),
    (STYLE_ARABIC_PAREN, re.compile(r"\((\d{1,3})\)")),
    (STYLE_ARABIC_DOT, re.compile(r"(\d{1,3})(?:\.|、)(?!\d)")),
    (STYLE_CIRCLED, re.compile(f"([{_CIRCLED}])")),
    (STYLE_DASH, re.compile(r"(——)(?!—)")),
)

# Heading glued to its body with no punctuation ("加强组织领导发挥党委领导…"): the heading ends with
# one of these nouns and the body starts with one of these verbs.
_HEADING_FINAL = (
    "建设",
    "领导",
    "保障",
    "体系",
    "机制",
    "服务",
    "管理",
    "工作",
    "发展",
    "环境",
    "能力",
    "水平",
    "制度",
    "规划",
    "引导",
    "保护",
    "教育",
    "空间",
    "监测",
    "评估",
    "宣传",
    "交流",
    "合作",
    "治理",
)
_BODY_INITIAL = (
    "发挥",
    "关注",
    "坚持",
    "加强",
    "推进",
    "推动",
    "落实",
    "建立",
    "完善",
    "健全",
    "实施",
    "开展",
    "统筹",
    "组织",
    "鼓励",
    "支持",
    "强化",
    "深化",
    "提高",
    "提升",
    "优化",
    "积极",
    "全面",
    "依托",
    "围绕",
    "按照",
    "根据",
    "加快",
    "加大",
    "探索",
    "引导",
    "深入",
    "切实",
    "大力",
    "立足",
    "聚焦",
)


@dataclass(frozen=True)
class Numbering:
    """A numbering token at the start of a line.

    `printed` is the number exactly as in the source ("（三）", "17.", "第三条", "——");
    `value` its integer value (None for "——"); `rest` the original text after it;
    `separated` whether whitespace or punctuation follows the number (matters for 第X条).
    """

    style: str
    printed: str
    value: int | None
    rest: str
    separated: bool


def cn_to_int(text: str) -> int | None:
    """Return the value of a Chinese (一 … 九百九十九) or Arabic numeral string, None if not one."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in _CN_VALUES:
            current = _CN_VALUES[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "千":
            total += (current or 1) * 1000
            current = 0
        else:
            return None
    return total + current


def match_numbering(line: str) -> Numbering | None:
    """Return the numbering token that opens `line` (leading whitespace ignored), or None."""
    stripped = line.strip()
    norm = normalize(stripped)
    legal = _LEGAL_RE.match(norm)
    if legal:
        value = cn_to_int(legal.group(1))
        if value is None:
            return None
        end = legal.end()
        after = norm[end : end + 1]
        return Numbering(
            style=_LEGAL_UNIT[legal.group(2)],
            printed=stripped[:end],
            value=value,
            rest=stripped[end:],
            separated=after == "" or after.isspace() or after in "　:：、.",
        )
    for style, pattern in _PATTERNS:
        found = pattern.match(norm)
        if not found:
            continue
        value = None if style == STYLE_DASH else _token_value(found.group(1))
        if style != STYLE_DASH and value is None:
            continue
        end = found.end()
        return Numbering(
            style=style,
            printed=stripped[:end].rstrip(),
            value=value,
            rest=stripped[end:],
            separated=True,
        )
    return None


def _token_value(token: str) -> int | None:
    if token in _CIRCLED:
        return _CIRCLED.index(token) + 1
    return cn_to_int(token)


def format_number(style: str, value: int, like: str | None = None) -> str:
    """Render `value` in `style`, copying the punctuation of `like` (a printed sibling) when given."""
    cn = _int_to_cn(value)
    if style == STYLE_CN_COMMA:
        return f"{cn}、"
    if style == STYLE_CN_PAREN:
        return f"（{cn}）" if like is None or like.startswith("（") else f"({cn})"
    if style == STYLE_ARABIC_PAREN:
        return f"（{value}）" if like is None or like.startswith("（") else f"({value})"
    if style == STYLE_ARABIC_DOT:
        mark = like[-1] if like and like[-1] in ".．、" else "."
        return f"{value}{mark}"
    if style == STYLE_CIRCLED and 1 <= value <= len(_CIRCLED):
        return _CIRCLED[value - 1]
    if style == STYLE_BOX:
        return f"专栏{cn}"
    for unit, legal_style in _LEGAL_UNIT.items():
        if legal_style == style:
            return f"第{cn}{unit}"
    return str(value)


def _int_to_cn(value: int) -> str:
    digits = "零一二三四五六七八九"
    if value < 10:
        return digits[value]
    if value < 20:
        return "十" + (digits[value % 10] if value % 10 else "")
    if value < 100:
        return digits[value // 10] + "十" + (digits[value % 10] if value % 10 else "")
    return str(value)


@dataclass(frozen=True)
class HeadingParts:
    """The heading of a numbered line: `title` as printed (number included) and whether body text
    follows it on the same line."""

    title: str
    inline_body: bool


def split_heading(line: str, numbering: Numbering) -> HeadingParts:
    """Split a numbered line into its heading and inline body at the first sentence end."""
    stripped = line.strip()
    if numbering.style in (STYLE_ARTICLE, STYLE_PARAGRAPH):
        # 第X条 carries no title of its own; the whole line is body text.
        return HeadingParts(numbering.printed, inline_body=bool(compact(numbering.rest)))
    rest = numbering.rest
    cut = first_full_stop(rest)
    if cut == -1 or cut >= len(rest.rstrip()) - 1:
        # One long declarative sentence is body text; a phrase or a question is a heading.
        key = compact(rest)
        long_sentence = len(key) > 30 and key.endswith("。")
        return HeadingParts(stripped, inline_body=long_sentence)
    head = stripped[: len(stripped) - len(rest) + cut + 1]
    return HeadingParts(head, inline_body=True)


def first_sentence_length(rest: str) -> int:
    """Length of the text up to the first sentence end (whole text when there is none)."""
    cut = first_full_stop(rest)
    return len(compact(rest if cut == -1 else rest[: cut + 1]))


def split_glued_heading(rest: str, max_len: int = 20) -> int | None:
    """Find where a heading glued to its body ends ("加强组织领导|发挥党委领导…"); None if unsure."""
    for end in range(4, min(max_len, len(rest) - 2) + 1):
        head, tail = rest[:end], rest[end:]
        if any(head.endswith(word) for word in _HEADING_FINAL) and tail.startswith(_BODY_INITIAL):
            return end
    return None
