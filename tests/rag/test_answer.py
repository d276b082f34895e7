"""The answer step's decision (rag/answer.py) on hand-made assessments, one rule per test."""

from __future__ import annotations

from rag.answer import AnswerPolicy, Assessed, decide
from rag.detail import BY_NAME
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL

POLICY = AnswerPolicy(min_coverage=0.2, min_similarity=0.85, min_detail_coverage=0.7, min_coverage_alone=0.3)


def test_a_covered_topic_without_a_detail_question_is_found_in_rank_order() -> None:
    assessed = [Assessed(7, 0.6, None), Assessed(3, 0.4, None)]
    decision = decide(assessed, None, POLICY)
    assert decision.status == STATUS_FOUND and decision.order == (7, 3)


def test_too_little_coverage_and_no_close_meaning_is_not_found() -> None:
    assessed = [Assessed(7, 0.1, 0.80), Assessed(3, 0.05, 0.79)]
    assert decide(assessed, None, POLICY).status == STATUS_NOT_FOUND


def test_close_meaning_covers_a_topic_the_words_miss() -> None:
    assessed = [Assessed(7, 0.1, 0.86)]
    assert decide(assessed, None, POLICY).status == STATUS_FOUND


def test_without_vectors_word_coverage_alone_must_reach_its_own_threshold() -> None:
    assert decide([Assessed(7, 0.25, None)], None, POLICY).status == STATUS_NOT_FOUND
    assert decide([Assessed(7, 0.35, None)], None, POLICY).status == STATUS_FOUND
    assert decide([Assessed(7, 0.25, 0.5)], None, POLICY).status == STATUS_FOUND  # with vectors: 0.2


def test_no_clause_is_not_found() -> None:
    assert decide([], None, POLICY).status == STATUS_NOT_FOUND


def test_a_detail_no_clause_states_makes_a_partial_answer() -> None:
    assessed = [Assessed(7, 0.6, None, 0.0), Assessed(3, 0.5, None, 0.0)]
    decision = decide(assessed, BY_NAME["fee"], POLICY)
    assert decision.status == STATUS_PARTIAL
    assert decision.detail is BY_NAME["fee"] and decision.order == (7, 3)


def test_a_detail_stated_off_the_topic_does_not_count() -> None:
    assessed = [Assessed(7, 0.6, None, 0.1)]  # a sum in 元, but in a sentence about something else
    assert decide(assessed, BY_NAME["fee"], POLICY).status == STATUS_PARTIAL


def test_a_stating_sentence_is_judged_against_what_its_clause_covers() -> None:
    # A long question whose clause covers 0.3 of its words: a sentence covering 0.25 carries most of that.
    assert decide([Assessed(7, 0.3, None, 0.25)], BY_NAME["duration"], POLICY).status == STATUS_FOUND
    # The same sentence in a clause covering 0.6 says its number about something else.
    assert decide([Assessed(7, 0.6, None, 0.25)], BY_NAME["duration"], POLICY).status == STATUS_PARTIAL


def test_a_stating_clause_must_cover_a_share_of_what_the_best_clause_covers() -> None:
    # 孤独症筛查要钱吗: the best clause is about the screening and states no fee; a clause found for "孩子"
    # states a subsidy of 300元 about another subject, covering a quarter of what the best one covers.
    policy = AnswerPolicy(min_coverage=0.2, min_similarity=0.85, min_detail_coverage=0.7, min_detail_best=0.6)
    assessed = [Assessed(7, 1.0, None, 0.0), Assessed(3, 0.25, None, 0.25)]
    assert decide(assessed, BY_NAME["free"], policy).status == STATUS_PARTIAL
    assert decide(assessed, BY_NAME["free"], POLICY).status == STATUS_FOUND  # the rule off (0.0)
    # A stating clause nearly as close to the topic as the best one answers.
    assessed = [Assessed(7, 0.5, None, 0.0), Assessed(3, 0.45, None, 0.4)]
    decision = decide(assessed, BY_NAME["free"], policy)
    assert decision.status == STATUS_FOUND and decision.order == (3, 7)


def test_clauses_stating_the_detail_move_first() -> None:
    assessed = [Assessed(7, 0.6, None, 0.0), Assessed(3, 0.5, None, 0.8), Assessed(9, 0.4, None, 0.0)]
    decision = decide(assessed, BY_NAME["free"], POLICY)
    assert decision.status == STATUS_FOUND and decision.order == (3, 7, 9)


def test_only_the_best_clauses_are_checked_for_the_detail() -> None:
    deep = [Assessed(i, 0.6, None, 0.0) for i in range(POLICY.decision_depth)]
    deep.append(Assessed(99, 0.6, None, 0.9))  # states it, but ranked below the decision depth
    assert decide(deep, BY_NAME["fee"], POLICY).status == STATUS_PARTIAL


def test_thresholds_round_trip_and_ignore_unknown_names() -> None:
    chosen = POLICY.with_thresholds({"min_coverage": 0.15, "not_a_threshold": 3.0})
    assert chosen.min_coverage == 0.15 and chosen.decision_depth == POLICY.decision_depth
    assert AnswerPolicy().with_thresholds(chosen.thresholds()) == chosen
