"""How the answer step sees a ranked clause (rag/assess.py), on the bundled documents: a clause states the
asked detail only in a sentence about the question's topic."""

from __future__ import annotations

from rag.assess import assess_candidates, detail_coverage
from rag.detail import BY_NAME
from rag.engine import Engine
from rag.retrieve import Candidate

ORPHANS = "13.关爱孤儿和事实无人抚养儿童。"  # guangxi-plan 13.: 不低于1500元/人·月 ...


def _position(engine: Engine, start: str) -> int:
    return next(i for i, c in enumerate(engine.clauses) if c.text.startswith(start))


def test_a_sum_stated_about_the_topic_states_the_fee(engine: Engine) -> None:
    fee, position = BY_NAME["fee"], _position(engine, ORPHANS)
    asked = "孤儿基本生活保障标准每月多少钱"
    words = engine.coverage.topic_words(fee.without_asking(asked))
    assert detail_coverage(engine.features, position, words, fee, asked) == 1.0
    # The same sums do not state what 困境儿童补贴 costs: no stating sentence is about that topic.
    other = "困境儿童补贴多少钱"
    words = engine.coverage.topic_words(fee.without_asking(other))
    assert detail_coverage(engine.features, position, words, fee, other) == 0.0


def test_only_the_first_clauses_are_assessed(engine: Engine) -> None:
    fee, position = BY_NAME["fee"], _position(engine, ORPHANS)
    asked = "孤儿基本生活保障标准每月多少钱"
    words = engine.coverage.topic_words(fee.without_asking(asked))
    candidates = [Candidate(position, 1.0, ("bm25",)), Candidate(position, 0.5, ("bm25",))]
    first, second = assess_candidates(engine.features, words, candidates, None, fee, depth=1, question=asked)
    assert (first.coverage, first.detail_coverage, first.similarity) == (1.0, 1.0, None)
    assert (second.coverage, second.detail_coverage) == (0.0, None)
