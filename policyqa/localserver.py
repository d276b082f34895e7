"""Serve the real app with uvicorn in a subprocess on a free loopback port, for tests, the soak and the bench.

    with running_server({"POLICYQA_INDEX": "var/index"}) as base_url:
        ...  # base_url answers /health with 200

Standard library only (urllib for the health check), so scripts and tests share it without extra imports.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TypedDict, Unpack

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP_FACTORY = "api.main:create_app"
START_TIMEOUT_S = 120.0
REDIS_START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HEALTH_REQUEST_TIMEOUT_S = 2.0
HEALTH_POLL_S = 0.2
OUTPUT_TAIL_CHARS = 4000
# Loopback never goes through a proxy, whatever HTTP_PROXY says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_command(
    port: int, *, workers: int = 1, access_log: bool = False, app: str = APP_FACTORY, factory: bool = True
) -> list[str]:
    """Return the `python -m uvicorn ...` command line serving `app` on 127.0.0.1:`port`."""
    command = [sys.executable, "-m", "uvicorn", app]
    if factory:
        command.append("--factory")
    command += ["--host", HOST, "--port", str(port)]
    if workers != 1:
        command += ["--workers", str(workers)]
    command += ["--log-level", "warning"]
    if not access_log:
        command.append("--no-access-log")
    return command


def start_server(
    env: Mapping[str, str],
    *,
    port: int | None = None,
    workers: int = 1,
    access_log: bool = False,
    log_path: Path | None = None,
    app: str = APP_FACTORY,
    factory: bool = True,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start uvicorn serving the app (not waiting for it); return the process and its base URL.

    Runs in the repository root with PYTHONPATH set to it; `env` is laid over os.environ. The server's
    stdout and stderr go to `log_path` if given, else to a pipe read by `wait_until_healthy` if it dies.
    """
    port = free_port() if port is None else port
    command = server_command(port, workers=workers, access_log=access_log, app=app, factory=factory)
    output: IO[bytes] | int = log_path.open("wb") if log_path else subprocess.PIPE
    try:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if not isinstance(output, int):
            output.close()  # the child holds its own copy of the file
    return process, f"http://{HOST}:{port}"


def _answers_health(base_url: str) -> bool:
    with (
        contextlib.suppress(OSError, http.client.HTTPException),  # URLError is an OSError
        _DIRECT.open(f"{base_url}/health", timeout=HEALTH_REQUEST_TIMEOUT_S) as response,
    ):
        return bool(response.status == 200)
    return False


def _output_tail(process: subprocess.Popen[bytes], log_path: Path | None) -> str:
    """The end of what the (exited) server wrote, from `log_path` or its pipe."""
    if log_path is not None:
        with contextlib.suppress(OSError):
            return log_path.read_text(encoding="utf-8", errors="replace")[-OUTPUT_TAIL_CHARS:]
        return ""
    if process.stdout is None:
        return ""
    return process.stdout.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]


def wait_until_healthy(
    base_url: str,
    process: subprocess.Popen[bytes],
    timeout_s: float = START_TIMEOUT_S,
    *,
    log_path: Path | None = None,
) -> None:
    """Return once GET `base_url`/health answers 200.

    Raises RuntimeError with the tail of the server's output (from `log_path` when it logs to a file) if
    the process exits first, or after `timeout_s` seconds. Does not stop the process.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = _output_tail(process, log_path)
            raise RuntimeError(f"server exited with code {process.returncode}:\n{tail}")
        if _answers_health(base_url):
            return
        time.sleep(HEALTH_POLL_S)
    raise RuntimeError(f"server at {base_url} not healthy after {timeout_s:.0f}s")


def stop_server(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate `process` (SIGTERM), kill it if it has not exited within `timeout_s`, close its pipe."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
    if process.stdout is not None:
        process.stdout.close()


class ServerOptions(TypedDict, total=False):
    """The keyword arguments of `start_server`, for functions that pass them on."""

    port: int | None
    workers: int
    access_log: bool
    log_path: Path | None
    app: str
    factory: bool


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str], *, timeout_s: float = START_TIMEOUT_S, **options: Unpack[ServerOptions]
) -> Iterator[str]:
    """Start the server (`start_server(env, **options)`), wait up to `timeout_s` for /health, yield its
    base URL; stop it on exit."""
    process, base_url = start_server(env, **options)
    try:
        wait_until_healthy(base_url, process, timeout_s, log_path=options.get("log_path"))
        yield base_url
    finally:
        stop_server(process)


@contextlib.contextmanager
def redis_server(workdir: Path, timeout_s: float = REDIS_START_TIMEOUT_S) -> Iterator[str]:
    """Run a throw-away redis-server (no persistence, files in `workdir`) on a free loopback port; yield its
    URL once it answers PING. Raises LookupError when redis-server is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise LookupError("redis-server is not installed (scripts/install_system_deps.sh installs it)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://{HOST}:{port}/0"
    finally:
        stop_server(process)
