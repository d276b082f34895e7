"""State shared by several workers through Redis: conversation turns and WeChat retry replies.

`make_state_store(REDIS_URL)` picks the conversation store: `RedisStore` when a URL is set, the
in-process `MemoryStore` otherwise. `RedisReplyStore` implements `api.wechat.dedup.ReplyStore` for
several workers: the first worker to see a MsgId claims it (SET NX with a short lease), computes the
reply and stores it under the key with the retry window's TTL; a worker that finds the claim polls
until the reply appears (or the lease lapses, when it claims and computes itself).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rag.conversation import MemoryStore, StateStore

if TYPE_CHECKING:
    import redis

KEY_PREFIX = "policyqa:"
REPLY_PREFIX = "reply:"
REPLY_TTL_SECONDS = 60  # WeChat's retries span ~15 s; as api/wechat/dedup.RETRY_WINDOW_SECONDS
CLAIM_LEASE_SECONDS = 15  # a claim whose worker died lapses after this, and another worker recomputes
POLL_INTERVAL_SECONDS = 0.05
PENDING = "\x00pending:"  # value of a claimed key whose reply is still being computed
CONNECT_TIMEOUT_SECONDS = 2.0
DEFAULT_REPLY_WORKERS = 4


def redis_client(redis_url: str) -> redis.Redis:
    """Return a redis-py client for `redis_url` (str responses, short timeouts); checks it answers PING."""
    import redis

    client = redis.Redis.from_url(
        redis_url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    client.ping()  # fail at start-up, not on the first follow-up
    return client


class RedisStore:
    """A `StateStore` in Redis: string values under `prefix + key`, expiring after their TTL."""

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, redis_url: str, prefix: str = KEY_PREFIX) -> RedisStore:
        """Return a store over a new client for `redis_url`."""
        return cls(redis_client(redis_url), prefix)

    def get(self, key: str) -> str | None:
        """Return the value stored under `key`, or None when absent or expired."""
        value: Any = self._client.get(self._prefix + key)
        return None if value is None else str(value)

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        """Store `value` under `key` for `ttl_seconds` (at least one second)."""
        self._client.set(self._prefix + key, value, ex=max(int(ttl_seconds), 1))


def make_state_store(redis_url: str | None) -> StateStore:
    """Return the store for conversation state: Redis when `redis_url` is set, else in process."""
    if redis_url and redis_url.strip():
        return RedisStore.from_url(redis_url.strip())
    return MemoryStore()


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
