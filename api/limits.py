"""Request limits as pure ASGI middleware: body size (declared or streamed) and JSON content type.

Bodies are refused before they are read when Content-Length says they are too big, and while they are
read when they come chunked without one; the JSON API only takes `application/json`.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BAD_REQUEST, TOO_LARGE, UNSUPPORTED_TYPE = 400, 413, 415


class RequestLimitsMiddleware:
    """Refuse oversized bodies (413), bad Content-Length (400) and non-JSON posts to /api/ (415)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, upload_path: str, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_path = upload_path  # document uploads (admin only) may be files, not JSON
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        upload = scope["method"] == "POST" and scope["path"] == self.upload_path
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await _refuse(scope, receive, send, BAD_REQUEST, "Content-Length 无效。")
            return
        if length is not None and int(length) > limit:
            await _refuse(scope, receive, send, TOO_LARGE, f"请求体过大（上限 {limit} 字节）。")
            return
        has_body = (length is not None and length != "0") or "transfer-encoding" in headers
        if scope["method"] == "POST" and scope["path"].startswith("/api/") and has_body and not upload:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                await _refuse(
                    scope, receive, send, UNSUPPORTED_TYPE, "请求的 Content-Type 必须是 application/json。"
                )
                return

        received = 0
        refused = False

        async def counted_receive() -> Message:
            # Past the limit: answer 413 now and tell the app the client went away, so it stops reading.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(scope, receive, send, TOO_LARGE, f"请求体过大（上限 {limit} 字节）。")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # after a 413 the app's own answer (if any) has nowhere to go
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status)(scope, receive, send)
