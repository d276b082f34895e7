"""Fusion weights chosen on the evaluation set's dev split.

The grid includes each retriever alone, so the chosen hybrid is never worse on dev than the best single
retriever: a weak embedding model (or a strong one) gets the weight it earns on our questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.labels import EvalQuestion
from eval.run import run_mode
from rag.engine import RETRIEVER_BM25, RETRIEVER_VECTOR, Engine
from rag.fuse import save_fusion_weights
from rag.models import MODE_HYBRID

# (bm25 weight, vector weight); (1, 0) and (0, 1) are the single retrievers.
WEIGHT_GRID: tuple[tuple[float, float], ...] = (
    (1.0, 0.0),
    (0.0, 1.0),
    (1.0, 0.25),
    (1.0, 0.5),
    (1.0, 1.0),
    (0.5, 1.0),
    (0.25, 1.0),
)
CALIBRATION_SPLIT = "dev"


def calibrate_fusion(
    engine: Engine, questions: Sequence[EvalQuestion], progress: bool = False
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Return the best weights on the dev split (by hit@5, then MRR@10) and the score of every candidate."""
    dev = [q for q in questions if q.split == CALIBRATION_SPLIT]
    original = engine.config
    trials: list[dict[str, Any]] = []
    try:
        for bm25_weight, vector_weight in WEIGHT_GRID:
            weights = {RETRIEVER_BM25: bm25_weight, RETRIEVER_VECTOR: vector_weight}
            engine.config = replace(original, weights=tuple(weights.items()))
            summary = run_mode(engine, dev, MODE_HYBRID, progress=progress).report.overall
            trials.append({"weights": weights, "hit_at_5": summary.hit_at[5], "mrr": summary.mrr})
    finally:
        engine.config = original
    best = max(trials, key=lambda t: (t["hit_at_5"], t["mrr"], t["weights"][RETRIEVER_BM25]))
    return dict(best["weights"]), trials


def calibrate_index(index_dir: Path, questions: Sequence[EvalQuestion]) -> dict[str, Any] | None:
    """Calibrate and save the fusion of a built index with live vectors; None when there is nothing to do."""
    engine = Engine.from_dir(index_dir)
    if RETRIEVER_VECTOR not in engine.retrievers:
        return None
    gold_docs = {g.doc_id for q in questions for g in q.gold}
    if not gold_docs <= set(engine.documents):
        return None  # the question set is about other documents: keep equal weights
    weights, trials = calibrate_fusion(engine, questions)
    record = {
        "embed_model": engine.index.embed_model,
        "corpus_checksum": engine.index.manifest.get("corpus_checksum", ""),
        "chosen_on": f"eval/questions.jsonl, {CALIBRATION_SPLIT} split, by hit@5 then MRR@10",
        "trials": trials,
    }
    save_fusion_weights(index_dir, weights, record)
    return {**record, "weights": weights}
