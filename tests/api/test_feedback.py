"""👍/👎 on answers: POST /api/v1/feedback stores the vote with its query-log row; bad votes get a 4xx."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.querylog import QueryLog
from api.routes.feedback import FEEDBACK_PER_MINUTE
from config import Settings
from rag.engine import Engine


@pytest.fixture()
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "queries.sqlite"


@pytest.fixture()
def client(engine: Engine, log_path: Path) -> Iterator[TestClient]:
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_QUERY_LOG=log_path)
    with TestClient(create_app(settings=settings, engine=engine)) as test_client:
        yield test_client


def _feedback_rows(path: Path) -> list[tuple[str, str, str | None]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT q.question, f.rating, f.reason FROM feedback f JOIN queries q ON q.id = f.query_row"
        ).fetchall()
    finally:
        connection.close()


def _ask(client: TestClient, question: str) -> str:
    answer = client.post("/api/v1/ask", json={"question": question}).json()
    query_id = answer["query_id"]
    assert isinstance(query_id, str) and len(query_id) == 32
    return query_id


def test_a_vote_is_stored_with_its_question_and_a_second_vote_replaces_it(
    client: TestClient, log_path: Path
) -> None:
    first = _ask(client, "长宁区宝宝屋有午饭吗")
    second = _ask(client, "渝中区托育服务有什么政策")
    assert first != second
    assert client.post("/api/v1/feedback", json={"query_id": first, "rating": "up"}).json() == {
        "status": "recorded"
    }
    assert _feedback_rows(log_path) == [("长宁区宝宝屋有午饭吗", "up", None)]
    changed = client.post(
        "/api/v1/feedback", json={"query_id": first, "rating": "down", "reason": "not_answered"}
    )
    assert changed.status_code == 200
    client.post("/api/v1/feedback", json={"query_id": second, "rating": "down"})
    assert sorted(_feedback_rows(log_path)) == [
        ("渝中区托育服务有什么政策", "down", None),
        ("长宁区宝宝屋有午饭吗", "down", "not_answered"),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query_id": "0" * 32, "rating": "up"}, 404),  # well formed, but no such question
        ({"query_id": "not-an-id", "rating": "up"}, 422),
        ({"query_id": "A" * 32, "rating": "up"}, 422),
        ({"rating": "down"}, 422),
        ({"query_id": "0" * 32, "rating": "meh"}, 422),
        ({"query_id": "0" * 32, "rating": "down", "reason": "boring"}, 422),
        ({"query_id": "0" * 32, "rating": "up", "reason": "other"}, 422),  # a reason is for 👎 only
        ({"query_id": "0" * 32, "rating": "down", "comment": "x"}, 422),
        ([], 422),
    ],
)
def test_bad_votes_get_a_clear_4xx_and_store_nothing(
    client: TestClient, log_path: Path, body: object, code: int
) -> None:
    _ask(client, "托育")
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == code, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    assert _feedback_rows(log_path) == []


def test_votes_are_rate_limited_per_client(client: TestClient) -> None:
    query_id = _ask(client, "托育")
    codes = [
        client.post("/api/v1/feedback", json={"query_id": query_id, "rating": "up"}).status_code
        for _ in range(FEEDBACK_PER_MINUTE + 1)
    ]
    assert codes == [200] * FEEDBACK_PER_MINUTE + [429]
    refused = client.post("/api/v1/feedback", json={"query_id": query_id, "rating": "down"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "反馈太频繁" in refused.json()["detail"]


def test_without_a_query_log_answers_carry_no_id_and_votes_are_refused(engine: Engine) -> None:
    with TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)) as client:
        answer = client.post("/api/v1/ask", json={"question": "托育"}).json()
        assert answer["query_id"] is None
        refused = client.post("/api/v1/feedback", json={"query_id": "0" * 32, "rating": "up"})
    assert refused.status_code == 503 and "未开启查询日志" in refused.json()["detail"]


def test_a_version_1_log_gains_query_ids_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE queries (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, channel TEXT NOT NULL,"
        " question TEXT NOT NULL, status TEXT NOT NULL, top_clause_id TEXT, latency_ms REAL NOT NULL,"
        " session_hash TEXT);"
        "INSERT INTO queries VALUES"
        " (1, '2024-01-01T00:00:00.000+00:00', 'web', '旧问题', 'found', NULL, 1.0, NULL);"
    )
    connection.commit()
    connection.close()
    log = QueryLog(path)
    try:
        log.record(
            channel="web",
            question="新问题",
            status="found",
            top_clause_id=None,
            latency_ms=1.0,
            query_id="a" * 32,
        )
        assert log.record_feedback("a" * 32, "down", "wrong_clause")
        assert not log.record_feedback("b" * 32, "up")
    finally:
        log.close()
    assert _feedback_rows(path) == [("新问题", "down", "wrong_clause")]
