"""How `policyqa serve` runs uvicorn: the app made in each worker, which proxies may set the client
address, and how long a client may take to send its request headers.

Each worker process makes its own app (`AppFactory`): it reads the settings there, from the environment
and `.env` (a worker that `systemctl reload` starts sees an edited `.env`), and lays the command line's
choices (`--index`) over them. They travel to the workers inside uvicorn's configuration, not through
the environment.

uvicorn bounds the idle time between requests (keep-alive, 5 s) but not the time a request's headers
take to arrive: a client that opens a connection and sends a byte now and then holds it for as long as
it likes (slowloris). `HeaderDeadlineProtocol` -- uvicorn's httptools protocol, which uvicorn itself
picks when httptools is installed, as uvicorn[standard] does -- adds that deadline: `header_timeout_s`
after a connection opens, or after the previous response, the headers must be complete, or the
connection is closed (with a 408 if part of a request had arrived). The body has its own deadline,
enforced while the app reads it (api/limits.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from config import Settings, load_settings

_TIMEOUT_BODY = json.dumps({"detail": "请求头发送超时，连接已关闭。"}, ensure_ascii=False).encode("utf-8")
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode("ascii") + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on the arrival of each request's headers."""

    _deadline: asyncio.TimerHandle | None = None
    _partial_request = False  # bytes of a request arrived while its headers were awaited

    def __init__(self, *args: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s  # seconds a request's headers may take

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:
            self._partial_request = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a queued request already has its headers
        super().on_response_complete()
        if not self.transport.is_closing() and not pipelined:
            self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._partial_request = False
        self._deadline = self.loop.call_later(self.header_timeout_s, self._on_header_deadline)

    def _disarm_header_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_header_deadline(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._partial_request:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


@dataclass(frozen=True)
class AppFactory:
    """Makes the app in a worker process: the settings read there, with `overrides` (by variable name, as
    `POLICYQA_INDEX`) laid over them."""

    overrides: tuple[tuple[str, str], ...] = ()

    def __call__(self) -> FastAPI:
        from api.main import create_app

        return create_app(load_settings(**dict(self.overrides)))


def serve(app: AppFactory, settings: Settings, *, host: str, port: int, workers: int, **options: Any) -> bool:
    """Serve `app` with uvicorn in `workers` processes until stopped, with the options `settings` choose
    (`uvicorn_options`) and `options` (other `uvicorn.Config` arguments); return False when the server
    could not start."""
    config = uvicorn.Config(
        app, factory=True, host=host, port=port, workers=workers, **uvicorn_options(settings), **options
    )
    if config.workers > 1:  # what uvicorn.run does, which takes the app only as an import string here
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return True
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return server.started


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments of `uvicorn.run` that `policyqa serve` takes from the settings.

    X-Forwarded-For/-Proto are read only from the listed proxies, and not at all by default (uvicorn
    alone trusts 127.0.0.1, so any local process, or a proxy that passes on what the client sent,
    could choose the client address the rate limit counts by).
    """
    proxies = settings.trusted_proxies  # validated by Settings: IP addresses and networks only
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
        "http": partial(HeaderDeadlineProtocol, header_timeout_s=settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_s,
    }
