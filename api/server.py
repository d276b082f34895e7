"""How `policyqa serve` runs uvicorn: which proxies may set the client address, and how long a client
may take to send its request headers.

uvicorn bounds the idle time between requests (keep-alive, 5 s) but not the time a request's headers
take to arrive: a client that opens a connection and sends a byte now and then holds it for as long as
it likes (slowloris). The protocol classes here add that deadline: `header_timeout_s` after a
connection opens, or after the previous response, the headers must be complete, or the connection is
closed (with a 408 if part of a request had arrived). The body has its own deadline, enforced while the
app reads it (api/limits.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

from policyqa.config import Settings, get_settings

_TIMEOUT_BODY = json.dumps({"detail": "请求头发送超时，连接已关闭。"}, ensure_ascii=False).encode("utf-8")
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode("ascii") + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


class _HeaderDeadline:
    """Mixin for a uvicorn HTTP protocol: the request headers must arrive within `header_timeout_s`."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None
    _partial_request = False  # bytes of a request arrived while its headers were awaited

    @property
    def header_timeout_s(self) -> float:
        # Read in the serving process from the same settings as the app (the workers' environment).
        return get_settings().header_timeout_s

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._partial_request = False
        self._deadline = self.loop.call_later(self.header_timeout_s, self._on_header_deadline)

    def _disarm_header_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _note_data(self) -> None:
        if self._deadline is not None:
            self._partial_request = True

    def _on_header_deadline(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._partial_request:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


class HeaderDeadlineH11Protocol(_HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._note_data()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self._deadline is not None and self.conn.their_state in (h11.SEND_BODY, h11.DONE):
            self._disarm_header_deadline()  # the request line and headers are in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()


class HeaderDeadlineHttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on request headers."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._note_data()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a queued request already has its headers
        super().on_response_complete()
        if not self.transport.is_closing() and not pipelined:
            self._arm_header_deadline()


def http_protocol(implementation: str = "httptools") -> str:
    """Return the import path of the protocol class for uvicorn's `http=` ("httptools", as uvicorn's
    "auto" picks when httptools is installed, or "h11")."""
    name = "HeaderDeadlineH11Protocol" if implementation == "h11" else "HeaderDeadlineHttpToolsProtocol"
    return f"{__name__}:{name}"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments of `uvicorn.run` that `policyqa serve` takes from the settings.

    X-Forwarded-For/-Proto are read only from the listed proxies, and not at all by default (uvicorn
    alone would trust 127.0.0.1, so any local process, or a proxy that forwards what the client sent,
    could choose the client address the rate limit counts by).
    """
    proxies = settings.trusted_proxies  # validated by Settings: IP addresses and networks only
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
        "http": http_protocol(),
        "timeout_keep_alive": settings.keep_alive_s,
    }
