"""Ready-to-copy citation strings."""

from __future__ import annotations

import re

from corpus.models import Clause, DocumentMeta
from corpus.numbering import NUMERAL

_LEADING_NUMBER = re.compile(
    rf"^\s*(第{NUMERAL}[编章节条]|{NUMERAL}[、.．]|[(（]{NUMERAL}[)）]|专栏{NUMERAL})"
)


def format_citation(clause: Clause, doc: DocumentMeta) -> str:
    """Return e.g. 《重庆市渝中区…行动计划(2024-2026年)》(渝中府办〔2024〕7号) 四、(三) 7. (17)."""
    title = (
        doc.title if doc.title.startswith("《") else f"《{doc.title}》"
    )  # 《…》政策解读 keeps its own marks
    head = title + (f"({doc.doc_number})" if doc.doc_number else "")
    numbers = [_leading_number(h) for h in clause.path]
    location = " ".join(n for n in numbers if n)
    if clause.number and not (numbers and numbers[-1] == clause.number):
        location = f"{location} {clause.number}".strip()
    if not location and clause.path:
        location = clause.path[-1][:20]
    return f"{head} {location}".strip()


def _leading_number(heading: str) -> str:
    match = _LEADING_NUMBER.match(heading)
    return match.group(1) if match else ""
