"""Re-ranking (rag/rerank.py): the fused score, topic coverage and similarity combined; table rows ordered
by how much of their indicator the question names."""

from __future__ import annotations

from dataclasses import replace

from rag.engine import Engine
from rag.rerank import RerankFeatures, rerank
from rag.retrieve import Candidate, FusionConfig

A, B, C = Candidate(1, 1.0, ("bm25",)), Candidate(2, 0.9, ("bm25",)), Candidate(3, 0.5, ("bm25",))


def _features(coverages, similarities=None, sentences=None) -> RerankFeatures:
    return RerankFeatures(coverages, sentences or [0.0] * len(coverages), similarities)


def test_coverage_and_similarity_move_a_clause_up_by_their_weights() -> None:
    plain = replace(FusionConfig(), coverage_weight=0.0, similarity_weight=0.0, sentence_weight=0.0)
    assert rerank([A, B, C], _features([0.0, 1.0, 1.0]), plain) == [A, B, C]
    by_coverage = replace(plain, coverage_weight=0.3)  # 0.9 + 0.3 beats 1.0
    assert rerank([A, B, C], _features([0.0, 1.0, 1.0]), by_coverage) == [B, A, C]
    by_meaning = replace(plain, similarity_weight=8.0)  # 0.05 closer is worth 0.4
    assert rerank([A, B, C], _features([0.0, 0.0, 0.0], [0.80, 0.85, 0.70]), by_meaning) == [B, A, C]
    assert rerank([], _features([]), by_coverage) == []


def test_the_question_s_words_in_one_sentence_move_a_clause_up() -> None:
    # A and B cover the topic alike, but only B holds its words in one sentence.
    plain = replace(FusionConfig(), coverage_weight=0.0, similarity_weight=0.0, sentence_weight=0.0)
    features = _features([0.8, 0.8, 0.2], sentences=[0.3, 0.8, 0.2])
    assert rerank([A, B, C], features, plain) == [A, B, C]
    assert rerank([A, B, C], features, replace(plain, sentence_weight=0.3)) == [B, A, C]


def test_a_long_clause_s_best_sentence_is_measured_on_a_real_clause(engine: Engine) -> None:
    position = next(i for i, c in enumerate(engine.clauses) if "保障学生每天校内、校外各1个小时" in c.text)
    words = engine.features.coverage.topic_words("学生每天校内校外体育活动时间")
    best = engine.features.sentence_coverage(words, position)
    assert 0.5 < best <= engine.features.topic_coverage(words, position) + 1e-9
    scattered = engine.features.coverage.topic_words(
        "体育课开课率和每天校内体育活动"
    )  # words of two sentences
    assert engine.features.sentence_coverage(scattered, position) < engine.features.topic_coverage(
        scattered, position
    )


def test_the_row_naming_the_asked_indicator_takes_the_first_row_slot(engine: Engine) -> None:
    row = {c.fields.get("indicator"): i for i, c in enumerate(engine.clauses) if c.kind == "indicator"}
    water, fitness = row["农村水质达标率（%）"], row["中小学生《国家学生体质健康标准》达标优良率（%）"]
    clause = next(i for i, c in enumerate(engine.clauses) if c.kind == "clause")
    ranked = [
        Candidate(fitness, 1.0, ("bm25",)),
        Candidate(clause, 0.9, ("bm25",)),
        Candidate(water, 0.8, ()),
    ]
    reordered = engine.ranker.rows_naming_the_indicator_first("农村水质达标率是多少", ranked)
    assert [c.position for c in reordered] == [water, clause, fitness]  # the clause keeps its slot
    assert engine.ranker.rows_naming_the_indicator_first("农村水质达标率", ranked[:2]) == ranked[:2]
