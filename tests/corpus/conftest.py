"""Corpus fixtures: the bundled documents by id (parsed once per session, in tests/conftest.py)."""

from __future__ import annotations

import pytest

from corpus.models import Clause, Document
from tests.conftest import CORPUS_DIR

DOC_IDS = ("changning-plan", "dadukou-plan", "guangxi-plan", "yuzhong-interpretation", "yuzhong-plan")


@pytest.fixture(scope="session")
def documents(corpus_documents: tuple[Document, ...]) -> dict[str, Document]:
    """The five bundled documents by id."""
    return {doc.meta.id: doc for doc in corpus_documents}


@pytest.fixture(scope="session")
def source_lines() -> dict[str, list[str]]:
    """The raw source lines of each bundled document (index 0 is line 1)."""
    return {
        path.stem: path.read_text(encoding="utf-8-sig").split("\n")
        for path in sorted(CORPUS_DIR.glob("*.txt"))
    }


def clause_at(doc: Document, first_line: int) -> Clause:
    """The clause whose span starts at `first_line` (fails the test when there is none)."""
    found = [clause for clause in doc.clauses if clause.lines[0] == first_line]
    assert len(found) == 1, f"{doc.meta.id}: expected one clause starting at line {first_line}, got {found}"
    return found[0]
