"""Ranking for the answer step: retrieval and fusion (rag/retrieve.py), then the head of the fused list
re-ranked by topic coverage and closeness in meaning, then table rows ordered by how close they are to
the question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corpus.models import KIND_INDICATOR
from rag.features import ClauseFeatures
from rag.models import MODE_BM25, MODE_HYBRID
from rag.retrieve import Candidate, FusionConfig, Retriever


@dataclass(frozen=True)
class RerankFeatures:
    """What re-ranking reads of each candidate, in candidate order."""

    coverages: Sequence[float]  # share of the question's topic weight the clause covers
    sentence_coverages: Sequence[float]  # ... that its best single sentence covers
    similarities: Sequence[float] | None  # similarity to the question (None without vectors)


def rerank(
    candidates: Sequence[Candidate], features: RerankFeatures, config: FusionConfig
) -> list[Candidate]:
    """Return the candidates re-ordered by fused score, topic coverage, the best sentence's coverage and
    similarity (see FusionConfig)."""
    if not candidates:
        return []
    best_score = max(c.score for c in candidates) or 1.0
    similarities = features.similarities
    closest = max(similarities) if similarities else 0.0
    keyed = []
    for index, candidate in enumerate(candidates):
        value = (
            candidate.score / best_score
            + config.coverage_weight * features.coverages[index]
            + config.sentence_weight * features.sentence_coverages[index]
        )
        if similarities:
            value += config.similarity_weight * (similarities[index] - closest)
        keyed.append((-value, index, candidate))
    return [candidate for _, _, candidate in sorted(keyed)]


class Ranker:
    """Ranks the clauses of one index for a query (retrieval, re-ranking, table rows)."""

    def __init__(self, retriever: Retriever, features: ClauseFeatures) -> None:
        self.retriever = retriever
        self.features = features

    def rank(self, query: str, top_k: int, mode: str, mask: np.ndarray) -> list[Candidate]:
        """Return up to `top_k` candidates among the positions where `mask` is True, best first."""
        fusion = self.retriever.fusion
        depth = max(top_k, fusion.rerank_depth)
        candidates = self.retriever.rank(query, depth, mode, mask)
        # Re-ranking belongs to the hybrid: a single-retriever mode shows that retriever alone.
        if mode == MODE_HYBRID and (
            fusion.coverage_weight or fusion.similarity_weight or fusion.sentence_weight
        ):
            head = candidates[: fusion.rerank_depth]
            features = self.rerank_features(query, head, mode)
            candidates = rerank(head, features, fusion) + candidates[fusion.rerank_depth :]
        return self.rows_naming_the_indicator_first(query, candidates[:top_k])

    def rerank_features(
        self, query: str, candidates: Sequence[Candidate], mode: str = MODE_HYBRID
    ) -> RerankFeatures:
        """Return each candidate's topic coverage, its best sentence's, and (with vectors, outside BM25
        mode) its similarity."""
        words = self.features.coverage.topic_words(query)
        coverages = [self.features.topic_coverage(words, c.position) for c in candidates]
        sentence_coverages = [self.features.sentence_coverage(words, c.position) for c in candidates]
        similarities = None
        if mode != MODE_BM25:
            similarities = self.retriever.similarities(query, [c.position for c in candidates])
        return RerankFeatures(coverages, sentence_coverages, similarities)

    def rows_naming_the_indicator_first(self, query: str, candidates: list[Candidate]) -> list[Candidate]:
        """Among table rows, the row closest in meaning to the question takes the first row slot: a row
        naming the asked indicator (体质健康达标优良率 for 体育锻炼达标率) beats one sharing a word
        (水质达标率).

        Rows are compared by vector similarity when vectors are live, else by how much of the row's
        indicator name the question contains.
        """
        clauses = self.features.clauses
        slots = [i for i, c in enumerate(candidates) if clauses[c.position].kind == KIND_INDICATOR]
        if len(slots) < 2:
            return candidates
        rows = [candidates[i] for i in slots]
        similarities = self.retriever.similarities(query, [c.position for c in rows])
        if similarities is not None:
            closeness = dict(zip((c.position for c in rows), similarities, strict=True))
        else:
            coverage = self.features.coverage
            query_tokens = self.features.query_tokens(query)
            closeness = {}
            for row in rows:
                name_words = coverage.topic_words(clauses[row.position].fields.get("indicator", ""))
                closeness[row.position] = coverage.coverage(name_words, query_tokens) if name_words else 0.0
        rows = sorted(rows, key=lambda c: -closeness[c.position])  # stable: ties keep their rank
        reordered = list(candidates)
        for slot, row in zip(slots, rows, strict=True):
            reordered[slot] = row
        return reordered
