"""Admin access (key from the environment, constant-time check), index reload with atomic swap, CORS."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config import Settings
from corpus.load import load_corpus
from index.build import build_index
from rag.engine import Engine
from tests.conftest import CORPUS_DIR

ADMIN_KEY = "s3cret-admin-key"  # as tests/api/conftest.py
RELOAD = "/api/v1/admin/reload"


def _rebuild_without(index_dir: Path, doc_id: str) -> None:
    documents = [d for d in load_corpus(CORPUS_DIR) if d.meta.id != doc_id]
    build_index(documents, index_dir, embed_model=None, progress=False)


# --- access ------------------------------------------------------------------------------------------


def test_admin_endpoints_closed_when_no_key_configured(engine: Engine) -> None:
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_ADMIN_KEY=None)
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        response = client.post(RELOAD, headers={"X-Admin-Key": "anything"})
    assert response.status_code == 403 and "未配置管理密钥" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Admin-Key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"X-Admin-Key": ADMIN_KEY[:-1]},
        {"X-Admin-Key": "密钥".encode()},  # non-ASCII must be a 401, not a 500
    ],
)
def test_wrong_or_missing_key_is_401(admin_client: TestClient, headers: Any) -> None:
    response = admin_client.post(RELOAD, headers=headers)
    assert response.status_code == 401
    assert "管理密钥" in response.json()["detail"] and ADMIN_KEY not in response.text


@pytest.mark.parametrize("headers", [{"X-Admin-Key": ADMIN_KEY}, {"Authorization": f"Bearer {ADMIN_KEY}"}])
def test_right_key_is_accepted(admin_client: TestClient, headers: dict[str, str]) -> None:
    response = admin_client.post(RELOAD, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "reloaded"


# --- reload ------------------------------------------------------------------------------------------


def test_reload_serves_the_new_index(admin_client: TestClient, served_index: Path) -> None:
    before = admin_client.get("/health").json()
    assert before["documents"] == 5
    _rebuild_without(served_index, "guangxi-plan")
    response = admin_client.post(RELOAD, headers={"X-Admin-Key": ADMIN_KEY})
    assert response.status_code == 200
    body = response.json()
    assert body["previous"]["documents"] == 5 and body["current"]["documents"] == 4
    after = admin_client.get("/health").json()
    assert after["documents"] == 4 and after["corpus_checksum"] != before["corpus_checksum"]
    assert admin_client.get("/api/v1/documents/guangxi-plan").status_code == 404


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete_manifest"])
def test_reload_of_a_corrupt_index_keeps_the_old_engine(
    admin_client: TestClient, served_index: Path, damage: str
) -> None:
    before = admin_client.get("/health").json()
    clauses = served_index / "clauses.jsonl"
    if damage == "flip_byte":
        data = bytearray(clauses.read_bytes())
        data[100] ^= 0x01
        clauses.write_bytes(bytes(data))
    elif damage == "truncate":
        clauses.write_bytes(clauses.read_bytes()[:-50])
    else:
        (served_index / "manifest.json").unlink()
    response = admin_client.post(RELOAD, headers={"X-Admin-Key": ADMIN_KEY})
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "索引加载失败" in detail
    assert ("manifest.json" if damage == "delete_manifest" else "clauses.jsonl") in detail
    assert admin_client.get("/health").json() == before
    answer = admin_client.post("/api/v1/ask", json={"question": "长宁区宝宝屋建设"}).json()
    assert answer["status"] == "found" and answer["hits"][0]["doc_id"] == "changning-plan"


def test_requests_in_flight_finish_on_the_old_engine(served_index: Path) -> None:
    old_engine = Engine.from_dir(served_index)
    entered, release = threading.Event(), threading.Event()
    real_ask = old_engine.ask

    def slow_ask(question: str, session_id: str | None = None) -> object:
        entered.set()
        assert release.wait(30)
        return real_ask(question, session_id)

    old_engine.ask = slow_ask  # type: ignore[method-assign,assignment]
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_ADMIN_KEY=ADMIN_KEY, POLICYQA_INDEX=served_index)
    app = create_app(settings=settings, engine=old_engine)
    results: dict[str, object] = {}
    with TestClient(app) as client:

        def in_flight() -> None:
            results["slow"] = client.post("/api/v1/ask", json={"question": "广西儿童友好城市建设的目标"})

        worker = threading.Thread(target=in_flight)
        worker.start()
        assert entered.wait(30)
        _rebuild_without(served_index, "guangxi-plan")
        assert client.post(RELOAD, headers={"X-Admin-Key": ADMIN_KEY}).status_code == 200
        assert app.state.engine_holder.engine is not old_engine
        # New requests see the new index (no 广西 document any more) while the old request still runs.
        assert client.get("/api/v1/documents/guangxi-plan").status_code == 404
        release.set()
        worker.join(30)
    slow = results["slow"]
    assert slow.status_code == 200  # type: ignore[attr-defined]
    hits = slow.json()["hits"]  # type: ignore[attr-defined]
    assert hits and hits[0]["doc_id"] == "guangxi-plan"  # answered from the old engine, in full


# --- CORS --------------------------------------------------------------------------------------------


def test_cors_only_for_configured_origins(engine: Engine) -> None:
    allowed = "https://policy.example.cn"
    settings = Settings(POLICYQA_RATE_LIMIT=1, POLICYQA_CORS_ORIGINS=[allowed])
    with TestClient(create_app(settings=settings, engine=engine)) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        ok = client.options("/api/v1/ask", headers={"Origin": allowed, **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == allowed
        refused = client.options("/api/v1/ask", headers={"Origin": "https://evil.example", **preflight})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        other = client.get("/api/v1/documents", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        # A 429 still carries CORS headers, so the page on the allowed origin can show its message.
        limited = client.get("/api/v1/documents", headers={"Origin": allowed})
        assert limited.status_code == 429 and limited.headers["access-control-allow-origin"] == allowed


def test_no_cors_headers_when_no_origin_configured(engine: Engine) -> None:
    with TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)) as client:
        response = client.get("/api/v1/documents", headers={"Origin": "https://policy.example.cn"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
