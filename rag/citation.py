"""Citations in the style staff use in 公文, and the short clause labels shown on cards.

A citation reads 《标题》（发文字号）, then the section path in words (each heading as printed, in
quotation marks), then the item, then the issuing body and date:

    《重庆市大渡口区儿童发展规划（2021-2030年）》（大渡口府发〔2023〕7号）“二、重点任务”
    “（二）完善多维立体儿童安全防护网络”第4项（重庆市大渡口区人民政府，2023年2月27日）

Brackets are full-width throughout (the source mixes "(17)" and "（17）"), a dangling "．" is never left,
and the item is named by what the document numbers: "第4项" for item 4 of a （二）, "第34行" for row 34 of a
专栏 table (never "第34条", which would read as an article of the whole document). Items with no number of
their own (——lead items, 专栏 projects, preamble paragraphs) are named by their opening words, so every
clause of a document gets a citation of its own. Clause text itself is never changed: only the citation
is normalised.
"""

from __future__ import annotations

import re

from corpus.models import KIND_HEADING, KIND_INDICATOR, KIND_PROJECT, Clause, DocumentMeta
from corpus.numbering import (
    STYLE_ARABIC_DOT,
    STYLE_ARABIC_PAREN,
    STYLE_ARTICLE,
    STYLE_BOX,
    STYLE_CHAPTER,
    STYLE_CIRCLED,
    STYLE_CN_COMMA,
    STYLE_CN_PAREN,
    STYLE_DASH,
    STYLE_PARAGRAPH,
    STYLE_PART,
    STYLE_SECTION,
    Numbering,
    format_number,
    match_numbering,
)

OPENING_CHARS = 16  # opening words quoted for an unnumbered paragraph
LEAD_MAX_CHARS = 30  # a lead phrase ("——儿童优先、普惠共享。") longer than this is body text
_LEGAL_STYLES = (STYLE_PART, STYLE_CHAPTER, STYLE_SECTION, STYLE_ARTICLE, STYLE_PARAGRAPH)
_HALF_TO_FULL = str.maketrans({"(": "（", ")": "）", ",": "，", ";": "；", "[": "〔", "]": "〕"})
_COLON = re.compile(r"(?<!\d):|:(?!\d)")  # "8:30" keeps its colon
_DOT_AFTER_DIGIT = re.compile(r"(?<=\d)．")
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")
_CLAUSE_END = "。；;，,：:"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_citation(clause: Clause, doc: DocumentMeta, *, with_source: bool = True) -> str:
    """Return the ready-to-copy citation of `clause` (see the module docstring for its form).

    `with_source=False` leaves out the trailing （issuing body，date） where space is short.
    """
    head = _title(doc.title) + (f"（{_tidy(doc.doc_number)}）" if doc.doc_number else "")
    path = "".join(f"“{_heading_words(h)}”" for h in clause.path)
    source = "，".join(part for part in (_tidy(doc.issuer or ""), _chinese_date(doc)) if part)
    return head + path + _item(clause) + (f"（{source}）" if source and with_source else "")


def clause_label(clause: Clause) -> str:
    """Return what the document numbers this clause, e.g. "（二）第4项", "专栏一第34行", "第（17）项".

    The label is short, for a card's provenance line; the citation carries the full path.
    """
    if clause.kind == KIND_INDICATOR:
        return f"{_box_name(clause.path)}第{clause.number}行" if clause.number else _box_name(clause.path)
    if clause.kind == KIND_PROJECT:
        return f"{_box_name(clause.path)}“{_project_name(clause)}”"
    numbering = _own_numbering(clause)
    if numbering is None or numbering.value is None:
        return f"“{_lead_words(clause)}”"
    number = format_number(numbering.style, numbering.value)
    parent = _parent_numbering(clause)
    prefix = format_number(parent.style, parent.value) if parent and parent.value is not None else ""
    if numbering.style == STYLE_BOX or numbering.style in _LEGAL_STYLES:
        return number
    if numbering.style == STYLE_CN_COMMA:
        return f"第{number.rstrip('、')}部分"
    if numbering.style == STYLE_CN_PAREN:
        return f"{prefix}第{number}项" if parent and parent.style == STYLE_ARTICLE else f"{prefix}{number}"
    if numbering.style == STYLE_ARABIC_DOT:
        return f"{prefix}第{numbering.value}项"
    if numbering.style == STYLE_ARABIC_PAREN and not (parent and parent.style in _LEGAL_STYLES):
        return f"第{number}项"  # （1）… run on through a whole plan: the number alone says which
    return f"{prefix}第{number}项"  # ① under its （1）, or an item of a 第X条


# --- the parts of a citation --------------------------------------------------------------------


def _item(clause: Clause) -> str:
    """The clause itself, after its section path."""
    if clause.kind == KIND_INDICATOR:
        name = _tidy(clause.fields.get("indicator", ""))
        row = f"第{clause.number}行" if clause.number else ""
        return row + (f"“{name}”" if name else "")
    if clause.kind == KIND_PROJECT:
        return f"“{_project_name(clause)}”"
    numbering = _own_numbering(clause)
    if clause.kind == KIND_HEADING or numbering is None or numbering.value is None:
        words = _heading_words(_first_line(clause)) if clause.kind == KIND_HEADING else _lead_words(clause)
        return f"“{words}”"
    number = format_number(numbering.style, numbering.value)
    if numbering.style == STYLE_BOX or numbering.style in _LEGAL_STYLES:
        return number
    if numbering.style == STYLE_CN_COMMA:
        return f"第{number.rstrip('、')}部分"
    if numbering.style == STYLE_ARABIC_DOT:
        return f"第{numbering.value}项"
    return f"第{number}项"  # （五） （17） ①


def _title(title: str) -> str:
    title = _tidy(title)
    return title if title.startswith("《") else f"《{title}》"  # 《…》政策解读 keeps its own marks


def _heading_words(heading: str) -> str:
    """A heading as printed, normalised: full-width brackets, canonical number, no end punctuation."""
    raw = " ".join(heading.split())
    found = match_numbering(raw)
    if found is None or found.value is None or found.style == STYLE_DASH:
        return _tidy(raw).rstrip(_CLAUSE_END)
    rest = _tidy(found.rest).rstrip(_CLAUSE_END)
    number = format_number(found.style, found.value)
    # "专栏三 儿童安全…" and "第二章 政府职责" keep their space; "（二）完善…" has none.
    spaced = found.style == STYLE_BOX or found.style in _LEGAL_STYLES
    return f"{number} {rest}" if spaced and rest else number + rest


def _lead_words(clause: Clause) -> str:
    """An unnumbered clause's lead phrase ("——儿童优先、普惠共享"), else its opening words."""
    lead = clause.fields.get("heading", "").strip()
    if lead and len(lead) <= LEAD_MAX_CHARS and not lead.startswith(clause.number or "\0"):
        return _tidy(lead).rstrip(_CLAUSE_END)
    line = _tidy(_first_line(clause))
    cut = min((line.find(p) for p in "。；！？" if p in line), default=len(line))
    words = line[: min(cut, OPENING_CHARS)].rstrip(_CLAUSE_END)
    return words + ("……" if len(words) < len(line.rstrip("。")) else "")


def _project_name(clause: Clause) -> str:
    name = clause.fields.get("name", "").strip()
    return _tidy(name) if name else _lead_words(clause)


def _box_name(path: tuple[str, ...]) -> str:
    """ "专栏一" from the 专栏 heading the row or project sits in ('' when there is none)."""
    for heading in reversed(path):
        found = match_numbering(heading)
        if found is not None and found.style == STYLE_BOX and found.value is not None:
            return format_number(STYLE_BOX, found.value)
    return ""


def _own_numbering(clause: Clause) -> Numbering | None:
    """The clause's number as the parser read it (None when it has none)."""
    source = (clause.number or "").strip()
    found = match_numbering(source) if source else None
    return None if found is None or found.style == STYLE_DASH else found


def _parent_numbering(clause: Clause) -> Numbering | None:
    if not clause.path:
        return None
    found = match_numbering(clause.path[-1])
    return found if found is not None and found.style not in (STYLE_DASH, STYLE_CIRCLED) else None


def _first_line(clause: Clause) -> str:
    for line in clause.text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def _tidy(text: str) -> str:
    """Full-width brackets and punctuation, "4．" -> "4.", no stray spaces between Chinese characters."""
    text = _COLON.sub("：", text.translate(_HALF_TO_FULL))
    text = _DOT_AFTER_DIGIT.sub(".", text)
    return _SPACE_BETWEEN_CJK.sub("", text.strip())


def _chinese_date(doc: DocumentMeta) -> str:
    """成文日期 (else 发布日期) as 2023年2月27日."""
    found = _ISO_DATE.match(doc.date_written or doc.date_published or "")
    return f"{found.group(1)}年{int(found.group(2))}月{int(found.group(3))}日" if found else ""


__all__ = ["clause_label", "format_citation"]
