"""The evaluation floor: eval/floor.json's checks hold on the bundled index; the file format and the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import check_floor
from eval.floor import FLOOR_FILE, Floor, FloorCheck, FloorError, evaluate, load_floor, parse_floor
from eval.labels import EvalQuestion, GoldAnswer, load_questions
from eval.metrics import aggregate, score_question
from eval.run import ModeRun, run_mode
from rag.engine import Engine
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL


def test_the_bm25_checks_of_floor_json_hold_on_the_bundled_index(engine: Engine) -> None:
    """The session engine is BM25-only; the checks of the hybrid with the embedded model are enforced by
    `policyqa eval --check-floor` on the real index in scripts/test.sh."""
    floor = load_floor()
    assert floor.checks, "at least one check is enforced"
    assert {c.mode for c in floor.checks} >= {"bm25", "hybrid"}
    questions = load_questions()
    runs = {"bm25": run_mode(engine, questions, "bm25", progress=False)}
    summaries = {mode: {"all": r.report.overall, **r.report.by_split} for mode, r in runs.items()}
    bm25_checks = [c for c in floor.checks if c.mode == "bm25"]
    failed = [r.line() for r in evaluate(bm25_checks, summaries) if not r.ok]
    assert failed == []


def test_floor_json_keeps_todays_checks_and_lists_the_issue_targets() -> None:
    floor = load_floor()
    assert FloorCheck("hit_at_5", "hybrid", "test", min=0.93) in [
        FloorCheck(c.metric, c.mode, c.split, c.min, c.max) for c in floor.checks
    ]
    assert {(t.metric, t.min, t.max) for t in floor.targets} >= {
        ("held_back", 0.80, None),
        ("wrongly_not_found", None, 0.03),
    }


def test_the_older_single_check_form_still_reads() -> None:
    floor = parse_floor({"mode": "hybrid", "split": "test", "hit_at_5": 0.87, "note": "old"})
    assert floor == Floor((FloorCheck("hit_at_5", "hybrid", "test", min=0.87),))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"checks": [{"metric": "hit_at_2", "min": 0.5}]}, "unknown metric"),
        ({"checks": [{"metric": "held_back"}]}, "needs min or max"),
        ({"checks": [{"metric": "held_back", "min": "0.8"}]}, "must be a number"),
        ({"checks": [{"metric": "held_back", "max": True}]}, "must be a number"),
        ({"note": "nothing to check"}, "no 'checks'"),
    ],
)
def test_a_malformed_floor_is_refused_with_the_reason(data, message) -> None:
    with pytest.raises(FloorError, match=message):
        parse_floor(data)


def _run(answers: list[tuple[EvalQuestion, str]]) -> ModeRun:
    outcomes = [score_question(q, [], status) for q, status in answers]
    return ModeRun("hybrid", outcomes, aggregate(outcomes))


GOLD = (GoldAnswer("d", "甲条款", None),)
ANSWERABLE = [
    EvalQuestion(id=f"q{i:03d}", question="问", kind="colloquial", split="test", answerable=True, gold=GOLD)
    for i in range(1, 11)
]
DETAIL = [
    EvalQuestion(
        id=f"q{i:03d}",
        question="问",
        kind="detail",
        split="test",
        answerable=False,
        expect="partial",
        related=GOLD,
        detail="fee",
    )
    for i in range(11, 16)
]


def test_min_and_max_checks_pass_and_fail_on_measured_values() -> None:
    # 10 answerable: 9 found (no gold clause among them), 1 partial -> wrongly not found 0.1.
    # 5 detail questions: 3 partial, 1 not_found, 1 found -> held back 0.8.
    statuses = [STATUS_FOUND] * 9 + [STATUS_PARTIAL] + [STATUS_PARTIAL] * 3 + [STATUS_NOT_FOUND, STATUS_FOUND]
    run = _run(list(zip(ANSWERABLE + DETAIL, statuses, strict=True)))
    summaries = {"hybrid": {"all": run.report.overall, **run.report.by_split}}
    checks = [
        FloorCheck("held_back", min=0.80),
        FloorCheck("held_back", min=0.81),
        FloorCheck("wrongly_not_found", max=0.10),
        FloorCheck("wrongly_not_found", max=0.03),
        FloorCheck("partial_recall", min=0.5, max=0.7),
        FloorCheck("typo_resolved", min=0.5),  # no typo questions: undefined, so not met
        FloorCheck("hit_at_5", mode="vector", min=0.1),
        FloorCheck("hit_at_5", split="dev", min=0.1),
    ]
    results = evaluate(checks, summaries)
    assert [r.ok for r in results] == [True, False, True, False, True, False, False, False]
    assert results[0].value == pytest.approx(0.8) and results[3].value == pytest.approx(0.1)
    assert results[4].value == pytest.approx(0.6)
    assert results[1].line() == "hybrid test held_back >= 0.810: 0.800  NOT MET"
    assert (
        results[3].line(failed="BELOW FLOOR") == "hybrid test wrongly_not_found <= 0.030: 0.100  BELOW FLOOR"
    )
    assert results[5].line().endswith("-  undefined (no such questions)")
    assert results[6].reason == "mode vector did not run" and results[7].reason == "split dev did not run"


def test_check_floor_exits_1_below_the_floor_and_names_each_check(tmp_path: Path, capsys) -> None:
    run = _run([(q, STATUS_FOUND) for q in ANSWERABLE] + [(q, STATUS_PARTIAL) for q in DETAIL])
    path = tmp_path / "floor.json"
    path.write_text(
        json.dumps(
            {"checks": [{"metric": "held_back", "min": 0.8}, {"metric": "wrongly_not_found", "max": 0.03}]}
        ),
        encoding="utf-8",
    )
    assert check_floor({"hybrid": run}, path) == 0
    assert capsys.readouterr().err.count("  ok\n") == 2
    path.write_text(json.dumps({"checks": [{"metric": "hit_at_1", "min": 0.5}]}), encoding="utf-8")
    assert check_floor({"hybrid": run}, path) == 1  # nothing was ranked: hit@1 is 0
    assert "hybrid test hit_at_1 >= 0.500: 0.000  BELOW FLOOR" in capsys.readouterr().err
    path.write_text("{not json", encoding="utf-8")
    assert check_floor({"hybrid": run}, path) == 1
    assert "floor.json" in capsys.readouterr().err


def test_the_default_floor_file_is_the_one_in_eval() -> None:
    assert FLOOR_FILE.parent.name == "eval" and load_floor(FLOOR_FILE) == load_floor()
