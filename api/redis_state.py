"""Redis versions of the API's shared state, for several workers: the WeChat retry store, the WeChat
nonce store and the rate limiter.

`RedisReplyStore` implements `api.wechat.dedup.ReplyStore`: the first worker to see a MsgId claims it
(SET NX with a short lease), computes the reply and stores it under the key with the retry window's TTL;
a worker that finds the claim polls until the reply appears (or the lease lapses, when it claims and
computes itself). `RedisNonceStore` implements `api.wechat.nonce.NonceStore` with SET NX.
`RedisRateLimitStore` implements `api.ratelimit.RateLimitStore` with fixed windows.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rag.redis_store import KEY_PREFIX, redis_client

if TYPE_CHECKING:
    import redis

REPLY_PREFIX = "reply:"
NONCE_PREFIX = "wechat-nonce:"
REPLY_TTL_SECONDS = 60  # WeChat's retries span ~15 s; as api/wechat/dedup.RETRY_WINDOW_SECONDS
CLAIM_LEASE_SECONDS = 15  # a claim whose worker died lapses after this, and another worker recomputes
POLL_INTERVAL_SECONDS = 0.05
PENDING = "\x00pending:"  # value of a claimed key whose reply is still being computed
DEFAULT_REPLY_WORKERS = 4


class RedisReplyStore:
    """`ReplyStore` (see api/wechat/dedup.py) shared by workers: one computation per key across them."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = KEY_PREFIX + REPLY_PREFIX,
        ttl_seconds: int = REPLY_TTL_SECONDS,
        lease_seconds: int = CLAIM_LEASE_SECONDS,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        executor: Executor | None = None,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self._executor = executor or ThreadPoolExecutor(
            DEFAULT_REPLY_WORKERS, thread_name_prefix="wechat-redis"
        )

    @classmethod
    def from_url(cls, redis_url: str, **options: Any) -> RedisReplyStore:
        """Return a reply store over a new client for `redis_url`."""
        return cls(redis_client(redis_url), **options)

    def submit(self, key: str, compute: Callable[[], str]) -> Future[str]:
        """Return the future reply for `key`: computed here if this worker claims it, else awaited."""
        return self._executor.submit(self._resolve, self._prefix + key, compute)

    def _resolve(self, redis_key: str, compute: Callable[[], str]) -> str:
        while True:
            token = PENDING + secrets.token_hex(8)
            if self._client.set(redis_key, token, nx=True, ex=self.lease_seconds):
                return self._compute_and_store(redis_key, token, compute)
            value = self._wait(redis_key)
            if value is not None:
                return value
            # The claim lapsed without a reply (its worker died): loop and claim it ourselves.

    def _compute_and_store(self, redis_key: str, token: str, compute: Callable[[], str]) -> str:
        try:
            reply = compute()
        except BaseException:
            self._release(redis_key, token)  # let a retry compute it instead of waiting out the lease
            raise
        self._client.set(redis_key, reply, ex=self.ttl_seconds)
        return reply

    def _release(self, redis_key: str, token: str) -> None:
        if self._client.get(redis_key) == token:
            self._client.delete(redis_key)

    def _wait(self, redis_key: str) -> str | None:
        """Poll until the key holds a finished reply (returned) or disappears (None)."""
        deadline = time.monotonic() + self.lease_seconds + 1
        while time.monotonic() < deadline:
            value: Any = self._client.get(redis_key)
            if value is None:
                return None
            if not str(value).startswith(PENDING):
                return str(value)
            time.sleep(self.poll_interval)
        return None


class RedisNonceStore:
    """`NonceStore` (see api/wechat/nonce.py) shared by workers: the first to see a (timestamp, nonce)
    binds it to its body digest."""

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX + NONCE_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    def claim(self, timestamp: str, nonce: str, digest: str, ttl_seconds: int) -> bool:
        """Return True when (timestamp, nonce) is new or was seen with the same body digest."""
        # Hashed: the nonce comes from the query string and may be long.
        pair = hashlib.sha256(f"{timestamp}\x00{nonce}".encode("utf-8", "surrogateescape")).hexdigest()
        redis_key = self._prefix + pair
        if self._client.set(redis_key, digest, nx=True, ex=ttl_seconds):
            return True
        seen: Any = self._client.get(redis_key)
        return seen is None or str(seen) == digest  # None: it expired in between; nobody holds it


class RedisRateLimitStore:
    """`RateLimitStore` (see api/ratelimit.py) in Redis: fixed windows counted by INCR, shared by workers."""

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX + "rate:") -> None:
        self._client = client
        self._prefix = prefix

    def hit(self, key: str, limit: int, window_s: int) -> tuple[bool, int]:
        """Count one hit for `key`; return (allowed, seconds until its window resets when refused)."""
        now = int(time.time())
        window = now // window_s
        redis_key = f"{self._prefix}{key}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_s + 1)
        count = int(pipe.execute()[0])
        if count <= limit:
            return True, 0
        return False, max((window + 1) * window_s - now, 1)
