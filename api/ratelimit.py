"""Per-client rate limiting of the public JSON API (`/api/v1/*`): fixed one-minute windows, 429 + Retry-After.

What is limited: every path under `/api/v1/` (ask, search, clause and document lookups, admin calls --
which also slows down guessing the admin key). Not limited: the pages, `/static`, `/health`, and
`/wechat`: every WeChat request comes from Tencent's servers, which a handful of IPs share for all
followers, so a per-IP limit there would refuse everyone at once (the WeChat channel is protected by
its signature check instead).

The client key is `request.client.host`. Behind a reverse proxy that is the proxy's address for every
client: run uvicorn with `--forwarded-allow-ips=<proxy address>` (it then takes the client from
X-Forwarded-For for that proxy only); this module never reads X-Forwarded-For itself, so a client
cannot pick its own key.

The counters live behind `RateLimitStore` (`hit(key, limit, window_s) -> (allowed, retry_after)`):
in this process by default; a shared store (e.g. Redis, for several workers) is installed by setting
`app.state.rate_limit_store`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LIMITED_PREFIX = "/api/v1/"
WINDOW_SECONDS = 60
PURGE_EVERY = 1024  # hits between sweeps of expired windows (keeps memory bounded by active clients)
TOO_MANY_REQUESTS = 429


class RateLimitStore(Protocol):
    """Counts hits per key in fixed windows."""

    def hit(self, key: str, limit: int, window_s: int) -> tuple[bool, int]:
        """Count one hit; return (allowed, seconds until the window resets -- 0 when allowed)."""
        ...


class InMemoryRateLimitStore:
    """Fixed-window counters in a dict, for one process. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, hits in it)
        self._lock = threading.Lock()
        self._since_purge = 0

    def hit(self, key: str, limit: int, window_s: int) -> tuple[bool, int]:
        """Count one hit for `key`; refuse it once `limit` hits fell in the current window."""
        now = self._clock()
        with self._lock:
            self._since_purge += 1
            if self._since_purge >= PURGE_EVERY:
                self._purge(now, window_s)
            start, count = self._windows.get(key, (now, 0))
            if now - start >= window_s:
                start, count = now, 0
            if count >= limit:
                return False, max(1, math.ceil(start + window_s - now))
            self._windows[key] = (start, count + 1)
            return True, 0

    def __len__(self) -> int:
        return len(self._windows)

    def _purge(self, now: float, window_s: int) -> None:
        self._since_purge = 0
        expired = [key for key, (start, _) in self._windows.items() if now - start >= window_s]
        for key in expired:
            del self._windows[key]


class RateLimitMiddleware:
    """ASGI middleware: refuse a client's `/api/v1/*` requests beyond `limit` per minute with 429.

    The store is read from `app.state.rate_limit_store` on each request when set there (so a
    shared store can be installed after the app is built), else the one given here.
    """

    def __init__(self, app: ASGIApp, limit_per_minute: int, store: RateLimitStore | None = None) -> None:
        self.app = app
        self.limit = limit_per_minute
        self.store: RateLimitStore = store or InMemoryRateLimitStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit <= 0 or scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = f"ip:{client[0] if client else 'unknown'}"
        state = getattr(scope.get("app"), "state", None)
        store: RateLimitStore = getattr(state, "rate_limit_store", None) or self.store
        allowed, retry_after = store.hit(key, self.limit, WINDOW_SECONDS)
        if allowed:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"请求过于频繁（每分钟最多 {self.limit} 次），请 {retry_after} 秒后再试。"},
            TOO_MANY_REQUESTS,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
