"""Settings calibrated for one index (eval/calibrate.py chooses them on the eval set's dev split): the
fusion weights, the re-ranking weights and the answer thresholds, saved beside the index's manifest and
tied to the embedding model and the corpus checksum they were chosen for. An index without them, or
with settings chosen for another model or corpus, is served with the defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.store import RETRIEVER_VECTOR, LoadedIndex
from rag.answer import AnswerPolicy
from rag.retrieve import FusionConfig

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


def calibrated_settings(index: LoadedIndex) -> tuple[FusionConfig, AnswerPolicy]:
    """Return the fusion settings and the answer thresholds to serve `index` with: those calibrated for
    it, else the defaults (the fusion weights only apply while its vectors are live)."""
    fusion, policy = FusionConfig(), AnswerPolicy()
    calibration = load_calibration(index.path, index.embed_model, index.manifest.get("corpus_checksum", ""))
    if calibration is None:
        return fusion, policy
    if calibration.weights and RETRIEVER_VECTOR in index.retrievers:
        fusion = replace(fusion, weights=tuple(sorted(calibration.weights.items())))
    if calibration.rerank:
        fusion = replace(
            fusion,
            coverage_weight=calibration.rerank.get("coverage_weight", fusion.coverage_weight),
            similarity_weight=calibration.rerank.get("similarity_weight", fusion.similarity_weight),
            sentence_weight=calibration.rerank.get("sentence_weight", fusion.sentence_weight),
        )
    if calibration.policy:
        policy = policy.with_thresholds(calibration.policy)
    return fusion, policy
