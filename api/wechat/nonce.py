"""Replay protection: each signed (timestamp, nonce) carries one message, once per timestamp window.

In plaintext mode WeChat's `signature` covers only (token, timestamp, nonce), not the body, so a
captured request could be replayed with another body -- another follower's OpenID, another question --
for as long as its timestamp is inside the window. The store remembers every (timestamp, nonce) seen
in the window with a digest of its body: the same pair with another body is refused. The same pair
with the *same* body is let through, because that is what a retry of the same message looks like; the
retry store (api/wechat/dedup.py) then answers it from the first computation.

`InMemoryNonceStore` serves one process; `api.redis_state.RedisNonceStore` serves several workers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

MAX_NONCES = 100_000  # a government account's traffic over one window is far below this


def body_digest(body: bytes) -> str:
    """Return the hex sha256 of a request body (what a (timestamp, nonce) is bound to)."""
    return hashlib.sha256(body).hexdigest()


class NonceStore(Protocol):
    """Remembers which body each (timestamp, nonce) carried, until the timestamp leaves the window."""

    def claim(self, timestamp: str, nonce: str, digest: str, ttl_seconds: int) -> bool:
        """Return True when (timestamp, nonce) is new or was seen with the same body digest."""
        ...


class InMemoryNonceStore:
    """A bounded, insertion-ordered dict of (timestamp, nonce) -> (digest, expiry). Thread-safe."""

    def __init__(self, max_entries: int = MAX_NONCES, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, timestamp: str, nonce: str, digest: str, ttl_seconds: int) -> bool:
        """Record (timestamp, nonce) with `digest` for `ttl_seconds`; False if it carried another body."""
        now = self._clock()
        key = (timestamp, nonce)
        with self._lock:
            self._evict(now)
            seen = self._seen.get(key)
            if seen is not None:
                return seen[0] == digest
            self._seen[key] = (digest, now + ttl_seconds)
            return True

    def __len__(self) -> int:
        return len(self._seen)

    def _evict(self, now: float) -> None:
        # Entries are appended with the same ttl, so the oldest expire first.
        while self._seen:
            key, (_, expiry) = next(iter(self._seen.items()))
            if expiry > now and len(self._seen) < self.max_entries:
                break
            del self._seen[key]
