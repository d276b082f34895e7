"""Answers the WeChat tests build by hand around real corpus clauses (the engine is faked there)."""

from __future__ import annotations

from rag.models import STATUS_FOUND, Answer, Hit


def found(question: str, *hits: Hit) -> Answer:
    """A found answer to `question`, searched as typed, carrying `hits` (BM25 alone was live)."""
    return Answer(
        status=STATUS_FOUND,
        question=question,
        hits=hits,
        regions=(),
        message="",
        resolved_question=question,
        retrievers=("bm25",),
    )
