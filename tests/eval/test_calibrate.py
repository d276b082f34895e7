"""Fusion calibration: with a weak embedding model, hybrid is never worse than the best single retriever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.models import Document
from eval.calibrate import POLICY_GRID, calibrate_index
from eval.labels import load_questions
from rag.calibration import FUSION_FILE
from rag.engine import Engine


@pytest.fixture(scope="module")
def dense_index(
    tmp_path_factory: pytest.TempPathFactory, tiny_embed_model: Path, corpus_documents: tuple[Document, ...]
) -> Path:
    from index.build import build_index

    out = tmp_path_factory.mktemp("dense") / "index"
    build_index(
        corpus_documents,
        out,
        embed_model=str(tiny_embed_model),
        progress=False,
    )
    return out


def test_calibrated_hybrid_is_never_worse_than_a_single_retriever(dense_index: Path) -> None:
    questions = load_questions()
    record = calibrate_index(dense_index, questions)
    assert record is not None
    trials = {tuple(t["weights"].values()): t for t in record["fusion_trials"]}
    bm25_only, vector_only = trials[(1.0, 0.0)], trials[(0.0, 1.0)]
    chosen = trials[tuple(record["weights"].values())]
    assert chosen["hit_at_5"] >= max(bm25_only["hit_at_5"], vector_only["hit_at_5"])
    # The tiny model is random: vectors alone are far worse than BM25, and the calibration says so.
    assert vector_only["hit_at_5"] < bm25_only["hit_at_5"]

    engine = Engine.from_dir(dense_index)
    assert engine.retrievers == ("bm25", "vector")
    assert dict(engine.fusion.weights) == record["weights"]
    assert engine.policy.thresholds() == record["policy"]
    assert engine.fusion.coverage_weight == record["rerank"]["coverage_weight"]
    # The answer thresholds were swept on dev; the chosen refusal thresholds score best there once each
    # setting's objective is averaged with its grid neighbours' (the last sweep of them).
    cells = len(POLICY_GRID["min_coverage"]) * len(POLICY_GRID["min_similarity"])
    refusal = [t for t in record["policy_trials"] if "min_coverage" in t][-cells:]
    best = max(t["smoothed"] for t in refusal)
    chosen = [
        t
        for t in refusal
        if (t["min_coverage"], t["min_similarity"])
        == (record["policy"]["min_coverage"], record["policy"]["min_similarity"])
    ]
    assert len(chosen) == 1 and chosen[0]["smoothed"] == best
    # The dense path answers on its own in vector mode (real sentence-transformers + faiss).
    result = engine.search("儿童友好城市建设", top_k=5, mode="vector")
    assert len(result.hits) == 5 and all(h.retrievers == ("vector",) for h in result.hits)
    assert result.retrievers == ("bm25", "vector")


def test_weights_for_another_model_are_ignored(dense_index: Path) -> None:
    path = dense_index / FUSION_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(
        json.dumps({**data, "embed_model": "some/other-model", "weights": {"bm25": 0, "vector": 1}})
    )
    try:
        assert dict(Engine.from_dir(dense_index).fusion.weights) == {"bm25": 1.0, "vector": 1.0}
    finally:
        path.write_text(json.dumps(data))


def test_single_retriever_modes_ignore_fusion_weights(dense_index: Path) -> None:
    path = dense_index / FUSION_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "weights": {"bm25": 1.0, "vector": 0.0}}))
    try:
        engine = Engine.from_dir(dense_index)
        assert dict(engine.fusion.weights) == {"bm25": 1.0, "vector": 0.0}
        # Vector mode still ranks by vector similarity (a weight of 0 must not flatten every score to 0).
        scores = [h.score for h in engine.search("儿童友好城市建设", top_k=5, mode="vector").hits]
        assert len(scores) == 5 and scores[0] > 0 and scores == sorted(scores, reverse=True)
        hybrid = engine.search("普惠托育服务", top_k=5, mode="hybrid")
        assert all(h.retrievers == ("bm25",) for h in hybrid.hits)
    finally:
        path.write_text(json.dumps(data))


def test_the_sweep_scores_a_policy_as_the_finished_answers_would(dense_index: Path) -> None:
    """The sweep decides drafts without writing answers; statuses and first clauses must be the same."""
    from dataclasses import replace

    from eval.calibrate import CALIBRATION_SPLIT, DraftedQuestion, draft_questions, score_policy
    from rag.models import STATUS_FOUND, Answer

    engine = Engine.from_dir(dense_index)
    dev = [q for q in load_questions() if q.split == CALIBRATION_SPLIT][:120]
    drafted = draft_questions(engine, dev, False)
    policy = replace(engine.policy, min_detail_best=0.5)
    figures = score_policy(engine, drafted, policy)

    def finished(item: DraftedQuestion) -> Answer:
        return item.draft if isinstance(item.draft, Answer) else engine.finish(item.draft, policy)

    answers = [finished(item) for item in drafted]
    answerable = [(item, a) for item, a in zip(drafted, answers, strict=True) if item.question.answerable]
    not_found = sum(a.status != STATUS_FOUND for _, a in answerable) / len(answerable)
    assert figures["wrongly_not_found"] == pytest.approx(not_found)
    from eval.metrics import is_gold_hit

    top = sum(
        a.status == STATUS_FOUND
        and bool(a.hits)
        and any(is_gold_hit(a.hits[0].clause, g) for g in item.question.gold)
        for item, a in answerable
    )
    assert figures["hit_at_1"] == pytest.approx(top / len(answerable))


def test_cross_validation_chooses_on_one_dev_half_and_scores_the_other(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eval.calibrate as calibrate

    drafted_splits: list[str] = []
    draft = calibrate.draft_questions

    def spy(engine_: Engine, questions, progress=False, top_k=None):  # type: ignore[no-untyped-def]
        drafted_splits.extend(q.split for q in questions)
        return draft(engine_, questions, progress, top_k)

    monkeypatch.setattr(calibrate, "draft_questions", spy)
    questions = load_questions()[:240]
    cv = calibrate.cross_validate_policy(engine, questions, shuffles=1)
    # Only dev questions are drafted; the test split is never looked at.
    assert set(drafted_splits) == {"dev"}
    assert len(drafted_splits) == sum(q.split == "dev" for q in questions)
    assert set(cv) == {"raw", "smoothed"}
    for figures in cv.values():
        assert figures["halves"] == 2
        assert 0.0 <= figures["wrongly_not_found"] <= figures["worst_wrongly_not_found"] <= 1.0
        assert 0.0 <= figures["worst_held_back"] <= figures["held_back"] <= 1.0
        assert 0.0 < figures["status_accuracy"] <= 1.0
