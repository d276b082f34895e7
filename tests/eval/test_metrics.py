"""Metrics on small hand-made rankings whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from corpus.models import Clause
from eval.labels import NO_DOC, EvalQuestion, GoldAnswer
from eval.metrics import (
    HIT_KS,
    aggregate,
    first_hit_rank,
    hit_at_k,
    is_gold_hit,
    ndcg_at_k,
    normalise_number,
    reciprocal_rank,
    refusal_scores,
    relevance,
    score_question,
    summarise,
)
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND


def clause(doc_id: str, text: str, number: str | None = None, cid: str = "") -> Clause:
    return Clause(
        id=cid or f"{doc_id}:{text[:6]}", doc_id=doc_id, number=number, path=(), text=text, lines=(1, 1)
    )


# Source text of 渝中 (17): heading and body on separate lines.
Y17 = clause(
    "yuzhong-plan",
    "(17)加快婴幼儿照护服务发展。\n\n制定实施本区托育服务建设发展规划,\t实现婴幼儿托育服务机构社区全覆盖,",
    "(17)",
)
G17 = GoldAnswer("yuzhong-plan", "实现婴幼儿托育服务机构社区全覆盖", "(17)")


def test_a_gold_hit_needs_document_snippet_and_number():
    assert is_gold_hit(Y17, G17)
    assert is_gold_hit(Y17, GoldAnswer("yuzhong-plan", "发展。制定实施本区", None))  # across a line break
    assert not is_gold_hit(Y17, GoldAnswer("yuzhong-interpretation", G17.snippet, None))
    assert not is_gold_hit(Y17, GoldAnswer("yuzhong-plan", G17.snippet, "(18)"))
    assert not is_gold_hit(Y17, GoldAnswer("yuzhong-plan", "实现婴幼儿托育服务机构街道全覆盖", None))
    unnumbered = clause("yuzhong-plan", Y17.text, None)
    assert not is_gold_hit(unnumbered, G17)
    assert is_gold_hit(unnumbered, GoldAnswer("yuzhong-plan", G17.snippet, None))


@pytest.mark.parametrize(
    ("printed", "gold"),
    [("（17）", "(17)"), ("4.", "4．"), ("4、", "4．"), ("（四）", "(四)"), (" 2. ", "2.")],
)
def test_numbers_match_across_punctuation_width(printed, gold):
    assert normalise_number(printed) == normalise_number(gold)
    assert is_gold_hit(clause("d", "正文内容", printed), GoldAnswer("d", "正文内容", gold))


def test_numbers_of_different_levels_do_not_match():
    assert normalise_number("(4)") != normalise_number("4.")
    assert normalise_number("(四)") != normalise_number("四、")
    assert not is_gold_hit(clause("d", "正文内容", "(4)"), GoldAnswer("d", "正文内容", "4."))


A = GoldAnswer("d", "甲条款", None)
B = GoldAnswer("d", "乙条款", None)
HIT_A = clause("d", "这是甲条款的全文", cid="a")
HIT_B = clause("d", "这是乙条款的全文", cid="b")
MISS_1 = clause("d", "无关内容一", cid="m1")
MISS_2 = clause("d", "无关内容二", cid="m2")


def test_hit_at_k_and_reciprocal_rank_on_a_third_place_hit():
    ranked = [MISS_1, MISS_2, HIT_A]
    assert first_hit_rank(ranked, [A]) == 3
    assert [hit_at_k(ranked, [A], k) for k in HIT_KS] == [0.0, 1.0, 1.0, 1.0]
    assert reciprocal_rank(ranked, [A]) == pytest.approx(1 / 3)


def test_any_gold_entry_counts_as_a_hit():
    assert first_hit_rank([MISS_1, HIT_B], [A, B]) == 2
    assert reciprocal_rank([HIT_B, HIT_A], [A, B]) == 1.0


def test_a_hit_below_the_cutoff_scores_nothing():
    ranked = [MISS_1] * 10 + [HIT_A]
    assert first_hit_rank(ranked, [A]) is None
    assert reciprocal_rank(ranked, [A]) == 0.0
    assert hit_at_k(ranked, [A], 10) == 0.0
    assert ndcg_at_k(ranked, [A]) == 0.0


def test_ndcg_with_two_gold_entries_found_at_ranks_two_and_four():
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # IDCG (two gold entries) = 1/log2(2) + 1/log2(3) = 1 + 0.63093 = 1.63093
    ranked = [MISS_1, HIT_A, MISS_2, HIT_B]
    assert relevance(ranked, [A, B]) == [0, 1, 0, 1]
    assert ndcg_at_k(ranked, [A, B]) == pytest.approx(1.06161 / 1.63093, abs=1e-5)
    assert ndcg_at_k([HIT_A, HIT_B], [A, B]) == pytest.approx(1.0)


def test_ndcg_credits_each_gold_entry_once():
    # The same clause twice (e.g. two chunks) cannot push nDCG above 1 or count as a second answer.
    assert relevance([HIT_A, HIT_A], [A]) == [1, 0]
    assert ndcg_at_k([HIT_A, HIT_A], [A]) == pytest.approx(1.0)
    # With two gold entries and only A found twice: DCG = 1, IDCG = 1.63093.
    assert ndcg_at_k([HIT_A, HIT_A], [A, B]) == pytest.approx(1 / 1.63093, abs=1e-5)


def test_ideal_dcg_is_capped_at_ten_gold_entries():
    gold = [GoldAnswer("d", f"条款编号{i:02d}", None) for i in range(12)]
    ranked = [clause("d", f"这是条款编号{i:02d}", cid=str(i)) for i in range(10)]
    assert ndcg_at_k(ranked, gold) == pytest.approx(1.0)
    # Only the third of three gold entries found, at rank 1: DCG 1, IDCG 1 + 0.63093 + 0.5.
    assert ndcg_at_k([ranked[2]], gold[:3]) == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))


def question(qid: str, kind: str, split: str, gold: tuple[GoldAnswer, ...]) -> EvalQuestion:
    return EvalQuestion(id=qid, question="问", kind=kind, split=split, answerable=bool(gold), gold=gold)


Q1 = question("q001", "colloquial", "dev", (A,))
Q2 = question("q002", "comparison", "test", (B, GoldAnswer("e", "丙条款", None)))
Q3 = question("q003", "unanswerable", "dev", ())
Q4 = question("q004", "unanswerable", "test", ())


def outcomes() -> list:
    return [
        score_question(Q1, [MISS_1, HIT_A], STATUS_FOUND),  # rank 2
        score_question(Q2, [HIT_B], STATUS_NOT_FOUND),  # rank 1, but wrongly refused
        score_question(Q3, [MISS_1], STATUS_NOT_FOUND),  # rightly refused
        score_question(Q4, [MISS_2], STATUS_FOUND),  # should have been refused
    ]


def test_score_question_records_ranks_hits_and_refusal():
    first, second, third, _ = outcomes()
    assert (first.first_hit_rank, first.reciprocal_rank, first.refused) == (2, 0.5, False)
    assert first.hits == {1: False, 3: True, 5: True, 10: True}
    assert first.ndcg == pytest.approx(1 / math.log2(3))
    assert second.doc_ids == ("d", "e") and second.refused is True
    # One of two gold entries at rank 1: DCG 1, IDCG 1.63093.
    assert second.ndcg == pytest.approx(1 / 1.63093, abs=1e-5)
    assert third.hits == {k: False for k in HIT_KS} and third.reciprocal_rank == 0.0
    assert score_question(Q1, [HIT_A]).refused is None  # a search run makes no refusal decision


def test_refusal_precision_and_recall():
    scores = refusal_scores(outcomes())
    # Refused: Q2 (answerable) and Q3 (unanswerable) -> precision 1/2; unanswerable Q3, Q4 -> recall 1/2.
    counts = (scores.decided, scores.true_refusals, scores.false_refusals, scores.missed_refusals)
    assert counts == (4, 1, 1, 1)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.5)


def test_refusal_scores_are_undefined_without_refusals_or_decisions():
    answered = [score_question(Q1, [HIT_A], STATUS_FOUND), score_question(Q3, [], STATUS_FOUND)]
    scores = refusal_scores(answered)
    assert scores.precision is None and scores.recall == 0.0
    assert refusal_scores([score_question(Q3, [])]).decided == 0


def test_summary_averages_ranking_metrics_over_answerable_questions():
    summary = summarise(outcomes())
    assert (summary.questions, summary.answerable) == (4, 2)
    # Q1 rank 2, Q2 rank 1: hit@1 = 1/2, hit@3 = 1, MRR = (0.5 + 1) / 2.
    assert summary.hit_at == {1: 0.5, 3: 1.0, 5: 1.0, 10: 1.0}
    assert summary.mrr == pytest.approx(0.75)
    assert summary.ndcg == pytest.approx((1 / math.log2(3) + 1 / 1.63093) / 2, abs=1e-5)


def test_aggregate_groups_by_kind_document_and_split():
    report = aggregate(outcomes())
    assert list(report.by_kind) == ["colloquial", "comparison", "unanswerable"]
    assert report.by_kind["colloquial"].mrr == pytest.approx(0.5)
    assert report.by_kind["unanswerable"].answerable == 0
    assert report.by_kind["unanswerable"].refusal.recall == pytest.approx(0.5)
    # Q2 has gold in d and e, so it counts in both; unanswerable questions go under NO_DOC.
    assert {k: v.questions for k, v in report.by_doc.items()} == {NO_DOC: 2, "d": 2, "e": 1}
    assert report.by_doc["e"].hit_at[1] == 1.0
    assert report.by_doc["d"].hit_at[1] == pytest.approx(0.5)
    assert report.by_split["dev"].questions == 2 and report.by_split["test"].mrr == 1.0
    data = report.to_dict()
    assert data["overall"]["hit_at"]["5"] == 1.0
    # Under NO_DOC only Q3 was refused, and rightly: precision 1, recall 1/2.
    assert data["by_doc"][NO_DOC]["refusal"]["precision"] == 1.0
    assert data["by_doc"][NO_DOC]["refusal"]["recall"] == pytest.approx(0.5)


def test_an_empty_group_summarises_to_zeros():
    summary = summarise([])
    assert summary.questions == 0 and summary.mrr == 0.0 and summary.hit_at[1] == 0.0
