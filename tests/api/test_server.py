"""`policyqa serve` against clients that misbehave, on a real server on loopback: slow clients (headers
and bodies), forged X-Forwarded-For, an oversized chunked WeChat body, and a damaged index folder."""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from policyqa.localserver import HOST, free_port
from tests.api.live import (
    closed_by_peer,
    raw_request,
    read_response,
    serve,
    serve_command,
    serve_env,
    status_of,
)

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
SLACK_S = 2.5  # two shared cores: the server may be a moment late to notice
SLOW_CLIENTS = 60  # of each kind: idle, slow headers, slow headers after a first request
PARTIAL_HEADERS = b"GET /health HTTP/1.1\r\nHost: probe\r\nUser-Agent: slow"
FULL_REQUEST = b"GET /health HTTP/1.1\r\nHost: probe\r\n\r\n"


def _folder_snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- item 9: a request must arrive in bounded time -----------------------------------------------


def _probe_slow_clients(port: int, give_up_s: float) -> dict[str, list[tuple[float, bytes]]]:
    """Open idle and dripping connections; return, per kind, (seconds until the server closed it, what it
    sent). A connection still open at `give_up_s` is reported with an infinite time."""
    selector = selectors.DefaultSelector()
    kinds: dict[socket.socket, str] = {}
    received: dict[socket.socket, bytes] = {}
    closed: dict[str, list[tuple[float, bytes]]] = {"idle": [], "slow-headers": [], "after-response": []}
    for kind in closed:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((HOST, port), timeout=5)
            if kind == "slow-headers":
                sock.sendall(PARTIAL_HEADERS)
            elif kind == "after-response":  # a keep-alive connection that then starts dripping
                sock.sendall(FULL_REQUEST)
                assert status_of(read_response(sock)) == 200
                sock.sendall(PARTIAL_HEADERS)
            sock.setblocking(False)
            kinds[sock], received[sock] = kind, b""
            selector.register(sock, selectors.EVENT_READ)
    started = last_drip = time.monotonic()
    while kinds and time.monotonic() - started < give_up_s:
        for key, _ in selector.select(timeout=0.1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            received[sock] += chunk
            if not chunk:
                closed[kinds.pop(sock)].append((time.monotonic() - started, received[sock]))
                selector.unregister(sock)
                sock.close()
        if time.monotonic() - last_drip >= 0.5:  # one more header byte now and then: "still sending"
            last_drip = time.monotonic()
            for sock, kind in kinds.items():
                if kind != "idle":
                    with contextlib.suppress(OSError):
                        sock.send(b"x")
    for sock, kind in kinds.items():  # never closed by the server
        closed[kind].append((float("inf"), received[sock]))
        sock.close()
    return closed


def test_slow_clients_are_cut_off_at_the_header_deadline(built_index: Path, tmp_path: Path) -> None:
    env = {"POLICYQA_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_S), "POLICYQA_KEEP_ALIVE_SECONDS": "30"}
    with serve(built_index, tmp_path / "server.log", env) as server:
        closed = _probe_slow_clients(server.port, give_up_s=HEADER_TIMEOUT_S + 3 * SLACK_S)
        # While they were held the server kept answering.
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    for kind, outcomes in closed.items():
        held = [seconds for seconds, _ in outcomes]
        assert len(held) == SLOW_CLIENTS
        assert max(held) <= HEADER_TIMEOUT_S + SLACK_S, (kind, sorted(held)[-5:])
        if kind != "idle":  # part of a request had arrived: it is told why
            assert all(status_of(reply) == 408 for _, reply in outcomes), kind
        else:
            assert all(reply == b"" for _, reply in outcomes)


def test_slow_body_gets_408_and_the_connection_is_closed(built_index: Path, tmp_path: Path) -> None:
    env = {"POLICYQA_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S), "POLICYQA_RATE_LIMIT": "0"}
    headers = (
        b"POST /api/v1/ask HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200\r\n\r\n"
    )
    with serve(built_index, tmp_path / "server.log", env) as server:
        sock = socket.create_connection((HOST, server.port), timeout=1)
        sock.sendall(headers + b'{"question": "')
        started, reply = time.monotonic(), b""
        while time.monotonic() - started < BODY_TIMEOUT_S + 3 * SLACK_S:
            try:
                reply += sock.recv(65536)
                break
            except TimeoutError:
                sock.sendall("托".encode())  # a character a second: never finishing
        held = time.monotonic() - started
        # The body may come in a packet of its own: read on until the server closes the connection.
        sock.settimeout(5)
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) == 0:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        assert status_of(reply) == 408, reply
        assert b"connection: close" in reply.lower() and "超时" in reply.decode("utf-8", "replace")
        assert held <= BODY_TIMEOUT_S + SLACK_S
        assert closed_by_peer(sock, 5)
        assert "Traceback" not in server.log_text()


# --- item 8: X-Forwarded-For only from a trusted proxy -------------------------------------------


def _statuses(base_url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return [
            client.get("/api/v1/documents", headers={"X-Forwarded-For": address}).status_code
            for address in forwarded
        ]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(built_index: Path, tmp_path: Path) -> None:
    rotating = [f"203.0.113.{n}" for n in range(1, 7)]
    with serve(built_index, tmp_path / "default.log", {"POLICYQA_RATE_LIMIT": "3"}) as server:
        # A local client rotating the header is still one client: the limit holds.
        assert _statuses(server.url, rotating) == [200, 200, 200, 429, 429, 429]
    trusted = {"POLICYQA_RATE_LIMIT": "3", "POLICYQA_TRUSTED_PROXIES": "127.0.0.1"}
    with serve(built_index, tmp_path / "trusted.log", trusted) as server:
        # Behind a trusted proxy each client address counts on its own...
        assert _statuses(server.url, rotating) == [200] * 6
        # ...and one client is still limited.
        assert _statuses(server.url, ["198.51.100.7"] * 4) == [200, 200, 200, 429]


# --- item 10: an oversized chunked body to /wechat ------------------------------------------------


def test_chunked_oversized_wechat_body_is_413_closed_cleanly_without_a_traceback(
    built_index: Path, tmp_path: Path
) -> None:
    chunk = b"<" + b"a" * 1023
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(80)) + b"0\r\n\r\n"  # 80 KiB
    request = (
        b"POST /wechat?timestamp=1&nonce=1&signature=x HTTP/1.1\r\nHost: probe\r\n"
        b"Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    )
    with serve(built_index, tmp_path / "server.log", {"WECHAT_TOKEN": "probe-token"}) as server:
        reply, sock = raw_request(server.port, request)
        assert status_of(reply) == 413 and b"connection: close" in reply.lower()
        assert "过大" in reply.decode("utf-8", "replace")
        # The rest of that body is still on the wire, so the server ends the connection -- cleanly:
        # the client reads an end of stream, not a reset on its next request.
        assert closed_by_peer(sock, 5)
        sock.close()
        follow_up, sock = raw_request(server.port, FULL_REQUEST)  # a new connection works
        assert status_of(follow_up) == 200
        sock.close()
        time.sleep(0.5)
        log = server.log_text()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]


# --- item 6: an index folder that lost its manifest is not built over -----------------------------


def test_serve_refuses_to_build_over_an_index_without_its_manifest(built_index: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "index"
    shutil.copytree(built_index, damaged)
    (damaged / "manifest.json").unlink()
    before = _folder_snapshot(damaged)
    try:
        done = subprocess.run(
            serve_command(damaged, free_port()),
            env=serve_env({}),
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("serve did not refuse the damaged index: it is serving (or building) instead")
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert "refusing" in last_line and "manifest.json" in last_line and str(damaged) in last_line
    assert _folder_snapshot(damaged) == before


# --- what the workers are given: the command line's choices travel in uvicorn's configuration -------------


def test_each_worker_makes_its_app_with_the_index_the_command_line_chose(
    built_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import pickle

    from api.server import AppFactory

    monkeypatch.setenv("POLICYQA_INDEX", str(built_index.parent / "not-this-one"))
    environment = dict(os.environ)
    factory = AppFactory(overrides=(("POLICYQA_INDEX", str(built_index)),))
    app = pickle.loads(pickle.dumps(factory))()  # as a spawned worker receives it
    assert app.state.settings.index == built_index
    assert app.state.engine_holder.index_dir == built_index
    assert dict(os.environ) == environment  # nothing of it went through the environment


def test_the_header_deadline_is_given_to_the_protocol_not_read_from_the_process() -> None:
    import pickle

    from api.server import HeaderDeadlineProtocol, uvicorn_options
    from config import Settings

    protocol = uvicorn_options(Settings(POLICYQA_HEADER_TIMEOUT_SECONDS=3))["http"]
    assert pickle.loads(pickle.dumps(protocol)).keywords == {"header_timeout_s": 3.0}
    assert protocol.func is HeaderDeadlineProtocol
