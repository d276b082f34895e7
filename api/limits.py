"""Request limits as pure ASGI middleware: body size (declared or streamed), body arrival time, and the
JSON content type.

Bodies are refused before they are read when Content-Length says they are too big, and while they are
read when they come chunked without one or too slowly; the JSON API only takes `application/json`.
A body refused part-way (413, 408) is answered with `Connection: close`: the rest of it is still on
the wire, so the connection cannot carry another request, and the client is told so instead of having
its next request reset. The time a request's *headers* may take is bounded in the server's protocol
(api/server.py), which runs before any middleware.
"""

from __future__ import annotations

import asyncio
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BAD_REQUEST, REQUEST_TIMEOUT, TOO_LARGE, UNSUPPORTED_TYPE = 400, 408, 413, 415
DISCONNECT: Message = {"type": "http.disconnect"}


class RequestLimitsMiddleware:
    """Refuse oversized bodies (413), slow bodies (408), bad Content-Length (400) and non-JSON posts to
    /api/ (415)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        upload_path: str,
        max_upload_bytes: int,
        body_timeout_s: float = 30.0,
        upload_timeout_s: float = 120.0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_path = upload_path  # document uploads (admin only) may be files, not JSON
        self.max_upload_bytes = max_upload_bytes
        self.body_timeout_s = body_timeout_s
        self.upload_timeout_s = upload_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        upload = scope["method"] == "POST" and scope["path"] == self.upload_path
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await _refuse(send, BAD_REQUEST, "Content-Length 无效。", close=True)
            return
        if length is not None and int(length) > limit:
            await _refuse(send, TOO_LARGE, f"请求体过大（上限 {limit} 字节）。", close=True)
            return
        has_body = (length is not None and length != "0") or "transfer-encoding" in headers
        if scope["method"] == "POST" and scope["path"].startswith("/api/") and has_body and not upload:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                await _refuse(send, UNSUPPORTED_TYPE, "请求的 Content-Type 必须是 application/json。")
                return

        deadline = time.monotonic() + (self.upload_timeout_s if upload else self.body_timeout_s)
        received = 0
        refused = False
        body_done = not has_body

        async def limited_receive() -> Message:
            # Past a limit: answer now and tell the app the client went away, so it stops reading.
            nonlocal received, refused, body_done
            if refused:
                return DISCONNECT
            if body_done:  # nothing more will come but a disconnect: no deadline applies
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                refused = True
                await _refuse(send, REQUEST_TIMEOUT, "请求体发送超时，请重试。", close=True)
                return DISCONNECT
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    refused = True
                    await _refuse(send, TOO_LARGE, f"请求体过大（上限 {limit} 字节）。", close=True)
                    return DISCONNECT
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # after a 413/408 the app's own answer (if any) has nowhere to go
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _refuse(send: Send, status: int, detail: str, close: bool = False) -> None:
    headers = {"Connection": "close"} if close else None
    response = JSONResponse({"detail": detail}, status, headers=headers)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
