"""The `policyqa` command line as a user runs it (subprocesses on the bundled corpus)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract import HIT_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policyqa.cli", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


def test_build_without_a_model_warns_once_and_runs_bm25_only(tmp_path: Path) -> None:
    result = run(
        "build",
        "--index",
        str(tmp_path / "index"),
        "--json",
        env={"POLICYQA_EMBED_MODEL": str(tmp_path / "no-model")},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["retrievers"] == ["bm25"] and summary["documents"] == 5 and summary["clauses"] > 300
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "POLICYQA_EMBED_MODEL" in warnings[0]


def test_ask_and_search_json_and_batch(built_index: Path) -> None:
    result = run("ask", "长宁区宝宝屋", "--index", str(built_index), "--json")
    answer = json.loads(result.stdout)
    assert {"status", "question", "hits", "regions", "message"} <= set(answer)
    assert answer["status"] == "found" and answer["retrievers"] == ["bm25"]
    assert answer["hits"][0]["doc"]["region"] == "长宁区"

    result = run("search", "--batch", "-", "--index", str(built_index), stdin="广西方案第17条\n\n托育\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["广西方案第17条", "托育"]  # in order, blank lines skipped
    assert set(lines[0]) == {"query", "hits", "retrievers"}
    assert lines[0]["hits"][0]["retrievers"] == ["lookup"]
    hit = lines[0]["hits"][0]
    assert set(hit) >= HIT_FIELDS


def test_readable_answer_quotes_the_clause(built_index: Path) -> None:
    result = run("ask", "广西方案第17条", "--index", str(built_index))
    assert result.returncode == 0
    assert (
        "17.改善儿童安全出行体验" in result.stdout and "《广西推进儿童友好城市建设实施方案》" in result.stdout
    )


def test_clauses_json_and_tree() -> None:
    result = run("clauses", "--doc", "guangxi-plan", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and all(r["doc_id"] == "guangxi-plan" for r in records)
    assert {"id", "doc_id", "number", "path", "text", "lines", "doc"} <= set(records[0])
    assert {"title", "issuer", "doc_number", "date_written", "date_published", "region", "type"} <= set(
        records[0]["doc"]
    )
    tree = run("clauses", "--doc", "guangxi-plan", "--tree").stdout
    assert "二、建设任务" in tree and "17." in tree


@pytest.mark.parametrize(
    "args", [["ask"], ["clauses", "--doc", "nope"], ["ask", "x", "--index", "/nonexistent/index"]]
)
def test_usage_errors_exit_non_zero_with_a_message(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode != 0 and result.stderr.strip()
