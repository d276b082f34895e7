"""Whole corpus: every non-empty source line is dropped (with a reason) or in exactly one clause."""

from __future__ import annotations

from collections import Counter

from corpus.models import KIND_INDICATOR, Document
from tests.corpus.conftest import DOC_IDS

REASONS = {"clutter", "duplicate", "metadata"}


def test_nothing_lost_nothing_twice(
    documents: dict[str, Document], source_lines: dict[str, list[str]]
) -> None:
    assert sorted(documents) == sorted(DOC_IDS)
    for doc_id, doc in documents.items():
        lines = source_lines[doc_id]
        covered: Counter[int] = Counter()
        for clause in doc.clauses:
            first, last = clause.lines
            assert 1 <= first <= last <= len(lines)
            covered.update(range(first, last + 1))
        dropped = {record.line: record for record in doc.dropped}
        for record in doc.dropped:
            assert record.reason in REASONS and record.text == lines[record.line - 1]
        problems = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            places = covered[number] + (number in dropped)
            if places != 1:
                problems.append((number, places, line[:30]))
        assert problems == [], f"{doc_id}: lines lost (0) or counted twice (>1)"


def test_clause_text_is_the_source_slice(
    documents: dict[str, Document], source_lines: dict[str, list[str]]
) -> None:
    for doc_id, doc in documents.items():
        lines = source_lines[doc_id]
        for clause in doc.clauses:
            first, last = clause.lines
            assert lines[first - 1].strip() and lines[last - 1].strip(), "spans start and end on text"
            if clause.kind == KIND_INDICATOR:
                continue  # table rows render their cells as one line
            assert clause.text == "\n".join(lines[first - 1 : last])
