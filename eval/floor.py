"""The evaluation floor (eval/floor.json): checks that fail CI, and targets that are only reported.

Each check or target names a mode, a split, a metric (`eval.metrics.METRIC_NAMES`) and a bound: `min`
(the figure must be at least this) or `max` (at most this), or both. The file:

    {"checks": [{"mode": "hybrid", "split": "test", "metric": "hit_at_5", "min": 0.87}],
     "targets": [{"mode": "hybrid", "split": "test", "metric": "held_back", "min": 0.80}],
     "note": "..."}

The older form `{"mode": "hybrid", "split": "test", "hit_at_5": 0.87}` still reads as one check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import METRIC_NAMES, MetricSummary
from rag.models import MODE_HYBRID

FLOOR_FILE = Path(__file__).resolve().parent / "floor.json"
DEFAULT_SPLIT = "test"


class FloorError(ValueError):
    """A malformed floor file (the message says what is wrong)."""


@dataclass(frozen=True)
class FloorCheck:
    """One bound on one figure: `metric` of `mode` on `split` must be >= `min` and/or <= `max`."""

    metric: str
    mode: str = MODE_HYBRID
    split: str = DEFAULT_SPLIT
    min: float | None = None
    max: float | None = None
    note: str | None = None

    def describe(self) -> str:
        """Return e.g. "hybrid test hit_at_5 >= 0.870"."""
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:.3f}")
        if self.max is not None:
            bounds.append(f"<= {self.max:.3f}")
        return f"{self.mode} {self.split} {self.metric} {' and '.join(bounds)}"

    def passes(self, value: float | None) -> bool:
        """True when `value` is defined and within the bounds."""
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FloorCheck:
        """Read one check; raise FloorError on an unknown metric, no bound, or a bound not a number."""
        metric = data.get("metric")
        if metric not in METRIC_NAMES:
            raise FloorError(f"unknown metric {metric!r} in {dict(data)}; known: {', '.join(METRIC_NAMES)}")
        bounds = {}
        for key in ("min", "max"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise FloorError(f"{key} must be a number in {dict(data)}")
            bounds[key] = None if value is None else float(value)
        if bounds["min"] is None and bounds["max"] is None:
            raise FloorError(f"a check needs min or max: {dict(data)}")
        return cls(
            metric=str(metric),
            mode=str(data.get("mode", MODE_HYBRID)),
            split=str(data.get("split", DEFAULT_SPLIT)),
            min=bounds["min"],
            max=bounds["max"],
            note=data.get("note"),
        )


@dataclass(frozen=True)
class Floor:
    """The checks CI enforces and the targets reported beside them."""

    checks: tuple[FloorCheck, ...]
    targets: tuple[FloorCheck, ...] = ()


def parse_floor(data: Mapping[str, Any]) -> Floor:
    """Return the floor of a parsed floor.json (either form)."""
    if "checks" not in data:
        legacy = [key for key in data if key in METRIC_NAMES]
        if not legacy:
            raise FloorError("floor.json has no 'checks'")
        checks = [
            {
                "metric": key,
                "min": data[key],
                "mode": data.get("mode", MODE_HYBRID),
                "split": data.get("split"),
            }
            for key in legacy
        ]
        return Floor(
            tuple(FloorCheck.from_dict({k: v for k, v in c.items() if v is not None}) for c in checks)
        )
    return Floor(
        checks=tuple(FloorCheck.from_dict(c) for c in data["checks"]),
        targets=tuple(FloorCheck.from_dict(t) for t in data.get("targets", ())),
    )


def load_floor(path: Path | str | None = None) -> Floor:
    """Return the floor in `path` (default eval/floor.json)."""
    source = Path(path) if path is not None else FLOOR_FILE
    try:
        return parse_floor(json.loads(source.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise FloorError(f"{source}: {exc}") from exc


@dataclass(frozen=True)
class CheckResult:
    """A check and what was measured: `value` None when the mode or split did not run or is undefined."""

    check: FloorCheck
    value: float | None
    ok: bool
    reason: str = ""

    def line(self, failed: str = "NOT MET") -> str:
        """Return one line: the check, the value and ok / `failed` (or why it could not be measured)."""
        measured = "-" if self.value is None else f"{self.value:.3f}"
        verdict = "ok" if self.ok else (self.reason or failed)
        return f"{self.check.describe()}: {measured}  {verdict}"


def evaluate(
    checks: Sequence[FloorCheck], summaries: Mapping[str, Mapping[str, MetricSummary]]
) -> list[CheckResult]:
    """Evaluate checks against summaries keyed by mode then split."""
    results = []
    for check in checks:
        by_split = summaries.get(check.mode)
        if by_split is None:
            results.append(CheckResult(check, None, False, f"mode {check.mode} did not run"))
            continue
        summary = by_split.get(check.split)
        if summary is None:
            results.append(CheckResult(check, None, False, f"split {check.split} did not run"))
            continue
        value = summary.metric(check.metric)
        reason = "" if value is not None else "undefined (no such questions)"
        results.append(CheckResult(check, value, check.passes(value), reason))
    return results
