"""Records that leave the rag stage: search hits and answers. Their `to_dict` is the JSON contract
shared by the CLI (`--json`), the HTTP API and the WeChat channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from corpus.models import Clause, DocumentMeta
from rag.citation import clause_label

# found: a clause states what was asked. partial: the topic is covered but the detail asked for (a fee, a
# time, a place, a procedure...) is stated in none of the retrieved clauses; the hits are related clauses,
# not the answer. not_found: the topic is not covered.
STATUS_FOUND: Literal["found"] = "found"
STATUS_PARTIAL: Literal["partial"] = "partial"
STATUS_NOT_FOUND: Literal["not_found"] = "not_found"
Status = Literal["found", "partial", "not_found"]
STATUSES: tuple[str, ...] = (STATUS_FOUND, STATUS_PARTIAL, STATUS_NOT_FOUND)

# Why the question that was searched differs from the one typed (shown as "已按'…'查找" only then).
REWRITE_FOLLOW_UP = "follow_up"  # a follow-up ("那长宁区呢") completed from the conversation
REWRITE_PLACE = "place"  # a place carried over from the conversation
REWRITE_TYPO = "typo"  # an input-method typo corrected (儿同 -> 儿童)

MODE_HYBRID = "hybrid"
MODE_BM25 = "bm25"
MODE_VECTOR = "vector"
Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[str, ...] = (MODE_HYBRID, MODE_BM25, MODE_VECTOR)


@dataclass(frozen=True)
class Span:
    """A verbatim piece of a clause: `text == clause.text[start:end]`."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        """Return `{text, start, end}`."""
        return {"text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Detail:
    """The kind of detail a question asks for (fee, time, place, procedure...) and its Chinese label."""

    type: str
    label: str

    def to_dict(self) -> dict[str, Any]:
        """Return `{type, label}`."""
        return {"type": self.type, "label": self.label}


@dataclass(frozen=True)
class Correction:
    """A typo corrected in the question: `wrong` as typed, `right` as searched."""

    wrong: str
    right: str

    def to_dict(self) -> dict[str, Any]:
        """Return `{from, to}`."""
        return {"from": self.wrong, "to": self.right}


ROLE_ANSWER = "answer"  # the clause states what was asked
ROLE_RELATED = "related"  # the clause is about the topic but does not state the detail asked for


@dataclass(frozen=True)
class Hit:
    """One retrieved clause with its score, which retrievers found it, and how to cite it."""

    clause: Clause
    doc: DocumentMeta
    score: float
    retrievers: tuple[str, ...]  # "bm25", "vector", "lookup"
    citation: str
    highlights: tuple[str, ...] = ()  # sentences of clause.text that best match the question
    answer_sentences: tuple[Span, ...] = ()  # the sentence(s) that answer the question, verbatim
    role: str = ROLE_ANSWER

    def to_dict(self) -> dict[str, Any]:
        """Clause fields (`id, doc_id, number, path, text, lines`) plus doc, score, provenance."""
        data = self.clause.to_dict()
        data.update(
            doc=self.doc.to_dict(),
            score=round(float(self.score), 6),
            retrievers=list(self.retrievers),
            citation=self.citation,
            highlights=list(self.highlights),
            answer_sentences=[s.to_dict() for s in self.answer_sentences],
            role=self.role,
            label=clause_label(self.clause),
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
    `resolved_question` is the question after follow-up context and typo correction were applied, and
    `rewrites` says why it differs (REWRITE_*; empty when it was searched as typed). For a `partial`
    answer, `detail` is what the documents do not state and `hits` are related clauses.
    """

    status: Status
    question: str
    hits: tuple[Hit, ...]
    regions: tuple[str, ...]
    message: str
    suggestions: tuple[str, ...] = ()
    resolved_question: str = ""
    retrievers: tuple[str, ...] = ()
    detail: Detail | None = None
    corrections: tuple[Correction, ...] = ()
    rewrites: tuple[str, ...] = ()

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
            "detail": self.detail.to_dict() if self.detail else None,
            "corrections": [c.to_dict() for c in self.corrections],
            "rewrites": list(self.rewrites),
        }
