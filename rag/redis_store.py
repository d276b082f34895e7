"""Conversation state shared by several workers through Redis.

`make_state_store(REDIS_URL)` picks the conversation store: `RedisStore` when a URL is set, the
in-process `MemoryStore` otherwise. (The WeChat retry store and the rate limiter's Redis versions are
API concerns: `api/redis_state.py`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.conversation import MemoryStore, StateStore

if TYPE_CHECKING:
    import redis

KEY_PREFIX = "policyqa:"
CONNECT_TIMEOUT_SECONDS = 2.0


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
