"""How the answer step sees each ranked clause (rag/answer.py decides on it): the share of the question's
topic it covers, its closeness in meaning, and whether a sentence of it states the asked detail on that
topic."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer import Assessed
from rag.detail import DetailType, states_detail
from rag.features import ClauseFeatures
from rag.retrieve import Candidate


def assess_candidates(
    features: ClauseFeatures,
    words: Sequence[str],
    candidates: Sequence[Candidate],
    similarities: Sequence[float] | None,
    detail: DetailType | None,
    depth: int,
    question: str = "",
) -> list[Assessed]:
    """Return each candidate as the answer step sees it; only the first `depth` are assessed (the others
    cover nothing). `similarities` are those of the first `depth` (None without vectors)."""
    assessed = []
    for rank, candidate in enumerate(candidates):
        position = candidate.position
        coverage = features.topic_coverage(words, position) if rank < depth else 0.0
        similarity = similarities[rank] if similarities is not None and rank < depth else None
        stating = None
        if detail is not None and rank < depth:
            stating = detail_coverage(features, position, words, detail, question)
        assessed.append(Assessed(position, coverage, similarity, stating))
    return assessed


def detail_coverage(
    features: ClauseFeatures, position: int, words: Sequence[str], detail: DetailType, question: str
) -> float:
    """How much of the question's topic the clause's sentences stating the asked detail cover (their own
    words plus the headings above them); 0.0 when no sentence states such a detail. A note stating it for
    the whole clause ((牵头单位:区公安分局,…) for the department in charge) covers what the clause covers."""
    note = detail.clause_note
    if note is not None and any(note.search(s.text) for s in features.sentences(position)):
        return features.topic_coverage(words, position)
    return features.sentence_coverage(words, position, lambda text: states_detail(detail, text, question))
