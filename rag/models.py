"""Records that leave the rag stage: search hits and answers. Their `to_dict` is the JSON contract
shared by the CLI (`--json`), the HTTP API and the WeChat channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from corpus.models import Clause, DocumentMeta

STATUS_FOUND: Literal["found"] = "found"
STATUS_NOT_FOUND: Literal["not_found"] = "not_found"
Status = Literal["found", "not_found"]

MODE_HYBRID = "hybrid"
MODE_BM25 = "bm25"
MODE_VECTOR = "vector"
Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[str, ...] = (MODE_HYBRID, MODE_BM25, MODE_VECTOR)


@dataclass(frozen=True)
class Hit:
    """One retrieved clause with its score, which retrievers found it, and how to cite it."""

    clause: Clause
    doc: DocumentMeta
    score: float
    retrievers: tuple[str, ...]  # "bm25", "vector", "lookup"
    citation: str
    highlights: tuple[str, ...] = ()  # sentences of clause.text that best match the question

    def to_dict(self) -> dict[str, Any]:
        """Clause fields (`id, doc_id, number, path, text, lines`) plus doc, score, provenance."""
        data = self.clause.to_dict()
        data.update(
            doc=self.doc.to_dict(),
            score=round(float(self.score), 6),
            retrievers=list(self.retrievers),
            citation=self.citation,
            highlights=list(self.highlights),
        )
        return data


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits for a query, and which retrievers were live when it ran."""

    query: str
    hits: tuple[Hit, ...]
    retrievers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The `search --json` object: `{query, hits, retrievers}`."""
        return {
            "query": self.query,
            "hits": [h.to_dict() for h in self.hits],
            "retrievers": list(self.retrievers),
        }


@dataclass(frozen=True)
class Answer:
    """The answer to a question: the best clauses verbatim, or a plain refusal.

    `regions` are the places the question named (or inherited from the conversation);
    `resolved_question` is the question after follow-up context was applied.
    """

    status: Status
    question: str
    hits: tuple[Hit, ...]
    regions: tuple[str, ...]
    message: str
    suggestions: tuple[str, ...] = ()
    resolved_question: str = ""
    retrievers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The `ask --json` object: `{status, question, hits, regions, message, ...}`."""
        return {
            "status": self.status,
            "question": self.question,
            "resolved_question": self.resolved_question or self.question,
            "hits": [h.to_dict() for h in self.hits],
            "regions": list(self.regions),
            "message": self.message,
            "suggestions": list(self.suggestions),
            "retrievers": list(self.retrievers),
        }
