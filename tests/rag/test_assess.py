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


def test_a_responsibility_note_names_who_is_in_charge_of_the_whole_clause(engine: Engine) -> None:
    # yuzhong-plan (40): the checks before hiring are its body; (牵头单位:区公安分局,…) names who leads.
    agency, position = BY_NAME["agency"], _position(engine, "(40)")
    asked = "学校招老师会不会查他以前有没有伤害过小孩，是哪个单位负责入职查询"
    words = engine.coverage.topic_words(agency.without_asking(asked))
    assert detail_coverage(engine.features, position, words, agency, asked) == engine.features.topic_coverage(
        words, position
    )
    # A clause without such a note is judged sentence by sentence, as any other detail.
    fee = BY_NAME["fee"]
    assert detail_coverage(engine.features, position, words, fee, asked) == 0.0
