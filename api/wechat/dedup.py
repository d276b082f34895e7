"""Retry de-duplication: one computation per message, shared by WeChat's retries; OpenID hashing.

WeChat re-sends a message it got no reply to (after 5 s, three times in all). A retry is the same
follower's message with the same MsgId (events: the same follower and CreateTime). Each retry must get the
reply the first delivery computed -- including a retry that arrives while that computation still runs --
so the engine runs once per message and follow-up context advances once.

`ReplyStore` is the seam: `InMemoryReplyStore` serves one process; a Redis store (SET NX on the key as
the claim, the finished reply stored under it with a TTL, waiters polling) can implement the same
`submit` for several workers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

RETRY_WINDOW_SECONDS = 60.0  # WeChat's retries span ~15 s; keep finished replies comfortably longer
MAX_ENTRIES = 10_000
DEFAULT_WORKERS = 4


def hash_openid(openid: str, salt: str) -> str:
    """Return a salted sha256 of a follower's OpenID (hex, 32 chars): what we log and key sessions by."""
    digest = hashlib.sha256(salt.encode("utf-8") + b"\x00" + openid.encode("utf-8")).hexdigest()
    return digest[:32]


def dedup_key(parts: tuple[str, str, str], salt: str) -> str:
    """Return the store key for a message's ("msg", OpenID, MsgId) or ("event", OpenID, CreateTime),
    with the OpenID hashed: one follower's retries share it, another follower's message never does."""
    kind, openid, identifier = parts
    return f"{kind}:{hash_openid(openid, salt)}:{identifier}"


class ReplyStore(Protocol):
    """Where replies in progress and finished replies live for the retry window."""

    def submit(self, key: str, compute: Callable[[], str]) -> Future[str]:
        """Return the future reply for `key`, starting `compute` only if no live entry has the key."""
        ...


@dataclass
class _Entry:
    future: Future[str]
    created: float


class InMemoryReplyStore:
    """A dict of futures, each kept `ttl_seconds` after it was created (never dropped while running)."""

    def __init__(
        self,
        ttl_seconds: float = RETRY_WINDOW_SECONDS,
        max_entries: int = MAX_ENTRIES,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._executor = executor or ThreadPoolExecutor(DEFAULT_WORKERS, thread_name_prefix="wechat-reply")
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, compute: Callable[[], str]) -> Future[str]:
        """Return the future reply for `key`; `compute` runs on the executor only for the first caller."""
        with self._lock:
            now = self._clock()
            self._evict(now)
            entry = self._entries.get(key)
            if entry is not None:
                return entry.future
            future = self._executor.submit(compute)
            self._entries[key] = _Entry(future, now)
            return future

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: float) -> None:
        expired = [
            k for k, e in self._entries.items() if e.future.done() and now - e.created > self.ttl_seconds
        ]
        for key in expired:
            del self._entries[key]
        if len(self._entries) >= self.max_entries:
            finished = sorted((e.created, k) for k, e in self._entries.items() if e.future.done())
            for _, key in finished[: len(self._entries) - self.max_entries + 1]:
                del self._entries[key]
