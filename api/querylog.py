"""The query log for staff: one SQLite row per answered question (`POLICYQA_QUERY_LOG` names the file).

Row: ts (UTC ISO), channel (web / wechat / api), question, status (found / partial / not_found / error),
top clause id, latency in ms, the session or follower id HASHED (sha256 with a random salt kept in the
log's `meta` table): raw OpenIDs and session ids never reach the file, and nothing secret is logged; and
`query_id`, a random public id the ask response carries so that a 👍/👎 (table `feedback`, one per
question, the latest wins) can refer to its row without exposing row numbers.

Durability: the row is committed before the answer is sent (the insert runs in the worker thread that
computed the answer, ~0.1 ms), so an answer a client received is in the log even if the server is
killed with SIGKILL right after. WAL with synchronous=NORMAL is enough for that: a committed
transaction is in the WAL file as soon as `commit()` returns, and a killed process does not take the
operating system's page cache with it. (Only a power loss or kernel crash can lose the last commits;
synchronous=FULL would cover that at the price of an fsync per question.)
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection

from rag.models import Answer

CHANNEL_WEB = "web"
CHANNEL_WECHAT = "wechat"
CHANNEL_API = "api"
CHANNELS = (CHANNEL_WEB, CHANNEL_WECHAT, CHANNEL_API)
STATUS_ERROR = "error"
STATUS_NOT_FOUND = "not_found"
STATUS_PARTIAL = "partial"
RATING_UP = "up"
RATING_DOWN = "down"
RATINGS = (RATING_UP, RATING_DOWN)
# Why an answer did not help (👎), as the chat page offers them: 没回答我的问题 / 条款不对 / 其他.
REASON_NOT_ANSWERED = "not_answered"
REASON_WRONG_CLAUSE = "wrong_clause"
REASON_OTHER = "other"
REASONS = (REASON_NOT_ANSWERED, REASON_WRONG_CLAUSE, REASON_OTHER)
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 5000  # several uvicorn workers may write the same file
HASH_CHARS = 32
_TRAILING_PUNCTUATION = " \t?？!！。.,，~～"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queries (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL,
    top_clause_id TEXT,
    latency_ms REAL NOT NULL,
    session_hash TEXT
);
CREATE INDEX IF NOT EXISTS queries_status ON queries (status);
CREATE TABLE IF NOT EXISTS feedback (
    query_row INTEGER PRIMARY KEY REFERENCES queries (id),
    ts TEXT NOT NULL,
    rating TEXT NOT NULL,
    reason TEXT
);
"""
# Version 1 logs have no query_id: added in place (old rows keep NULL and cannot get feedback).
_MIGRATE_QUERY_ID = (
    "ALTER TABLE queries ADD COLUMN query_id TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS queries_query_id ON queries (query_id)",
)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


class QueryLog:
    """Appends query rows to a SQLite file in WAL mode. Thread-safe; `record` commits before returning."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = _connect(self.path)
        with self._lock:
            self._connection.executescript(_SCHEMA)
            columns = {row[1] for row in self._connection.execute("PRAGMA table_info(queries)")}
            if "query_id" not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another worker added it first
                    self._connection.execute(_MIGRATE_QUERY_ID[0])
            self._connection.execute(_MIGRATE_QUERY_ID[1])
            self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # INSERT OR IGNORE + read back: two workers opening a new log agree on one salt.
            self._connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(16),)
            )
            row = self._connection.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        self._salt: str = row[0]

    def hash_id(self, raw_id: str) -> str:
        """Return the salted sha256 (hex, 32 chars) under which a session or follower id is logged."""
        digest = hashlib.sha256(self._salt.encode("utf-8") + b"\x00" + raw_id.encode("utf-8"))
        return digest.hexdigest()[:HASH_CHARS]

    def record(
        self,
        *,
        channel: str,
        question: str,
        status: str,
        top_clause_id: str | None,
        latency_ms: float,
        session_id: str | None = None,
        query_id: str | None = None,
    ) -> None:
        """Insert one row and commit it; `session_id` (raw) is hashed here; `query_id` is stored as is."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {CHANNELS}")
        row = (
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            channel,
            question,
            status,
            top_clause_id,
            round(latency_ms, 2),
            self.hash_id(session_id) if session_id else None,
            query_id,
        )
        with self._lock:
            if self._connection is None:
                return  # closed at shutdown: late writers are dropped rather than crashing the request
            self._connection.execute(
                "INSERT INTO queries"
                " (ts, channel, question, status, top_clause_id, latency_ms, session_hash, query_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def record_answer(
        self,
        channel: str,
        question: str,
        answer: Answer | None,
        latency_ms: float,
        session_id: str | None = None,
        query_id: str | None = None,
    ) -> None:
        """Insert the row for an engine answer (status and top clause taken from it; None = an error)."""
        top = answer.hits[0].clause.id if answer is not None and answer.hits else None
        self.record(
            channel=channel,
            question=question,
            status=answer.status if answer is not None else STATUS_ERROR,
            top_clause_id=top,
            latency_ms=latency_ms,
            session_id=session_id,
            query_id=query_id,
        )

    def record_feedback(self, query_id: str, rating: str, reason: str | None = None) -> bool:
        """Store 👍/👎 (and why) for the question logged under `query_id`; the latest vote replaces an
        earlier one. Return False when no row has that id."""
        if rating not in RATINGS or (reason is not None and reason not in REASONS):
            raise ValueError(f"rating one of {RATINGS}, reason one of {REASONS} or None")
        ts = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            if self._connection is None:
                return False
            row = self._connection.execute(
                "SELECT id FROM queries WHERE query_id = ?", (query_id,)
            ).fetchone()
            if row is None:
                return False
            self._connection.execute(
                "INSERT INTO feedback (query_row, ts, rating, reason) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (query_row) DO UPDATE SET ts = excluded.ts, rating = excluded.rating,"
                " reason = excluded.reason",
                (row[0], ts, rating, reason),
            )
        return True

    def gap_rows(self, since_ts: str) -> list[GapRow]:
        """Return the questions asked since `since_ts` (UTC ISO) that were answered `partial` or
        `not_found` or marked 👎, oldest first: what the policies do not answer."""
        with self._lock:
            if self._connection is None:
                return []
            rows = self._connection.execute(
                "SELECT q.ts, q.question, q.status, f.rating, f.reason FROM queries q"
                " LEFT JOIN feedback f ON f.query_row = q.id"
                " WHERE q.ts >= ? AND (q.status IN (?, ?) OR f.rating = ?) ORDER BY q.id",
                (since_ts, STATUS_PARTIAL, STATUS_NOT_FOUND, RATING_DOWN),
            ).fetchall()
        return [GapRow(*row) for row in rows]

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close (idempotent)."""
        with self._lock:
            if self._connection is not None:
                self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._connection.close()
                self._connection = None


@dataclass(frozen=True)
class GapRow:
    """One logged question the answer did not cover: when, what, its status and any 👎 with its reason."""

    ts: str
    question: str
    status: str
    rating: str | None
    reason: str | None


def open_query_log(path: Path | None) -> QueryLog | None:
    """Return the log at `path`, or None when logging is off (`POLICYQA_QUERY_LOG` unset)."""
    return QueryLog(path) if path else None


def get_query_log(connection: HTTPConnection) -> QueryLog | None:
    """Return the running app's query log, or None when it is off."""
    return getattr(connection.app.state, "query_log", None)


def log_query(
    app: Any,
    *,
    channel: str,
    question: str,
    answer: Answer | None,
    latency_ms: float,
    follower_id: str | None = None,
) -> None:
    """Log one question for the app `app` (no-op when the log is off); `answer=None` logs an error.

    For other channels (the WeChat route): pass the raw OpenID as `follower_id`, it is hashed
    here. Blocking (~0.1 ms); call it from the worker thread that computed the answer.
    """
    query_log: QueryLog | None = getattr(app.state, "query_log", None)
    if query_log is not None:
        query_log.record_answer(channel, question, answer, latency_ms, follower_id)


# --- reading, for `policyqa report` -----------------------------------------------------------------


def question_key(question: str) -> str:
    """Return the form under which questions are grouped: NFKC, spaces collapsed, end punctuation off."""
    text = " ".join(unicodedata.normalize("NFKC", question).split())
    return text.rstrip(_TRAILING_PUNCTUATION).lower()


@dataclass(frozen=True)
class LogSummary:
    """What the staff report shows: totals, counts per status and channel, frequent unanswered questions."""

    total: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    unanswered: list[tuple[str, int]]  # (question as first asked, times asked), most frequent first
    first_ts: str | None
    last_ts: str | None
    p50_latency_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the `policyqa report --json` object."""
        return {
            "total": self.total,
            "by_status": self.by_status,
            "by_channel": self.by_channel,
            "unanswered": [{"question": q, "count": n} for q, n in self.unanswered],
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "p50_latency_ms": self.p50_latency_ms,
        }


def summarize(path: Path, top: int = 20) -> LogSummary:
    """Read the log at `path` and return its summary; raise FileNotFoundError when there is none."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no query log at {path}")
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        total, first_ts, last_ts = connection.execute(
            "SELECT COUNT(*), MIN(ts), MAX(ts) FROM queries"
        ).fetchone()
        by_status = dict(
            connection.execute("SELECT status, COUNT(*) FROM queries GROUP BY status ORDER BY 2 DESC")
        )
        by_channel = dict(
            connection.execute("SELECT channel, COUNT(*) FROM queries GROUP BY channel ORDER BY 2 DESC")
        )
        groups: dict[str, list[Any]] = {}  # key -> [first wording, count]
        for (question,) in connection.execute(
            "SELECT question FROM queries WHERE status = ? ORDER BY id", (STATUS_NOT_FOUND,)
        ):
            group = groups.setdefault(question_key(question), [question, 0])
            group[1] += 1
        median = None
        if total:
            (median,) = connection.execute(
                "SELECT latency_ms FROM queries ORDER BY latency_ms LIMIT 1 OFFSET ?", (total // 2,)
            ).fetchone()
    finally:
        connection.close()
    ranked = sorted(groups.values(), key=lambda g: (-g[1], g[0]))[:top]
    return LogSummary(
        total=total,
        by_status=by_status,
        by_channel=by_channel,
        unanswered=[(q, n) for q, n in ranked],
        first_ts=first_ts,
        last_ts=last_ts,
        p50_latency_ms=median,
    )
