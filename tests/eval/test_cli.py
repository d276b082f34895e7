"""`policyqa eval` end to end on the bundled index with a few questions of each expectation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from eval.cli import register
from eval.labels import load_questions, write_questions

# One or more of each: answerable, detail (partial), unanswerable, typo, follow-up.
SAMPLE_IDS = ("q001", "q132", "q281", "q287", "q314", "q445", "q475", "q488", "q502")


@pytest.fixture(scope="module")
def sample_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evalset") / "sample.jsonl"
    questions = [q for q in load_questions() if q.id in SAMPLE_IDS]
    assert {q.kind for q in questions} >= {"detail", "typo", "unanswerable", "wechat_short", "follow_up"}
    write_questions(questions, path)
    return path


def _eval(built_index: Path, sample_set: Path, tmp_path: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        ["eval", "--index", str(built_index), "--set", str(sample_set), "--report-dir", str(tmp_path), *extra]
    )
    return int(args.func(args))


def test_eval_prints_status_metrics_per_mode_kind_and_document(built_index, sample_set, tmp_path, capsys):
    assert _eval(built_index, sample_set, tmp_path) == 0
    out = capsys.readouterr().out
    assert "mode vector: skipped" in out  # the bundled test index is BM25-only
    for heading in (
        "partial P",
        "held back",
        "wrong NF",
        "targets (reported, not enforced):",
        "hybrid by question kind (test split):",
        "bm25 by question kind (test split):",
        "hybrid by document (test split):",
        "typo correction (resolved question holds the intended words):",
        "hybrid failures (",
    ):
        assert heading in out, heading
    assert "hybrid test held_back >= 0.800" in out
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    hybrid = report["modes"]["hybrid"]
    assert len(hybrid["outcomes"]) == len(SAMPLE_IDS)
    assert {o["expected"] for o in hybrid["outcomes"]} == {"found", "partial", "not_found"}
    assert all(o["status"] in ("found", "partial", "not_found") for o in hybrid["outcomes"])
    assert set(hybrid["report"]["by_split_kind"]) <= {"dev", "test"}
    assert all("reason" in f for f in hybrid["failures"])


def test_eval_json_summary_and_floor_check(built_index, sample_set, tmp_path, capsys):
    code = _eval(built_index, sample_set, tmp_path, "--json", "--mode", "hybrid", "--check-floor")
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    test = data["summary"]["hybrid"]["test"]
    assert {"held_back", "wrongly_not_found", "partial", "refusal", "typo_resolved", "statuses"} <= set(test)
    assert "detail" in data["by_kind"]["hybrid"]["test"] or "detail" in data["by_kind"]["hybrid"]["dev"]
    # The floor line is printed whatever the outcome, and the exit code follows it.
    assert "floor check: hybrid test hit_at_5 >= 0.930:" in captured.err
    assert code == (0 if "BELOW FLOOR" not in captured.err else 1)


def test_eval_cross_validates_the_answer_thresholds(built_index, sample_set, tmp_path, capsys):
    assert _eval(built_index, sample_set, tmp_path, "--cross-validate", "1") == 0
    out = capsys.readouterr().out
    assert "scored on the other (2 halves)" in out
    assert out.count("\nraw ") == 1 and out.count("\nsmoothed ") == 1
