"""Real servers on loopback for the probes: `policyqa serve` as an operator runs it, and a redis-server.

`serve(...)` starts `python -m policyqa.cli serve` (so the server options that command passes to uvicorn
-- trusted proxies, header deadline -- are the ones under test), waits for /health, and stops it.
Its log goes to a file the test can read (tracebacks, refusals).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from policyqa.localserver import HOST, free_port, stop_server, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class LiveServer:
    """A running `policyqa serve`: its base URL, port and log file."""

    url: str
    port: int
    log: Path

    def log_text(self) -> str:
        """Return what the server has logged so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def serve_command(index: Path, port: int, workers: int = 1) -> list[str]:
    """Return the `policyqa serve` command line for `index` on 127.0.0.1:`port`."""
    command = [sys.executable, "-m", "policyqa.cli", "serve", "--host", HOST, "--port", str(port)]
    command += ["--index", str(index)]
    return command + (["--workers", str(workers)] if workers != 1 else [])


def serve_env(env: Mapping[str, str]) -> dict[str, str]:
    """Return the environment of a served process: ours, the repository on the path, `env` on top."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env}


@contextlib.contextmanager
def serve(
    index: Path, log: Path, env: Mapping[str, str] | None = None, workers: int = 1
) -> Iterator[LiveServer]:
    """Run `policyqa serve` over `index` with `env`; yield it once /health answers; stop it on exit."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            serve_command(index, port, workers),
            cwd=ROOT,
            env=serve_env(env or {}),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}"
    try:
        wait_until_healthy(base_url, process, START_TIMEOUT_S, log_path=log)
        yield LiveServer(base_url, port, log)
    finally:
        stop_server(process)


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> tuple[bytes, socket.socket]:
    """Send `data` on a new connection; return (the first response's bytes, the open socket)."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.sendall(data)
    return read_response(sock), sock


def read_response(sock: socket.socket) -> bytes:
    """Read one HTTP/1.1 response with a Content-Length body from `sock` (b"" if it was closed)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(response: bytes) -> int:
    """Return the status code of a raw HTTP response (0 when there is none)."""
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def closed_by_peer(sock: socket.socket, wait_s: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `wait_s` seconds."""
    sock.settimeout(wait_s)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
