"""The settings an index was calibrated for (rag/calibration.py): used for that model and corpus only, the
defaults otherwise."""

from __future__ import annotations

from pathlib import Path

from index.store import load_index
from rag.answer import AnswerPolicy
from rag.calibration import calibrated_settings, save_calibration
from rag.retrieve import FusionConfig


def _record(index_dir: Path, **changes: str) -> dict[str, str]:
    loaded = load_index(index_dir, load_vectors=False)
    return {
        "embed_model": loaded.embed_model,
        "corpus_checksum": loaded.manifest["corpus_checksum"],
        **changes,
    }


def test_an_index_without_calibration_gets_the_defaults(served_index: Path) -> None:
    assert calibrated_settings(load_index(served_index)) == (FusionConfig(), AnswerPolicy())


def test_calibrated_thresholds_and_rerank_weights_are_used_for_their_corpus(served_index: Path) -> None:
    weights = {"bm25": 1.0, "vector": 0.5}
    rerank = {"coverage_weight": 0.1, "similarity_weight": 2.0}
    save_calibration(served_index, weights, {"min_coverage": 0.15}, _record(served_index), rerank)
    fusion, policy = calibrated_settings(load_index(served_index))
    assert policy.min_coverage == 0.15 and (fusion.coverage_weight, fusion.similarity_weight) == (0.1, 2.0)
    assert fusion.weights == FusionConfig().weights  # a BM25-only index: the vector weight does not apply
    # Chosen for another corpus: not these documents' settings.
    save_calibration(
        served_index, weights, {"min_coverage": 0.15}, _record(served_index, corpus_checksum="x")
    )
    assert calibrated_settings(load_index(served_index)) == (FusionConfig(), AnswerPolicy())
