"""Clause references resolved by lookup, not similarity: "长宁区行动计划第(20)条", "广西方案第17条",
"大渡口规划重点任务(四)第2条", "渝中区三年行动计划第(44)项", or a 发文字号 with or without a clause after
it ("渝中府办〔2024〕7号第(17)条", "渝中府办[2024]7号第17条", "渝中府办【2024】7号（17）")."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.docnumber import CLOSE_BRACKETS, OPEN_BRACKETS, DocNumber, find_doc_number, parse_doc_number
from corpus.models import KIND_PREAMBLE, Clause, DocumentMeta
from corpus.numbering import (
    NUMERAL,
    STYLE_ARABIC_DOT,
    STYLE_ARABIC_PAREN,
    STYLE_ARTICLE,
    STYLE_CHAPTER,
    STYLE_CN_COMMA,
    STYLE_CN_PAREN,
    STYLE_SECTION,
    cn_to_int,
)
from rag.numbers import NumberKey, heading_number, parse_number
from rag.places import PlaceIndex

# The target of a reference: 第(20)条 / 第17条 / 第二项 / 第（三）部分 / (44)项.
_TARGET = re.compile(
    rf"第\s*(\(?)\s*({NUMERAL})\s*(\)?)\s*(条|项|款|点|部分|章|节)"
    rf"|(\()\s*({NUMERAL})\s*(\))\s*(条|项|款|点|$|的|是|讲|说|呢)"
)
# Section qualifiers written before the target: (四) / 四、 / 第四部分.
_SECTION = re.compile(rf"\(({NUMERAL})\)|(?<![0-9])({NUMERAL})、")
DOC_TYPE_WORDS = ("行动计划", "实施方案", "方案", "规划", "政策解读", "解读", "计划", "通知", "意见", "办法")
# Numbers are typed in any of the brackets a 发文字号 accepts: "第[17]条", "【四】".
_BRACKETS = str.maketrans({**dict.fromkeys(OPEN_BRACKETS, "("), **dict.fromkeys(CLOSE_BRACKETS, ")")})


@dataclass(frozen=True)
class ClauseReference:
    """A parsed reference: the target number, optional section numbers and section words."""

    target: NumberKey | None
    any_style: bool  # "第17条" without brackets: any arabic style matches
    sections: tuple[NumberKey, ...]
    doc_number: DocNumber | None
    prefix: str = ""  # the words before the target, which may name its section ("实施保障(二)")
    explicit: bool = True  # "第(20)条" or a 发文字号; a bare "(82)" counts only after a document's name


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_BRACKETS).replace(" ", "")


def parse_reference(question: str) -> ClauseReference | None:
    """Return the clause reference a question makes, or None when it makes none."""
    text = _fold(question)
    doc_number: DocNumber | None = None
    found_number = find_doc_number(text)
    if found_number is not None:
        doc_number, (start, end) = found_number
        # Its year in brackets is no section number: "(2024)" is blanked before numbers are read.
        text = f"{text[:start]} {text[end:]}"
    matches = list(_TARGET.finditer(text))
    target_match = matches[-1] if matches else None  # the last number named is the target
    if not target_match and not doc_number:
        return None
    target: NumberKey | None = None
    any_style = False
    sections: list[NumberKey] = []
    if target_match:
        if target_match.group(2):
            open_, numeral, unit = target_match.group(1), target_match.group(2), target_match.group(4)
        else:
            open_, numeral, unit = "(", target_match.group(6), target_match.group(8)
        value = cn_to_int(numeral)
        if value is None:
            return None
        if unit in ("章", "节"):
            target = NumberKey(STYLE_CHAPTER if unit == "章" else STYLE_SECTION, value)
        elif open_:
            target = NumberKey(STYLE_ARABIC_PAREN if numeral.isdigit() else STYLE_CN_PAREN, value)
        else:
            target, any_style = NumberKey(STYLE_ARABIC_DOT, value), True
        for sec in _SECTION.finditer(text[: target_match.start()]):
            numeral = sec.group(1) or sec.group(2)
            sec_value = cn_to_int(numeral)
            if sec_value is None:
                continue
            is_cn = not numeral.isdigit()
            if sec.group(1):
                sections.append(NumberKey(STYLE_CN_PAREN if is_cn else STYLE_ARABIC_PAREN, sec_value))
            else:
                sections.append(NumberKey(STYLE_CN_COMMA if is_cn else STYLE_ARABIC_DOT, sec_value))
    prefix = text[: target_match.start()] if target_match else ""
    explicit = doc_number is not None or (target_match is not None and target_match.group(2) is not None)
    return ClauseReference(target, any_style, tuple(sections), doc_number, prefix, explicit)


def _doc_scores(question: str, documents: Sequence[DocumentMeta], places: PlaceIndex) -> dict[str, float]:
    text = _fold(question)
    named = places.docs_for(places.find(question).covered)
    scores: dict[str, float] = {}
    for doc in documents:
        score = 0.0
        if doc.id in named:
            score += 2
        doc_type = doc.type or ""
        for word in DOC_TYPE_WORDS:
            if word in text and (word in doc_type or word in _fold(doc.title)):
                score += 1
                break
        if doc_type == "政策解读" and "解读" not in text:
            score -= 1.5
        scores[doc.id] = score
    return scores


def _names_document(typed: DocNumber, document: DocumentMeta) -> bool:
    number = parse_doc_number(document.doc_number) if document.doc_number else None
    return number is not None and typed.names(number)


def _matches(key: NumberKey | None, ref: ClauseReference) -> bool:
    if key is None or ref.target is None:
        return False
    if ref.any_style:
        return key.value == ref.target.value and key.style in (
            STYLE_ARABIC_DOT,
            STYLE_ARABIC_PAREN,
            STYLE_ARTICLE,
        )
    return key == ref.target


def resolve_reference(
    question: str,
    clauses: Sequence[Clause],
    documents: Sequence[DocumentMeta],
    places: PlaceIndex,
    default_doc: str | None = None,
) -> list[Clause]:
    """Return the clauses a question refers to (best first), or [] when it refers to none.

    `default_doc` is the document of the conversation so far ("第二条呢？").
    """
    ref = parse_reference(question)
    if ref is None:
        return []
    if ref.doc_number:
        docs = [d for d in documents if _names_document(ref.doc_number, d)]
        if not docs:
            return []
        if ref.target is None:
            # The document itself: its 通知 or opening text first.
            own = [c for c in clauses if c.doc_id == docs[0].id]
            return sorted(own, key=lambda c: c.kind != KIND_PREAMBLE)[:3]
        candidate_docs = [docs[0].id]
    else:
        scores = _doc_scores(question, documents, places)
        best = max(scores.values(), default=0.0)
        if best > 0:
            candidate_docs = [d for d, s in scores.items() if s == best]
        elif not ref.explicit:
            return []
        elif default_doc:
            candidate_docs = [default_doc]
        else:
            candidate_docs = [d.id for d in documents]
    found: list[Clause] = []
    for clause in clauses:
        if clause.doc_id not in candidate_docs or not _matches(parse_number(clause.number), ref):
            continue
        heading_keys = [heading_number(h) for h in clause.path]
        if all(sec in heading_keys for sec in ref.sections):
            found.append(clause)
    found = _in_named_section(found, ref.prefix)
    # A bare "第17条" may match several list levels; the longest list wins (the document's item sequence).
    if ref.any_style and len(found) > 1:
        by_style: dict[str, list[Clause]] = {}
        for clause in found:
            key = parse_number(clause.number)
            if key:
                by_style.setdefault(key.style, []).append(clause)
        order = (STYLE_ARTICLE, STYLE_ARABIC_PAREN, STYLE_ARABIC_DOT)
        found = [c for style in order for c in by_style.get(style, [])]
    found.sort(key=lambda c: candidate_docs.index(c.doc_id))
    return found


_SECTION_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")


def _in_named_section(found: list[Clause], prefix: str) -> list[Clause]:
    """Keep the clauses under a heading named in `prefix` ("组织实施(二)"), when some heading matches."""
    for doc_word in (*DOC_TYPE_WORDS, "三年", "文件"):
        prefix = prefix.replace(doc_word, " ")
    words = _SECTION_WORD.findall(prefix)
    for word in sorted(words, key=len, reverse=True):
        for size in range(len(word), 1, -1):
            parts = {word[i : i + size] for i in range(len(word) - size + 1)}
            named = [c for c in found if any(p in _fold("".join(c.path)) for p in parts)]
            if named:
                return named
    return found
