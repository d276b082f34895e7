"""Fusion of ranked lists from several retrievers, with named strategies and constants."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


# Settings calibrated for one index (fusion weights, answer thresholds) saved beside its manifest, tied
# to the embedding model and the corpus checksum they were chosen for.
FUSION_FILE = "fusion.json"


@dataclass(frozen=True)
class Calibration:
    """Fusion weights (empty without vectors) and answer-step thresholds chosen for an index."""

    weights: dict[str, float]
    policy: dict[str, float]
    rerank: dict[str, float] = field(default_factory=dict)


def load_calibration(index_dir: Path, embed_model: str | None, corpus_checksum: str) -> Calibration | None:
    """Return the settings calibrated for this index's model and corpus, or None when there are none."""
    path = Path(index_dir) / FUSION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("embed_model") != embed_model or data.get("corpus_checksum") != corpus_checksum:
        return None  # calibrated for another model or corpus: fall back to the defaults
    weights = _non_negative_numbers(data.get("weights"))
    policy = _non_negative_numbers(data.get("policy"))
    rerank = _non_negative_numbers(data.get("rerank"))
    if weights is None and policy is None and rerank is None:
        return None
    return Calibration(weights or {}, policy or {}, rerank or {})


def load_fusion_weights(
    index_dir: Path, embed_model: str | None, corpus_checksum: str
) -> dict[str, float] | None:
    """Return the weights calibrated for this index's model and corpus, or None when there are none."""
    calibration = load_calibration(index_dir, embed_model, corpus_checksum)
    return calibration.weights if calibration and calibration.weights else None


def _non_negative_numbers(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict) or not value:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value.values()):
        return None
    return {str(k): float(v) for k, v in value.items()}


def save_calibration(
    index_dir: Path,
    weights: Mapping[str, float] | None,
    policy: Mapping[str, float] | None,
    record: Mapping[str, Any],
    rerank: Mapping[str, float] | None = None,
) -> Path:
    """Write the calibrated settings with the model, corpus checksum and the scores behind the choice."""
    path = Path(index_dir) / FUSION_FILE
    data = {
        **record,
        "weights": dict(weights or {}),
        "policy": dict(policy or {}),
        "rerank": dict(rerank or {}),
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
