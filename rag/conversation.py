"""Conversation context for follow-ups ("那长宁区呢？", "第二条呢？"), per chat session or WeChat follower.

State lives in a `StateStore`: in process by default, Redis when REDIS_URL is set (so that a follow-up
reaching another worker keeps its context).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Protocol

SESSION_TTL_SECONDS = 30 * 60
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Turn:
    """What a follow-up needs from the previous question."""

    question: str  # the resolved question
    regions: tuple[str, ...]
    doc_id: str | None  # document of the top answer
    clause_id: str | None  # the top clause


class StateStore(Protocol):
    """A small key-value store with expiry (in-process or Redis)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...


class MemoryStore:
    """Thread-safe in-process store with TTL and an LRU bound."""

    def __init__(self, max_items: int = MAX_SESSIONS) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_items

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, value = item
            if expires < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl_seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)


class ConversationStore:
    """Stores the last turn of each session."""

    def __init__(self, store: StateStore | None = None, ttl_seconds: int = SESSION_TTL_SECONDS) -> None:
        self._store = store or MemoryStore()
        self._ttl = ttl_seconds

    def last_turn(self, session_id: str) -> Turn | None:
        """Return the previous turn of the session, if any and not expired."""
        raw = self._store.get(f"conv:{session_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return Turn(data["question"], tuple(data["regions"]), data.get("doc_id"), data.get("clause_id"))

    def remember(self, session_id: str, turn: Turn) -> None:
        """Record `turn` as the session's latest."""
        self._store.set(f"conv:{session_id}", json.dumps(asdict(turn), ensure_ascii=False), self._ttl)
