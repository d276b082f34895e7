"""The answer step's decision (rag/answer.py) on hand-made assessments, one rule per test."""

from __future__ import annotations

from rag.answer import REASON_DETAIL, REASON_UNKNOWN_WORDS, AnswerPolicy, Assessed, decide
from rag.detail import BY_NAME
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL

POLICY = AnswerPolicy(min_coverage=0.2, min_similarity=0.85, min_detail_coverage=0.3, max_unknown_share=0.4)
NO_UNKNOWN = (0.0, ())


def test_a_covered_topic_without_a_detail_question_is_found_in_rank_order() -> None:
    assessed = [Assessed(7, 0.6, None), Assessed(3, 0.4, None)]
    decision = decide(assessed, None, NO_UNKNOWN, POLICY)
    assert decision.status == STATUS_FOUND and decision.order == (7, 3)


def test_too_little_coverage_and_no_close_meaning_is_not_found() -> None:
    assessed = [Assessed(7, 0.1, 0.80), Assessed(3, 0.05, 0.79)]
    assert decide(assessed, None, NO_UNKNOWN, POLICY).status == STATUS_NOT_FOUND


def test_close_meaning_covers_a_topic_the_words_miss() -> None:
    assessed = [Assessed(7, 0.1, 0.86)]
    assert decide(assessed, None, NO_UNKNOWN, POLICY).status == STATUS_FOUND


def test_no_clause_is_not_found() -> None:
    assert decide([], None, NO_UNKNOWN, POLICY).status == STATUS_NOT_FOUND


def test_a_detail_no_clause_states_makes_a_partial_answer() -> None:
    assessed = [Assessed(7, 0.6, None, 0.0), Assessed(3, 0.5, None, 0.0)]
    decision = decide(assessed, BY_NAME["fee"], NO_UNKNOWN, POLICY)
    assert decision.status == STATUS_PARTIAL and decision.reason == REASON_DETAIL
    assert decision.detail is BY_NAME["fee"] and decision.order == (7, 3)


def test_a_detail_stated_off_the_topic_does_not_count() -> None:
    assessed = [Assessed(7, 0.6, None, 0.1)]  # a sum in 元, but in a sentence about something else
    assert decide(assessed, BY_NAME["fee"], NO_UNKNOWN, POLICY).status == STATUS_PARTIAL


def test_clauses_stating_the_detail_move_first() -> None:
    assessed = [Assessed(7, 0.6, None, 0.0), Assessed(3, 0.5, None, 0.8), Assessed(9, 0.4, None, 0.0)]
    decision = decide(assessed, BY_NAME["free"], NO_UNKNOWN, POLICY)
    assert decision.status == STATUS_FOUND and decision.order == (3, 7, 9)


def test_only_the_best_clauses_are_checked_for_the_detail() -> None:
    deep = [Assessed(i, 0.6, None, 0.0) for i in range(POLICY.decision_depth)]
    deep.append(Assessed(99, 0.6, None, 0.9))  # states it, but ranked below the decision depth
    assert decide(deep, BY_NAME["fee"], NO_UNKNOWN, POLICY).status == STATUS_PARTIAL


def test_a_question_mostly_in_words_no_clause_contains_is_partial() -> None:
    assessed = [Assessed(7, 0.5, None)]
    decision = decide(assessed, None, (0.5, ("中午", "管饭")), POLICY)
    assert decision.status == STATUS_PARTIAL and decision.reason == REASON_UNKNOWN_WORDS
    assert decision.unknown_words == ("中午", "管饭")
    assert decide(assessed, None, (0.3, ("中午",)), POLICY).status == STATUS_FOUND


def test_thresholds_round_trip_and_ignore_unknown_names() -> None:
    chosen = POLICY.with_thresholds({"min_coverage": 0.15, "not_a_threshold": 3.0})
    assert chosen.min_coverage == 0.15 and chosen.decision_depth == POLICY.decision_depth
    assert AnswerPolicy().with_thresholds(chosen.thresholds()) == chosen
