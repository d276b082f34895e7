"""Admin document endpoints: upload (multipart and JSON), dry run, delete, status; key required."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ADMIN_KEY = "s3cret-admin-key"  # as tests/api/conftest.py
DOCUMENTS = "/api/v1/admin/documents"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
POLICY_HTML = """<html><head><meta charset="utf-8"><title>某某县人民政府</title></head><body>
<nav class="nav"><a href="/">首页</a><a href="/zwgk">政务公开</a></nav>
<div class="article"><h1>某某县儿童托育服务管理办法</h1>
<div class="share">分享到：<a>微信</a></div>
<div class="content"><p>第一条　为规范托育服务，保障婴幼儿安全，根据有关规定，制定本办法。</p>
<p>第二条　县卫生健康局负责托育机构的备案和监督管理。</p>
<p>第三条　托育机构应当配备符合标准的保育人员，收托3岁以下婴幼儿。</p></div></div>
<footer>网站标识码：1234567890</footer></body></html>"""


@pytest.fixture()
def client(admin_client: TestClient) -> TestClient:
    return admin_client


def _upload(client: TestClient, **fields: str) -> dict:
    files = {"file": ("tuoyu.html", POLICY_HTML.encode("utf-8"), "text/html")}
    response = client.post(DOCUMENTS, files=files, data=fields, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_upload_needs_the_admin_key(client: TestClient) -> None:
    files = {"file": ("tuoyu.html", POLICY_HTML.encode("utf-8"), "text/html")}
    assert client.post(DOCUMENTS, files=files).status_code == 401
    assert client.post(DOCUMENTS, files=files, headers={"X-Admin-Key": "wrong"}).status_code == 401
    assert client.delete(f"{DOCUMENTS}/guangxi-plan").status_code == 401
    assert client.get("/api/v1/documents/guangxi-plan").status_code == 200  # nothing was removed


def test_dry_run_returns_outline_and_changes_nothing(client: TestClient, served_index: Path) -> None:
    before = (served_index / "manifest.json").read_bytes()
    body = _upload(client, dry_run="true")
    assert body["status"] == "dry_run" and body["format"] == "html" and body["id"] == "tuoyu"
    assert (
        body["doc"]["title"] == "某某县儿童托育服务管理办法" and body["clause_count"] == 4
    )  # title + 3 articles
    assert "第三条" in body["outline"] and "首页" not in body["outline"]
    assert (served_index / "manifest.json").read_bytes() == before
    assert client.get("/api/v1/documents/tuoyu").status_code == 404


def test_upload_adds_the_document_and_the_served_engine_answers_from_it(client: TestClient) -> None:
    body = _upload(client)
    assert body["status"] == "added" and body["index"]["added"] == ["tuoyu"]
    answer = client.post("/api/v1/ask", json={"question": "托育机构的备案由哪个部门负责"}).json()
    assert answer["status"] == "found" and answer["hits"][0]["doc_id"] == "tuoyu"
    assert "县卫生健康局负责托育机构的备案" in answer["hits"][0]["text"]
    # Uploading the same file again changes nothing and keeps the clause ids.
    ids = [c["id"] for c in client.get("/api/v1/documents/tuoyu").json()["clauses"]]
    again = _upload(client)
    assert again["status"] == "unchanged"
    assert [c["id"] for c in client.get("/api/v1/documents/tuoyu").json()["clauses"]] == ids


def test_json_upload_with_explicit_id_then_delete(client: TestClient) -> None:
    payload = {
        "filename": "policy.html",
        "content_base64": base64.b64encode(POLICY_HTML.encode("utf-8")).decode("ascii"),
        "id": "county-childcare",
    }
    response = client.post(DOCUMENTS, json=payload, headers=AUTH)
    assert response.status_code == 200 and response.json()["status"] == "added"
    assert client.get("/api/v1/documents/county-childcare").status_code == 200

    response = client.delete(f"{DOCUMENTS}/county-childcare", headers=AUTH)
    assert response.status_code == 200 and response.json()["status"] == "removed"
    assert client.get("/api/v1/documents/county-childcare").status_code == 404
    assert client.delete(f"{DOCUMENTS}/county-childcare", headers=AUTH).status_code == 404


def test_superseded_document_is_not_answered_and_says_so(client: TestClient) -> None:
    question = {"question": "长宁区宝宝屋建设"}
    assert client.post("/api/v1/ask", json=question).json()["hits"][0]["doc_id"] == "changning-plan"
    response = client.post(
        f"{DOCUMENTS}/changning-plan/status", json={"superseded_by": "yuzhong-plan"}, headers=AUTH
    )
    assert response.status_code == 200 and response.json()["doc"]["status"] == "失效"
    hits = client.post("/api/v1/ask", json=question).json()["hits"]
    assert all(h["doc_id"] != "changning-plan" for h in hits)
    document = client.get("/api/v1/documents/changning-plan").json()  # staff can still look it up
    assert document["doc"]["superseded_by"] == "yuzhong-plan"
    bad = client.post(f"{DOCUMENTS}/changning-plan/status", json={"superseded_by": "nope"}, headers=AUTH)
    assert bad.status_code == 409 and "nope" in bad.json()["detail"]  # well-formed, but not in the index


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("policy.doc", b"old word format", 415),
        ("policy.pdf", b"not a pdf", 422),
        ("empty.html", b"<html><body><nav><a>home</a></nav></body></html>", 422),
        (".hidden.txt", "第一条　内容。".encode(), 422),
    ],
)
def test_bad_uploads_get_a_clear_4xx(client: TestClient, filename: str, content: bytes, code: int) -> None:
    response = client.post(DOCUMENTS, files={"file": (filename, content)}, headers=AUTH)
    assert response.status_code == code
    assert response.json()["detail"]


def test_bad_json_upload(client: TestClient) -> None:
    response = client.post(DOCUMENTS, json={"filename": "a.txt", "content_base64": "%%%"}, headers=AUTH)
    assert response.status_code == 422 and "content_base64" in response.json()["detail"]
    response = client.post(DOCUMENTS, json={"filename": "a.txt"}, headers=AUTH)
    assert response.status_code == 422


# --- an index folder that cannot be read: 409, nothing changed ------------------------------------


def _damage(index_dir: Path, damage: str) -> None:
    clauses = index_dir / "clauses.jsonl"
    if damage == "flip_byte":  # same size, wrong checksum
        data = bytearray(clauses.read_bytes())
        data[100] ^= 0x01
        clauses.write_bytes(bytes(data))
    elif damage == "truncate":
        (index_dir / "bm25.npz").write_bytes((index_dir / "bm25.npz").read_bytes()[:-50])
    elif damage == "unreadable_manifest":
        (index_dir / "manifest.json").write_text("{truncated", encoding="utf-8")
    else:  # the manifest is gone but every other file is still there
        (index_dir / "manifest.json").unlink()


def _snapshot(index_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index_dir.iterdir()) if p.is_file()}


CHANGES = {
    "add": lambda client: client.post(
        DOCUMENTS, files={"file": ("tuoyu.html", POLICY_HTML.encode("utf-8"), "text/html")}, headers=AUTH
    ),
    "delete": lambda client: client.delete(f"{DOCUMENTS}/guangxi-plan", headers=AUTH),
    "status": lambda client: client.post(
        f"{DOCUMENTS}/changning-plan/status", json={"repealed": True}, headers=AUTH
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "unreadable_manifest", "missing_manifest"])
def test_changes_to_an_unreadable_index_are_409_and_change_nothing(
    client: TestClient, served_index: Path, change: str, damage: str
) -> None:
    question = {"question": "长宁区宝宝屋建设"}
    answer_before = client.post("/api/v1/ask", json=question).json()
    _damage(served_index, damage)
    before = _snapshot(served_index)
    response = CHANGES[change](client)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "未做任何修改" in detail and "索引" in detail
    if damage == "missing_manifest":  # never a new one-document library written over the old one
        assert "manifest.json" in detail
    assert _snapshot(served_index) == before
    # The engine that was serving still serves the whole library.
    assert client.post("/api/v1/ask", json=question).json()["hits"] == answer_before["hits"]
    assert client.get("/api/v1/documents/guangxi-plan").status_code == 200
