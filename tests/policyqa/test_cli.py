"""The `policyqa` command line as a user runs it (subprocesses on the bundled corpus)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.request
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


# --- settings errors, warnings, a stale index -------------------------------------------------------


@pytest.mark.parametrize("command", [["search", "托育"], ["serve", "--port", "1"], ["clauses", "--doc", "x"]])
def test_a_bad_setting_is_one_line_naming_it_without_a_traceback(command: list[str]) -> None:
    result = run(*command, env={"POLICYQA_RATE_LIMIT": "abc"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "policyqa: bad setting POLICYQA_RATE_LIMIT='abc': expected a whole number >= 0"
    ]


@pytest.fixture(scope="module")
def index_without_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BM25-only index whose build wanted vectors but could not load the model (the warned case)."""
    from corpus.load import load_corpus
    from index.build import build_index

    out = tmp_path_factory.mktemp("no-model") / "index"
    missing = tmp_path_factory.mktemp("models") / "missing-model"
    build_index(load_corpus(ROOT / "corpus" / "data"), out, str(missing), progress=False, warn=lambda _: None)
    return out


def test_ask_and_search_do_not_repeat_the_vector_warning(index_without_model: Path) -> None:
    for command in (["ask", "长宁区宝宝屋"], ["search", "托育", "--json"]):
        result = run(*command, "--index", str(index_without_model))
        assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr


def test_vector_search_without_vectors_says_the_retriever_is_off(index_without_model: Path) -> None:
    result = run("search", "托育", "--mode", "vector", "--index", str(index_without_model))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "vector retriever is off" in line and "missing-model" in line and "--mode" in line


def _four_documents(tmp_path: Path) -> Path:
    folder = tmp_path / "four"
    folder.mkdir()
    for path in sorted((ROOT / "corpus" / "data").glob("*.txt"))[:4]:
        shutil.copy(path, folder / path.name)
    return folder


def test_serve_no_build_refuses_a_stale_index_naming_the_command(built_index: Path, tmp_path: Path) -> None:
    four = _four_documents(tmp_path)
    result = run("serve", "--index", str(built_index), "--no-build", env={"POLICYQA_CORPUS": str(four)})
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "out of date" in line and f"build --corpus {four} --index {built_index}`" in line


def test_serve_rebuilds_a_stale_index_once_and_warns_once(tmp_path: Path) -> None:
    from policyqa.localserver import free_port, stop_server, wait_until_healthy

    index = tmp_path / "index"
    no_model = {"POLICYQA_EMBED_MODEL": str(tmp_path / "missing-model"), "HF_HUB_OFFLINE": "1"}
    assert run("build", "--index", str(index), env=no_model).returncode == 0
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, **no_model, "POLICYQA_CORPUS": str(_four_documents(tmp_path))}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "policyqa.cli", "serve", "--index", str(index), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, log_path=log)
        with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
            health = json.loads(response.read())
    finally:
        stop_server(process)
    assert health["documents"] == 4
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if "rebuilding" in line]) == 1
    assert len([line for line in lines if "WARNING" in line and "vector" in line]) == 1


def test_serve_compares_with_the_folder_the_index_was_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from config import get_settings
    from policyqa import cli

    # Built with --corpus, served without it: not rebuilt from the default folder behind the user's back.
    four, index = _four_documents(tmp_path), tmp_path / "index"
    env = {"POLICYQA_EMBED_MODEL": str(tmp_path / "missing-model")}
    assert run("build", "--corpus", str(four), "--index", str(index), env=env).returncode == 0
    monkeypatch.delenv("POLICYQA_CORPUS", raising=False)
    get_settings.cache_clear()
    serve = argparse.Namespace(index=str(index), corpus=None, no_build=True)
    assert cli._index_to_serve(serve) == index
    assert f"serving the index of {four}" in capsys.readouterr().err
    # An explicit POLICYQA_CORPUS wins: the bundled five documents are not what was built.
    monkeypatch.setenv("POLICYQA_CORPUS", str(ROOT / "corpus" / "data"))
    get_settings.cache_clear()
    try:
        assert cli._index_to_serve(serve) is None
    finally:
        get_settings.cache_clear()
    assert "out of date" in capsys.readouterr().err
