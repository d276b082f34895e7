"""The staff query log: rows from the ask route, hashed ids, `policyqa report`, and no loss on SIGKILL."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.querylog import QueryLog, log_query, question_key, summarize
from config import Settings
from rag.engine import Engine

ROOT = Path(__file__).resolve().parents[2]


def _rows(path: Path) -> list[dict[str, object]]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM queries ORDER BY id")]
    finally:
        connection.close()


def _raw_bytes(path: Path) -> bytes:
    """The log file and its WAL, as stored on disk."""
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_ask_route_logs_each_answer(engine: Engine, tmp_path: Path) -> None:
    log_path = tmp_path / "queries.sqlite"
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_QUERY_LOG=log_path)
    session = "browser-session-123"
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        found = client.post(
            "/api/v1/ask",
            json={"question": "长宁区宝宝屋建设", "session_id": session},
            headers={"Sec-Fetch-Site": "same-origin"},
        ).json()
        client.post("/api/v1/ask", json={"question": "北京市的托育补贴标准"})
        assert (
            client.post("/api/v1/ask", json={"question": "   "}).status_code == 422
        )  # not an answer: not logged
        rows = _rows(log_path)  # readable while the server runs (WAL)
    assert [(r["channel"], r["status"]) for r in rows] == [("web", "found"), ("api", "not_found")]
    assert rows[0]["question"] == "长宁区宝宝屋建设" and rows[0]["top_clause_id"] == found["hits"][0]["id"]
    assert rows[1]["top_clause_id"] is None
    assert all(isinstance(r["latency_ms"], float) and r["latency_ms"] > 0 for r in rows)
    assert (
        rows[0]["session_hash"]
        and rows[0]["session_hash"] != session
        and len(str(rows[0]["session_hash"])) == 32
    )
    assert session.encode() not in _raw_bytes(log_path)


def test_no_log_unless_configured(engine: Engine, tmp_path: Path) -> None:
    app = create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)
    assert app.state.query_log is None
    with TestClient(app) as client:
        assert client.post("/api/v1/ask", json={"question": "托育"}).status_code == 200


def test_log_query_for_wechat_hashes_the_openid(engine: Engine, tmp_path: Path) -> None:
    log_path = tmp_path / "queries.sqlite"
    app = FastAPI()
    app.state.query_log = QueryLog(log_path)
    openid = "oWx_raw-openid-1234567890abcdef"
    answer = engine.ask("普惠托育服务")
    log_query(
        app, channel="wechat", question="普惠托育服务", answer=answer, latency_ms=12.5, follower_id=openid
    )
    log_query(
        app, channel="wechat", question="出错的问题", answer=None, latency_ms=4000.0, follower_id=openid
    )
    rows = _rows(log_path)
    assert [r["status"] for r in rows] == [answer.status, "error"]
    assert rows[0]["session_hash"] == rows[1]["session_hash"] == app.state.query_log.hash_id(openid)
    assert openid.encode() not in _raw_bytes(log_path)
    with pytest.raises(ValueError):
        app.state.query_log.record(
            channel="sms", question="x", status="found", top_clause_id=None, latency_ms=1
        )
    app.state.query_log.close()
    log_query(app, channel="web", question="关闭后", answer=answer, latency_ms=1.0)  # dropped, no crash
    # The salt lives in the log, so hashes stay comparable across restarts; another log hashes differently.
    assert QueryLog(log_path).hash_id(openid) == rows[0]["session_hash"]
    assert QueryLog(tmp_path / "other.sqlite").hash_id(openid) != rows[0]["session_hash"]


def test_log_is_wal_mode(tmp_path: Path) -> None:
    QueryLog(tmp_path / "q.sqlite")
    connection = sqlite3.connect(tmp_path / "q.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _filled_log(path: Path) -> None:
    log = QueryLog(path)
    entries = [
        ("web", "北京市的托育补贴标准", "not_found"),
        ("wechat", "北京市的托育补贴标准？", "not_found"),
        ("api", "  北京市的托育补贴标准。", "not_found"),
        ("web", "杭州市儿童公园", "not_found"),
        ("web", "长宁区宝宝屋建设", "found"),
        ("wechat", "普惠托育", "found"),
    ]
    for channel, question, status in entries:
        log.record(channel=channel, question=question, status=status, top_clause_id=None, latency_ms=5.0)
    log.close()


def test_summary_groups_unanswered_questions(tmp_path: Path) -> None:
    _filled_log(tmp_path / "q.sqlite")
    summary = summarize(tmp_path / "q.sqlite", top=10)
    assert summary.total == 6
    assert summary.by_status == {"not_found": 4, "found": 2}
    assert summary.by_channel == {"web": 3, "wechat": 2, "api": 1}
    assert summary.unanswered == [("北京市的托育补贴标准", 3), ("杭州市儿童公园", 1)]
    assert question_key("北京市的托育补贴标准？") == question_key("  北京市的托育补贴标准。")


def cli_main(argv: list[str]) -> int:
    from policyqa.cli import main

    return main(argv)


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_path = tmp_path / "q.sqlite"
    _filled_log(log_path)
    assert cli_main(["report", "--log", str(log_path), "--top", "1", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["unanswered"] == [{"question": "北京市的托育补贴标准", "count": 3}]
    assert body["by_channel"]["wechat"] == 2
    assert cli_main(["report", "--log", str(log_path)]) == 0
    text = capsys.readouterr().out
    assert "北京市的托育补贴标准" in text and "not_found 4" in text
    assert cli_main(["report", "--log", str(tmp_path / "missing.sqlite")]) == 1
    assert "no query log" in capsys.readouterr().err


def test_report_is_a_policyqa_subcommand(tmp_path: Path) -> None:
    _filled_log(tmp_path / "q.sqlite")
    done = subprocess.run(
        [sys.executable, "-m", "policyqa.cli", "report", "--log", str(tmp_path / "q.sqlite"), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["by_status"] == {"not_found": 4, "found": 2}


# --- kill -9 under load ----------------------------------------------------------------------------


def _soak_module():
    spec = importlib.util.spec_from_file_location("policyqa_soak", ROOT / "scripts" / "soak.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


async def _load_then_kill(base_url: str, pid: int, kill_after: int) -> list[str]:
    """Send unique questions from 8 clients; SIGKILL the server once `kill_after` were answered."""
    answered: list[str] = []
    killed = asyncio.Event()

    async def client_loop(client: httpx.AsyncClient, worker: int) -> None:
        for i in range(10_000):
            base = "北京市的托育补贴标准" if i % 3 == 0 else "渝中区托育服务有什么政策"
            question = f"{base} 编号{worker}-{i}"
            try:
                response = await client.post("/api/v1/ask", json={"question": question})
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 200:
                answered.append(question)
            if len(answered) >= kill_after and not killed.is_set():
                killed.set()
                os.kill(pid, signal.SIGKILL)  # while the other clients' requests are in flight

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(client_loop(client, w) for w in range(8)))
    return answered


def test_nothing_answered_is_lost_when_the_server_is_killed(built_index: Path, tmp_path: Path) -> None:
    soak = _soak_module()
    log_path = tmp_path / "queries.sqlite"
    port = soak.free_port()
    server = soak.start_server(
        built_index,
        port,
        {"POLICYQA_QUERY_LOG": str(log_path), "POLICYQA_RATE_LIMIT": "0"},
        tmp_path / "server.log",
    )
    try:
        answered = asyncio.run(_load_then_kill(f"http://127.0.0.1:{port}", server.pid, kill_after=60))
        assert server.wait(timeout=10) == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
    assert len(answered) >= 60
    logged = {str(r["question"]) for r in _rows(log_path)}
    missing = [q for q in answered if q not in logged]
    assert not missing, f"{len(missing)} answered questions missing from the log, e.g. {missing[:3]}"


def test_wechat_questions_reach_the_log_with_hashed_openid(engine: Engine, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.test_wechat import OPENID, WeChatServer, make_settings, message_xml

    log_path = tmp_path / "queries.sqlite"
    settings = make_settings(query_log=log_path, rate_limit_per_minute=0)
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        response = WeChatServer(client, mode="safe").post(message_xml("text", Content="长宁区宝宝屋"))
        assert response.status_code == 200
    rows = _rows(log_path)
    assert [(r["channel"], r["question"], r["status"]) for r in rows] == [("wechat", "长宁区宝宝屋", "found")]
    assert OPENID.encode() not in _raw_bytes(log_path)
