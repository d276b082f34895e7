"""Metrics on small hand-made rankings whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from corpus.models import Clause
from eval.labels import NO_DOC, EvalQuestion, GoldAnswer, TypoFix
from eval.metrics import (
    HIT_KS,
    METRIC_NAMES,
    aggregate,
    first_hit_rank,
    held_back,
    hit_at_k,
    is_gold_hit,
    ndcg_at_k,
    normalise_number,
    partial_scores,
    reciprocal_rank,
    refusal_scores,
    relevance,
    score_question,
    summarise,
    typo_rate,
    typo_resolved,
    wrongly_not_found,
)
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL


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
        score_question(Q2, [HIT_B], STATUS_NOT_FOUND),  # gold at rank 1, but wrongly refused: a miss
        score_question(Q3, [MISS_1], STATUS_NOT_FOUND),  # rightly refused
        score_question(Q4, [MISS_2], STATUS_FOUND),  # should have been refused
    ]


def test_score_question_records_ranks_hits_and_refusal():
    first, second, third, _ = outcomes()
    assert (first.first_hit_rank, first.reciprocal_rank, first.refused) == (2, 0.5, False)
    assert (first.expected, first.status) == (STATUS_FOUND, STATUS_FOUND)
    assert first.hits == {1: False, 3: True, 5: True, 10: True}
    assert first.ndcg == pytest.approx(1 / math.log2(3))
    assert second.doc_ids == ("d", "e") and second.refused is True
    # A refused answer's clauses do not count, even with the gold clause first among them.
    assert (second.first_hit_rank, second.reciprocal_rank, second.ndcg) == (None, 0.0, 0.0)
    assert second.hits == {k: False for k in HIT_KS}
    assert third.hits == {k: False for k in HIT_KS} and third.reciprocal_rank == 0.0
    assert third.expected == STATUS_NOT_FOUND
    search = score_question(Q2, [HIT_B])  # a search run makes no answer decision: scored as given
    assert search.refused is None and search.status is None and search.first_hit_rank == 1
    # One of two gold entries at rank 1: DCG 1, IDCG 1.63093.
    assert search.ndcg == pytest.approx(1 / 1.63093, abs=1e-5)


def test_refusal_precision_and_recall():
    scores = refusal_scores(outcomes())
    # Refused: Q2 (answerable) and Q3 (unanswerable) -> precision 1/2; unanswerable Q3, Q4 -> recall 1/2.
    counts = (scores.decided, scores.true_refusals, scores.false_refusals, scores.missed_refusals)
    assert counts == (4, 1, 1, 1) and scores.detail_refusals == 0
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
    # Q1 rank 2, Q2 refused (a miss): hit@1 = 0, hit@3 = 1/2, MRR = (0.5 + 0) / 2.
    assert summary.hit_at == {1: 0.0, 3: 0.5, 5: 0.5, 10: 0.5}
    assert summary.mrr == pytest.approx(0.25)
    assert summary.ndcg == pytest.approx((1 / math.log2(3)) / 2, abs=1e-5)
    assert summary.statuses == {STATUS_FOUND: 2, STATUS_PARTIAL: 0, STATUS_NOT_FOUND: 2}


def test_aggregate_groups_by_kind_document_and_split():
    report = aggregate(outcomes())
    assert list(report.by_kind) == ["colloquial", "comparison", "unanswerable"]
    assert report.by_kind["colloquial"].mrr == pytest.approx(0.5)
    assert report.by_kind["unanswerable"].answerable == 0
    assert report.by_kind["unanswerable"].refusal.recall == pytest.approx(0.5)
    # Q2 has gold in d and e, so it counts in both; unanswerable questions go under NO_DOC.
    assert {k: v.questions for k, v in report.by_doc.items()} == {NO_DOC: 2, "d": 2, "e": 1}
    assert report.by_doc["e"].hit_at[1] == 0.0 and report.by_doc["e"].wrongly_not_found.value == 1.0
    assert report.by_doc["d"].hit_at[3] == pytest.approx(0.5)
    assert report.by_split["dev"].questions == 2 and report.by_split["dev"].mrr == 0.5
    assert report.by_split["test"].mrr == 0.0
    # Within each split, per kind and per document.
    assert {s: sorted(kinds) for s, kinds in report.by_split_kind.items()} == {
        "dev": ["colloquial", "unanswerable"],
        "test": ["comparison", "unanswerable"],
    }
    assert report.by_split_kind["test"]["unanswerable"].refusal.missed_refusals == 1
    assert {k: v.questions for k, v in report.by_split_doc["test"].items()} == {NO_DOC: 1, "d": 1, "e": 1}
    data = report.to_dict()
    assert data["overall"]["hit_at"]["5"] == 0.5
    assert data["by_split_kind"]["dev"]["colloquial"]["mrr"] == 0.5
    # Under NO_DOC only Q3 was refused, and rightly: precision 1, recall 1/2.
    assert data["by_doc"][NO_DOC]["refusal"]["precision"] == 1.0
    assert data["by_doc"][NO_DOC]["refusal"]["recall"] == pytest.approx(0.5)


def test_an_empty_group_summarises_to_zeros():
    summary = summarise([])
    assert summary.questions == 0 and summary.mrr == 0.0 and summary.hit_at[1] == 0.0


# --- answer statuses: found / partial / not_found ------------------------------------------------

RELATED = (GoldAnswer("d", "丁条款", None),)


def detail_question(qid: str, split: str = "test") -> EvalQuestion:
    return EvalQuestion(
        id=qid,
        question="问细节",
        kind="detail",
        split=split,
        answerable=False,
        expect=STATUS_PARTIAL,
        related=RELATED,
        detail="fee",
    )


def status_outcomes() -> list:
    """Eight answers, one of each case the status metrics tell apart."""
    answerable = [question(f"q{i:03d}", "dialect", "test", (A,)) for i in (14, 15, 16)]
    return [
        score_question(detail_question("q011"), [MISS_1], STATUS_PARTIAL),  # P1 held back, right status
        score_question(detail_question("q012"), [], STATUS_NOT_FOUND),  # P2 held back by refusing
        score_question(detail_question("q013"), [MISS_1], STATUS_FOUND),  # P3 presented as found
        score_question(answerable[0], [HIT_A], STATUS_FOUND),  # A1 found, rank 1
        score_question(answerable[1], [HIT_A], STATUS_PARTIAL),  # A2 the answer was there: partial is wrong
        score_question(answerable[2], [], STATUS_NOT_FOUND),  # A3 wrongly refused
        score_question(question("q017", "unanswerable", "dev", ()), [], STATUS_NOT_FOUND),  # U1 right
        score_question(question("q018", "unanswerable", "dev", ()), [MISS_2], STATUS_PARTIAL),  # U2
    ]


def test_a_partial_question_expects_partial_and_counts_under_its_related_documents():
    outcome = status_outcomes()[0]
    assert (outcome.expected, outcome.status, outcome.answerable, outcome.doc_ids) == (
        STATUS_PARTIAL,
        STATUS_PARTIAL,
        False,
        ("d",),
    )
    assert outcome.first_hit_rank is None and outcome.reciprocal_rank == 0.0


def test_partial_precision_and_recall():
    scores = partial_scores(status_outcomes())
    # Answered partial: P1, A2, U2 -> precision 1/3. Expecting partial: P1, P2, P3 -> recall 1/3.
    assert (scores.decided, scores.true_partials, scores.missed_partials) == (8, 1, 2)
    assert (scores.partial_on_answerable, scores.partial_on_unanswerable) == (1, 1)
    assert scores.precision == pytest.approx(1 / 3) and scores.recall == pytest.approx(1 / 3)


def test_refusal_counts_a_refused_detail_question_against_precision():
    scores = refusal_scores(status_outcomes())
    # Refused: P2 (detail), A3 (answerable), U1 (unanswerable) -> precision 1/3.
    # Expecting not_found: U1, U2 (answered partial) -> recall 1/2.
    counts = (scores.true_refusals, scores.false_refusals, scores.detail_refusals, scores.missed_refusals)
    assert counts == (1, 1, 1, 1)
    assert scores.precision == pytest.approx(1 / 3) and scores.recall == pytest.approx(0.5)


def test_held_back_and_wrongly_not_found():
    items = status_outcomes()
    held = held_back(items)
    # P1 (partial) and P2 (not_found) are held back; P3 (found) is not.
    assert (held.count, held.total) == (2, 3) and held.value == pytest.approx(2 / 3)
    wrong = wrongly_not_found(items)
    # A2 (partial) and A3 (not_found) of A1-A3.
    assert (wrong.count, wrong.total) == (2, 3) and wrong.value == pytest.approx(2 / 3)
    perfect = [items[0], items[1], items[3], items[6]]
    assert held_back(perfect).value == 1.0 and wrongly_not_found(perfect).value == 0.0
    assert held_back([items[3]]).value is None and wrongly_not_found([items[0]]).value is None


def test_a_partial_answer_to_an_answerable_question_is_a_ranking_miss():
    summary = summarise(status_outcomes())
    # Answerable: A1 (rank 1), A2 (partial, its gold hit does not count), A3 (refused).
    assert summary.answerable == 3
    assert summary.hit_at[1] == pytest.approx(1 / 3) and summary.mrr == pytest.approx(1 / 3)
    assert summary.statuses == {STATUS_FOUND: 2, STATUS_PARTIAL: 3, STATUS_NOT_FOUND: 3}
    assert summary.metric("held_back") == pytest.approx(2 / 3)
    assert summary.metric("wrongly_not_found") == pytest.approx(2 / 3)
    assert summary.metric("partial_recall") == pytest.approx(1 / 3)
    assert summary.metric("refusal_recall") == pytest.approx(0.5)
    assert summary.metric("hit_at_1") == pytest.approx(1 / 3)
    assert summary.metric("typo_resolved") is None
    assert set(METRIC_NAMES) >= {"hit_at_5", "mrr", "held_back", "wrongly_not_found", "partial_precision"}
    with pytest.raises(KeyError, match="unknown metric"):
        summary.metric("hit_at_2")
    data = summary.to_dict()
    assert data["held_back"] == {"count": 2, "total": 3, "value": pytest.approx(2 / 3)}
    assert data["partial"]["true_partials"] == 1 and data["refusal"]["detail_refusals"] == 1


def test_status_metrics_are_undefined_without_such_questions():
    summary = summarise([score_question(Q1, [HIT_A], STATUS_FOUND)])
    assert summary.partial.precision is None and summary.partial.recall is None
    assert summary.held_back.value is None and summary.wrongly_not_found.value == 0.0
    assert summarise([score_question(detail_question("q011"), [])]).held_back.total == 0  # no decision


TYPO_QUESTION = EvalQuestion(
    id="q021",
    question="渝中区儿同友好医院建几所",
    kind="typo",
    split="test",
    answerable=True,
    gold=(A,),
    intended="渝中区儿童友好医院建几所",
    typos=(TypoFix("儿同", "儿童"),),
)


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        ("渝中区儿童友好医院建几所", True),
        ("渝中区儿童友好医院有几所", True),  # other rewrites are fine as long as the typo is fixed
        ("渝中区儿同友好医院建几所", False),  # searched as typed
        ("渝中区儿同儿童友好医院", False),  # the typed word is still there
        ("渝中区友好医院建几所", False),
    ],
)
def test_typo_resolved_needs_every_intended_word_and_no_typed_one(resolved, expected):
    assert typo_resolved(TYPO_QUESTION, resolved) is expected


def test_typo_rate_counts_only_typo_questions_with_a_resolved_question():
    fixed = score_question(TYPO_QUESTION, [HIT_A], STATUS_FOUND, "渝中区儿童友好医院建几所")
    missed = score_question(TYPO_QUESTION, [HIT_A], STATUS_FOUND, TYPO_QUESTION.question)
    unmeasured = score_question(TYPO_QUESTION, [HIT_A], STATUS_FOUND)
    plain = score_question(Q1, [HIT_A], STATUS_FOUND, "问")
    assert (fixed.typo_resolved, missed.typo_resolved, unmeasured.typo_resolved) == (True, False, None)
    assert plain.typo_resolved is None
    typo = typo_rate([fixed, missed, unmeasured, plain])
    assert (typo.count, typo.total, typo.value) == (1, 2, 0.5)
    assert summarise([fixed, missed]).metric("typo_resolved") == 0.5
