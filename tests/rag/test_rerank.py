"""Re-ranking (rag/rerank.py): the fused score, topic coverage and similarity combined; table rows ordered
by how much of their indicator the question names."""

from __future__ import annotations

from dataclasses import replace

from rag.engine import Engine
from rag.rerank import rerank
from rag.retrieve import Candidate, FusionConfig

A, B, C = Candidate(1, 1.0, ("bm25",)), Candidate(2, 0.9, ("bm25",)), Candidate(3, 0.5, ("bm25",))


def test_coverage_and_similarity_move_a_clause_up_by_their_weights() -> None:
    plain = replace(FusionConfig(), coverage_weight=0.0, similarity_weight=0.0)
    assert rerank([A, B, C], [0.0, 1.0, 1.0], None, plain) == [A, B, C]
    by_coverage = replace(plain, coverage_weight=0.3)  # 0.9 + 0.3 beats 1.0
    assert rerank([A, B, C], [0.0, 1.0, 1.0], None, by_coverage) == [B, A, C]
    by_meaning = replace(plain, similarity_weight=8.0)  # 0.05 closer is worth 0.4
    assert rerank([A, B, C], [0.0, 0.0, 0.0], [0.80, 0.85, 0.70], by_meaning) == [B, A, C]
    assert rerank([], [], None, by_coverage) == []


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
