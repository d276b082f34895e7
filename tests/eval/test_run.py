"""The harness on scripted answers of all three statuses: outcomes, failures and their reasons, tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from corpus.models import Clause, DocumentMeta
from eval.labels import EvalQuestion, GoldAnswer, TypoFix
from eval.metrics import aggregate, score_question
from eval.run import (
    FAILURE_ANSWERABLE_PARTIAL,
    FAILURE_ANSWERABLE_REFUSED,
    FAILURE_DETAIL_FOUND,
    FAILURE_MISSED,
    FAILURE_UNANSWERABLE_FOUND,
    FAILURE_UNANSWERABLE_PARTIAL,
    ModeRun,
    failure_reason,
    format_breakdown,
    format_table,
    format_typos,
    run_mode,
)
from rag.models import (
    ROLE_ANSWER,
    ROLE_RELATED,
    STATUS_FOUND,
    STATUS_NOT_FOUND,
    STATUS_PARTIAL,
    Answer,
    Correction,
    Detail,
    Hit,
)

DOC = DocumentMeta(id="changning-plan", title="长宁", region="长宁区")
BAOBAOWU = Clause(
    id="cn-20",
    doc_id="changning-plan",
    number="(20)",
    path=(),
    text="(20)全面推进社区托育“宝宝屋”建设,实现街镇覆盖率不低于85%。",
    lines=(1, 1),
)
OTHER = Clause(
    id="cn-44", doc_id="changning-plan", number="(44)", path=(), text="持续办好爱心暑托班", lines=(2, 2)
)
GOLD = (GoldAnswer("changning-plan", "全面推进社区托育“宝宝屋”建设", "(20)"),)


def hit(clause: Clause, role: str = ROLE_ANSWER) -> Hit:
    return Hit(clause, DOC, 1.0, ("bm25",), "长宁 (20)", role=role)


def answer(status: str, question: str, hits: tuple[Hit, ...] = (), **fields: object) -> Answer:
    return Answer(status, question, hits, ("长宁区",), "", **fields)  # type: ignore[arg-type]


@dataclass
class ScriptedEngine:
    """Stands in for Engine: answers each question as scripted and records what it was asked."""

    script: dict[str, Answer]
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def ask(
        self, question: str, session_id: str | None = None, top_k: int | None = None, mode: str = ""
    ) -> Answer:
        self.asked.append((question, session_id))
        return self.script.get(question, answer(STATUS_NOT_FOUND, question))


def q(qid: str, text: str, kind: str, **fields: object) -> EvalQuestion:
    base: dict[str, object] = {
        "id": qid,
        "question": text,
        "kind": kind,
        "split": "test",
        "answerable": False,
    }
    base.update(fields)
    return EvalQuestion(**base)  # type: ignore[arg-type]


QUESTIONS = [
    q("q001", "长宁宝宝屋", "wechat_short", answerable=True, gold=GOLD),
    q("q002", "宝宝屋中午管不管饭", "detail", expect="partial", related=GOLD, detail="service"),
    q("q003", "宝宝屋几点开门", "detail", expect="partial", related=GOLD, detail="time"),
    q("q004", "宝宝屋电话多少", "detail", expect="partial", related=GOLD, detail="contact"),
    q("q005", "阿拉小囡两岁，长宁有地方白天帮忙带伐", "dialect", answerable=True, gold=GOLD),
    q("q006", "长宁托育的地方", "colloquial", answerable=True, gold=GOLD),
    q("q007", "长宁暑托班", "wechat_short", answerable=True, gold=GOLD),
    q(
        "q008",
        "长宁拖育服务",
        "typo",
        answerable=True,
        gold=GOLD,
        intended="长宁托育服务",
        typos=(TypoFix("拖育", "托育"),),
    ),
    q("q009", "杭州有没有宝宝屋", "unanswerable"),
    q("q010", "北京宝宝屋", "unanswerable"),
    q(
        "q011",
        "一个月要多少钱",
        "follow_up",
        context=("长宁有宝宝屋吗",),
        expect="partial",
        related=GOLD,
        detail="fee",
    ),
]
SCRIPT = {
    "长宁宝宝屋": answer(STATUS_FOUND, "长宁宝宝屋", (hit(OTHER), hit(BAOBAOWU))),  # found, rank 2
    "宝宝屋中午管不管饭": answer(
        STATUS_PARTIAL, "宝宝屋中午管不管饭", (hit(BAOBAOWU, ROLE_RELATED),), detail=Detail("service", "午餐")
    ),
    "宝宝屋几点开门": answer(STATUS_NOT_FOUND, "宝宝屋几点开门"),  # held back by refusing
    "宝宝屋电话多少": answer(STATUS_FOUND, "宝宝屋电话多少", (hit(BAOBAOWU),)),  # a detail presented as found
    # The gold clause is among the related hits, but a partial answer does not answer.
    "阿拉小囡两岁，长宁有地方白天帮忙带伐": answer(
        STATUS_PARTIAL, "阿拉小囡两岁，长宁有地方白天帮忙带伐", (hit(BAOBAOWU, ROLE_RELATED),)
    ),
    "长宁托育的地方": answer(STATUS_NOT_FOUND, "长宁托育的地方"),
    "长宁暑托班": answer(STATUS_FOUND, "长宁暑托班", (hit(OTHER),)),  # found, but not the gold clause
    "长宁拖育服务": answer(
        STATUS_FOUND,
        "长宁拖育服务",
        (hit(BAOBAOWU),),
        resolved_question="长宁托育服务",
        corrections=(Correction("拖育", "托育"),),
        rewrites=("typo",),
    ),
    "杭州有没有宝宝屋": answer(STATUS_FOUND, "杭州有没有宝宝屋", (hit(BAOBAOWU),)),
    "北京宝宝屋": answer(STATUS_PARTIAL, "北京宝宝屋", (hit(BAOBAOWU, ROLE_RELATED),)),
    "一个月要多少钱": answer(STATUS_PARTIAL, "一个月要多少钱", (hit(BAOBAOWU, ROLE_RELATED),)),
}


@pytest.fixture(scope="module")
def scripted_run() -> tuple[ModeRun, ScriptedEngine]:
    engine = ScriptedEngine(SCRIPT)
    return run_mode(engine, QUESTIONS, "hybrid", progress=False), engine  # type: ignore[arg-type]


def test_run_mode_records_each_status_and_counts_only_found_answers(scripted_run):
    run, engine = scripted_run
    statuses = {o.question_id: o.status for o in run.outcomes}
    assert statuses == {
        "q001": STATUS_FOUND,
        "q002": STATUS_PARTIAL,
        "q003": STATUS_NOT_FOUND,
        "q004": STATUS_FOUND,
        "q005": STATUS_PARTIAL,
        "q006": STATUS_NOT_FOUND,
        "q007": STATUS_FOUND,
        "q008": STATUS_FOUND,
        "q009": STATUS_FOUND,
        "q010": STATUS_PARTIAL,
        "q011": STATUS_PARTIAL,
    }
    ranks = {o.question_id: o.first_hit_rank for o in run.outcomes if o.answerable}
    assert ranks == {"q001": 2, "q005": None, "q006": None, "q007": None, "q008": 1}
    overall = run.report.overall
    # Answerable: q001 (rank 2), q005 (partial), q006 (refused), q007 (miss), q008 (rank 1).
    assert overall.hit_at[1] == pytest.approx(1 / 5) and overall.hit_at[3] == pytest.approx(2 / 5)
    assert (overall.wrongly_not_found.count, overall.wrongly_not_found.total) == (2, 5)
    # Expecting partial: q002 (partial), q003 (not_found), q004 (found), q011 (partial).
    assert (overall.held_back.count, overall.held_back.total) == (3, 4)
    assert (overall.partial.true_partials, overall.partial.precision) == (2, pytest.approx(2 / 4))
    assert overall.partial.recall == pytest.approx(2 / 4)
    # Refused: q003 (detail), q006 (answerable); expecting not_found: q009, q010, neither refused.
    assert (overall.refusal.precision, overall.refusal.recall) == (0.0, 0.0)
    assert (overall.typo_resolved.count, overall.typo_resolved.total) == (1, 1)
    # The follow-up was asked after its context, in a session of its own.
    follow = [
        (text, session) for text, session in engine.asked if text in ("长宁有宝宝屋吗", "一个月要多少钱")
    ]
    assert [text for text, _ in follow] == ["长宁有宝宝屋吗", "一个月要多少钱"]
    assert follow[0][1] is not None and follow[0][1] == follow[1][1]


def test_failures_list_details_answered_found_and_answerable_ones_answered_partial(scripted_run):
    run, _ = scripted_run
    reasons = [(f["id"], f["reason"]) for f in run.failures]
    assert reasons == [
        ("q004", FAILURE_DETAIL_FOUND),
        ("q005", FAILURE_ANSWERABLE_PARTIAL),
        ("q006", FAILURE_ANSWERABLE_REFUSED),
        ("q007", FAILURE_MISSED),
        ("q009", FAILURE_UNANSWERABLE_FOUND),
        ("q010", FAILURE_UNANSWERABLE_PARTIAL),
    ]
    detail_found = run.failures[0]
    assert detail_found["expected"] == "partial (contact not stated)"
    assert detail_found["got"][0]["role"] == ROLE_ANSWER and detail_found["status"] == STATUS_FOUND
    answered_partial = run.failures[1]
    assert answered_partial["got"][0]["role"] == ROLE_RELATED
    assert answered_partial["expected"][0]["number"] == "(20)"


def test_failure_reason_needs_an_answer_decision_only_for_status_failures():
    search = score_question(QUESTIONS[0], [OTHER])  # no status: a plain search run
    assert failure_reason(search) == FAILURE_MISSED
    assert failure_reason(score_question(QUESTIONS[0], [BAOBAOWU])) is None
    assert failure_reason(score_question(QUESTIONS[1], [], STATUS_NOT_FOUND)) is None  # held back


def test_tables_show_the_status_metrics_per_mode_split_kind_and_document(scripted_run):
    run, _ = scripted_run
    table = format_table({"hybrid": run})
    header = " ".join(table.splitlines()[0].split())
    assert header.endswith("refuse P refuse R partial P partial R held back wrong NF")
    test_row = next(line for line in table.splitlines() if line.startswith("hybrid  test"))
    # held back 3/4, wrongly not found 2/5, refusal precision 0.
    assert test_row.split()[-2:] == ["0.750", "0.400"]
    kinds = format_breakdown(run, "kind", "test")
    detail_row = next(line for line in kinds.splitlines() if line.startswith("detail"))
    assert detail_row.split()[-1] == "1/1/1"  # found / partial / not_found
    assert detail_row.split()[-3] == "0.667"  # held back 2 of 3 detail-kind questions
    assert "changning-plan" in format_breakdown(run, "doc", "test")
    assert format_breakdown(run, "kind", "dev").count("\n") == 1  # header and rule only
    typos = format_typos({"hybrid": run}).splitlines()
    assert typos[2].split() == ["hybrid", "all", "1", "1", "1.000"]


def test_aggregate_of_a_run_matches_the_run_report(scripted_run):
    run, _ = scripted_run
    assert aggregate(run.outcomes) == run.report
    data = run.to_dict()
    assert data["report"]["by_split_kind"]["test"]["detail"]["held_back"]["count"] == 2
    assert {o["status"] for o in data["outcomes"]} == {STATUS_FOUND, STATUS_PARTIAL, STATUS_NOT_FOUND}
