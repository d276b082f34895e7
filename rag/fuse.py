"""Fusion of ranked lists from several retrievers, with named strategies and constants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60  # Cormack et al.'s constant; damps the influence of any single list's top ranks
CANDIDATE_MULTIPLIER = 4  # each retriever fetches this many times the requested hits before fusion
STRATEGY_RRF = "rrf"
STRATEGY_WEIGHTED = "weighted"


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float] | None = None, k: int = RRF_K
) -> list[tuple[int, float, tuple[str, ...]]]:
    """Fuse ranked lists of item ids; return (id, fused score, retrievers that found it), best first."""
    scores: dict[int, float] = {}
    sources: dict[int, list[str]] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
            sources.setdefault(item, []).append(name)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], tuple(sources[i])) for i in order]


def weighted_score_fusion(
    scored: Mapping[str, Sequence[tuple[int, float]]], weights: Mapping[str, float]
) -> list[tuple[int, float, tuple[str, ...]]]:
    """Fuse (id, score) lists after min-max normalising each list; weights say how much each counts."""
    scores: dict[int, float] = {}
    sources: dict[int, list[str]] = {}
    for name, items in scored.items():
        if not items:
            continue
        values = [s for _, s in items]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        for item, score in items:
            scores[item] = scores.get(item, 0.0) + weights.get(name, 1.0) * (score - low) / span
            sources.setdefault(item, []).append(name)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], tuple(sources[i])) for i in order]
