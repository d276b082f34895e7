"""Scale-out: two server processes over one index share conversation state and WeChat replies in Redis.

A real redis-server is started on a free loopback port (scripts/install_system_deps.sh installs it)
and two uvicorn processes serve the real app with REDIS_URL set.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from policyqa.localserver import free_port, start_server, stop_server, wait_until_healthy

START_TIMEOUT_S = 60.0
WECHAT_TOKEN = "scale-test-token"


def wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"{what} exited with {process.returncode}:\n{output[-3000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not come up within {START_TIMEOUT_S:.0f}s")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/install_system_deps.sh installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def answers_ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    try:
        wait_until(answers_ping, "redis-server", process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def workers(redis_url: str, built_index: Path) -> Iterator[tuple[str, str]]:
    """Two uvicorn processes (the real app, same index, same Redis); yields their base URLs."""
    env = {
        "POLICYQA_INDEX": str(built_index),
        "REDIS_URL": redis_url,
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "POLICYQA_RATE_LIMIT": "0",
        "HF_HUB_OFFLINE": "1",
    }
    servers: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(2):  # both start before either is waited for
            servers.append(start_server(env, access_log=True))
        for process, url in servers:
            try:
                wait_until_healthy(url, process, START_TIMEOUT_S)
            except RuntimeError as error:
                pytest.fail(str(error))
        yield servers[0][1], servers[1][1]
    finally:
        for process, _ in servers:
            stop_server(process)


def ask(base_url: str, question: str, session_id: str) -> dict[str, Any]:
    response = httpx.post(
        base_url + "/api/v1/ask", json={"question": question, "session_id": session_id}, timeout=30
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_follow_up_on_the_other_worker_keeps_its_context(workers: tuple[str, str]) -> None:
    worker_a, worker_b = workers
    session = "scale-" + uuid.uuid4().hex
    first = ask(worker_a, "渝中区托育服务有什么政策", session)
    assert first["status"] == "found"
    assert first["hits"][0]["doc_id"].startswith("yuzhong")

    follow_up = ask(worker_b, "那长宁区呢？", session)
    assert follow_up["status"] == "found"
    assert follow_up["hits"][0]["doc_id"] == "changning-plan"


def test_follow_up_without_shared_session_has_no_context(workers: tuple[str, str]) -> None:
    # The control: the same follow-up in a fresh session is not resolved to 托育 in 长宁区.
    worker_a, worker_b = workers
    ask(worker_a, "渝中区托育服务有什么政策", "scale-" + uuid.uuid4().hex)
    alone = ask(worker_b, "那长宁区呢？", "scale-" + uuid.uuid4().hex)
    assert "托育" not in alone.get("resolved_question", "")


def wechat_post(base_url: str, msg_id: str, openid: str, content: str) -> httpx.Response:
    from api.wechat.crypto import compute_signature

    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    xml = (
        "<xml><ToUserName><![CDATA[gh_policyqa]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )
    params = {
        "signature": compute_signature(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return httpx.post(
        base_url + "/wechat",
        params=params,
        content=xml.encode("utf-8"),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )


def test_wechat_retry_on_the_other_worker_gets_the_same_reply(workers: tuple[str, str]) -> None:
    worker_a, worker_b = workers
    msg_id = str(uuid.uuid4().int % 10**18)
    openid = "o" + uuid.uuid4().hex[:27]
    first = wechat_post(worker_a, msg_id, openid, "渝中区托育服务有什么政策")
    assert first.status_code == 200, first.text
    assert "<Content>" in first.text and "托育" in first.text
    # The reply carries its CreateTime in seconds: a recomputation one second later would differ.
    time.sleep(1.1)
    retry = wechat_post(worker_b, msg_id, openid, "渝中区托育服务有什么政策")
    assert retry.status_code == 200, retry.text
    assert retry.text == first.text

    other = wechat_post(worker_b, msg_id + "1", openid, "渝中区托育服务有什么政策")
    assert other.status_code == 200
    assert other.text != first.text  # a new MsgId is computed afresh (new CreateTime)


def test_reply_in_progress_on_one_worker_is_awaited_by_the_other(redis_url: str) -> None:
    from api.redis_state import RedisReplyStore

    first_worker, second_worker = RedisReplyStore.from_url(redis_url), RedisReplyStore.from_url(redis_url)
    calls: list[str] = []

    def compute(worker: str) -> str:
        calls.append(worker)
        time.sleep(0.5)
        return f"<xml>reply computed by {worker}</xml>"

    key = "msg:" + uuid.uuid4().hex
    running = first_worker.submit(key, partial(compute, "first"))
    time.sleep(0.1)  # the first worker holds the claim and is still computing
    waiting = second_worker.submit(key, partial(compute, "second"))
    assert waiting.result(timeout=10) == running.result(timeout=10) == "<xml>reply computed by first</xml>"
    assert calls == ["first"]


def test_conversation_state_round_trips_through_redis_with_expiry(redis_url: str) -> None:
    from rag.redis_store import RedisStore, make_state_store

    store = make_state_store(redis_url)
    assert isinstance(store, RedisStore)
    store.set("conv:round-trip", "渝中区 托育", ttl_seconds=1)
    assert store.get("conv:round-trip") == "渝中区 托育"
    time.sleep(2.1)
    assert store.get("conv:round-trip") is None
    assert not isinstance(make_state_store(None), RedisStore)
