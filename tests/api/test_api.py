"""The JSON API through FastAPI's TestClient: answers, lookups, documents, health, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config import Settings
from rag.engine import Engine
from tests.contract import HIT_FIELDS


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    settings = Settings(POLICYQA_RATE_LIMIT=0)
    with TestClient(create_app(settings=settings, engine=engine)) as test_client:
        yield test_client


def test_ask_returns_verbatim_clause_with_provenance(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "长宁区宝宝屋建设"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "found" and body["session_id"]
    hit = body["hits"][0]
    assert hit["doc_id"] == "changning-plan" and "宝宝屋" in hit["text"]
    assert set(hit) >= HIT_FIELDS
    assert hit["doc"]["region"] == "长宁区" and hit["citation"].startswith("《")


def test_follow_up_keeps_session_context(client: TestClient) -> None:
    first = client.post("/api/v1/ask", json={"question": "渝中区托育服务有什么政策"}).json()
    second = client.post(
        "/api/v1/ask", json={"question": "那长宁区呢？", "session_id": first["session_id"]}
    ).json()
    assert second["session_id"] == first["session_id"]
    assert second["hits"][0]["doc_id"] == "changning-plan"


def test_not_found_answer(client: TestClient) -> None:
    body = client.post("/api/v1/ask", json={"question": "北京市的托育补贴标准"}).json()
    assert body["status"] == "not_found" and body["hits"] == [] and "北京" in body["message"]


def test_search_lookup_and_filters(client: TestClient) -> None:
    body = client.post("/api/v1/search", json={"query": "广西方案第17条"}).json()
    assert body["hits"][0]["retrievers"] == ["lookup"] and body["hits"][0]["doc_id"] == "guangxi-plan"
    body = client.post(
        "/api/v1/search", json={"query": "托育", "region": "长宁", "top_k": 3, "mode": "bm25"}
    ).json()
    assert body["hits"] and all(h["doc_id"] == "changning-plan" for h in body["hits"])
    assert body["retrievers"] == ["bm25"]


def test_clause_and_documents(client: TestClient) -> None:
    documents = client.get("/api/v1/documents").json()
    assert {d["id"] for d in documents} >= {"yuzhong-plan", "dadukou-plan", "guangxi-plan", "changning-plan"}
    assert all(d["clause_count"] > 0 for d in documents)
    tree = client.get("/api/v1/documents/changning-plan").json()
    assert tree["doc"]["title"].startswith("上海市长宁区") and tree["outline"] and tree["clauses"]
    clause_id = tree["clauses"][5]["id"]
    clause = client.get(f"/api/v1/clauses/{clause_id}").json()
    assert clause["id"] == clause_id and clause["text"] == tree["clauses"][5]["text"]


def test_health_says_which_retrievers_are_live(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["retrievers"] == ["bm25"] and body["clauses"] > 300
    assert len(body["corpus_checksum"]) == 64


def test_pages_are_served(client: TestClient) -> None:
    for path in ("/", "/staff"):
        response = client.get(path)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"json": {"question": ""}}, 422, "不能为空"),
        ({"json": {"question": "   \n "}}, 422, "不能为空"),
        ({"json": {"question": "托育" * 300}}, 422, "太长"),
        ({"json": {"question": "托育\x00服务"}}, 422, "控制字符"),
        ({"json": {}}, 422, "缺少必填字段"),
        ({"json": {"question": 5}}, 422, "文本"),
        ({"json": {"question": "托育", "extra": 1}}, 422, "不支持的字段"),
        ({"json": ["托育"]}, 422, "JSON 对象"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        (
            {"content": b'{"question": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
            400,
            "JSON",
        ),
        (
            {"content": b"question=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            "Content-Type",
        ),
        ({"content": b"{}" + b" " * 70_000, "headers": {"content-type": "application/json"}}, 413, "过大"),
        ({"json": {"question": "托育", "session_id": "bad id!"}}, 422, "格式"),
    ],
)
def test_bad_input_gets_clear_4xx(client: TestClient, kwargs: dict, status: int, message: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/ask", **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_unknown_ids_are_404_with_message(client: TestClient) -> None:
    for path in ("/api/v1/clauses/nope", "/api/v1/documents/nope", "/api/v1/nothing"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["detail"]


def test_search_rejects_bad_parameters(client: TestClient) -> None:
    assert client.post("/api/v1/search", json={"query": "托育", "top_k": 0}).status_code == 422
    assert client.post("/api/v1/search", json={"query": "托育", "mode": "magic"}).status_code == 422


def test_streamed_body_without_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"question": "'
        for _ in range(100):
            yield "托育".encode() * 400
        yield b'"}'

    response = client.post("/api/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "过大" in response.json()["detail"]


def test_the_three_statuses_over_http(client: TestClient) -> None:
    found = client.post("/api/v1/ask", json={"question": "长宁困境儿童文化福利补贴每人多少钱"}).json()
    assert found["status"] == "found" and found["detail"] is None and found["message"] == ""
    top = found["hits"][0]
    assert top["role"] == "answer" and top["answer_sentences"]
    for span in top["answer_sentences"]:
        assert top["text"][span["start"] : span["end"]] == span["text"]
    assert any("300元" in span["text"] for span in top["answer_sentences"])

    partial = client.post("/api/v1/ask", json={"question": "托育补贴怎么申请"}).json()
    assert partial["status"] == "partial"
    assert partial["detail"] == {"type": "procedure", "label": "办理流程或所需材料"}
    assert partial["message"].startswith("收录的政策文件没有写明托育补贴的办理流程或所需材料。")
    assert partial["hits"] and {h["role"] for h in partial["hits"]} == {"related"}
    assert all(s.endswith("？") for s in partial["suggestions"])

    refused = client.post("/api/v1/ask", json={"question": "公积金贷款额度怎么算"}).json()
    assert refused["status"] == "not_found" and refused["hits"] == [] and refused["suggestions"]


def test_a_corrected_typo_is_reported(client: TestClient) -> None:
    body = client.post("/api/v1/ask", json={"question": "儿同近是怎么防控"}).json()
    assert body["rewrites"] == ["typo"]
    assert {"from": "近是", "to": "近视"} in body["corrections"]
    assert "近视" in body["resolved_question"]
