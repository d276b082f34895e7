"""The evaluation harness: runs the questions through the engine per retriever mode and scores them."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.labels import EvalQuestion
from eval.metrics import HIT_KS, EvalReport, MetricSummary, QuestionOutcome, aggregate, score_question
from rag.engine import Engine
from rag.models import MODE_BM25, MODE_HYBRID, MODE_VECTOR, STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL

RANKED_DEPTH = 10  # hits asked for per question, enough for hit@10, MRR@10, nDCG@10


@dataclass
class ModeRun:
    """Outcomes of one retriever mode, the report over them, and the failures to read."""

    mode: str
    outcomes: list[QuestionOutcome]
    report: EvalReport
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "mode": self.mode,
            "seconds": round(self.seconds, 2),
            "report": self.report.to_dict(),
            "failures": self.failures,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def ask_in_context(engine: Engine, question: EvalQuestion, mode: str) -> Any:
    """Ask `question` after its earlier turns (follow-ups) in a fresh conversation."""
    session = f"eval:{uuid.uuid4().hex}" if question.context else None
    for turn in question.context:
        engine.ask(turn, session_id=session, top_k=RANKED_DEPTH, mode=mode)
    return engine.ask(question.question, session_id=session, top_k=RANKED_DEPTH, mode=mode)


# Why a question is listed as a failure, in the order the listing shows them.
FAILURE_DETAIL_FOUND = "detail answered found"  # a detail the documents do not state, presented as found
FAILURE_ANSWERABLE_PARTIAL = "answerable answered partial"
FAILURE_ANSWERABLE_REFUSED = "answerable refused"
FAILURE_MISSED = "answer not in the top 5"
FAILURE_UNANSWERABLE_FOUND = "unanswerable answered found"
FAILURE_UNANSWERABLE_PARTIAL = "unanswerable answered partial"
FAILURE_REASONS: tuple[str, ...] = (
    FAILURE_DETAIL_FOUND,
    FAILURE_ANSWERABLE_PARTIAL,
    FAILURE_ANSWERABLE_REFUSED,
    FAILURE_MISSED,
    FAILURE_UNANSWERABLE_FOUND,
    FAILURE_UNANSWERABLE_PARTIAL,
)


def failure_reason(outcome: QuestionOutcome) -> str | None:
    """Return why an answered question is a failure (FAILURE_*), or None when it is not one.

    A question expecting `partial` answered `not_found` is not listed: the detail was held back.
    """
    expected, status = outcome.expected, outcome.status
    if status is None:
        return None if outcome.hits.get(5) or not outcome.answerable else FAILURE_MISSED
    if expected == STATUS_FOUND:
        if status == STATUS_PARTIAL:
            return FAILURE_ANSWERABLE_PARTIAL
        if status == STATUS_NOT_FOUND:
            return FAILURE_ANSWERABLE_REFUSED
        return None if outcome.hits.get(5) else FAILURE_MISSED
    if expected == STATUS_PARTIAL:
        return FAILURE_DETAIL_FOUND if status == STATUS_FOUND else None
    if status == STATUS_FOUND:
        return FAILURE_UNANSWERABLE_FOUND
    return FAILURE_UNANSWERABLE_PARTIAL if status == STATUS_PARTIAL else None


def _expected_label(question: EvalQuestion) -> list[dict[str, Any]] | str:
    if question.gold:
        return [g.to_dict() for g in question.gold]
    if question.related:
        return f"partial ({question.detail} not stated)"
    return "not_found"


def run_mode(engine: Engine, questions: Sequence[EvalQuestion], mode: str, progress: bool = True) -> ModeRun:
    """Score every question in one mode; only a found answer's clauses count as ranked answers."""
    outcomes: list[QuestionOutcome] = []
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    for question in tqdm(questions, desc=f"eval {mode}", disable=not progress, file=sys.stderr, unit="q"):
        answer = ask_in_context(engine, question, mode)
        ranked = [h.clause for h in answer.hits]
        resolved = answer.resolved_question or answer.question
        outcome = score_question(question, ranked, answer.status, resolved)
        outcomes.append(outcome)
        reason = failure_reason(outcome)
        if reason:
            failures.append(
                {
                    "id": question.id,
                    "kind": question.kind,
                    "split": question.split,
                    "question": question.question,
                    "context": list(question.context),
                    "reason": reason,
                    "expected": _expected_label(question),
                    "status": answer.status,
                    "resolved_question": resolved,
                    "rewrites": list(answer.rewrites),
                    "answer_detail": answer.detail.to_dict() if answer.detail else None,
                    "got": [
                        {
                            "doc_id": h.clause.doc_id,
                            "number": h.clause.number,
                            "role": h.role,
                            "text": " ".join(h.clause.text.split())[:60],
                        }
                        for h in answer.hits[:3]
                    ],
                }
            )
    failures.sort(key=lambda f: FAILURE_REASONS.index(f["reason"]))
    return ModeRun(mode, outcomes, aggregate(outcomes), failures, time.perf_counter() - started)


def run_eval(
    engine: Engine, questions: Sequence[EvalQuestion], modes: Sequence[str], progress: bool = True
) -> dict[str, ModeRun]:
    """Run each live mode; modes whose retriever is not live are skipped (and said so by the caller)."""
    runs: dict[str, ModeRun] = {}
    for mode in modes:
        if mode == MODE_VECTOR and "vector" not in engine.retrievers:
            continue
        runs[mode] = run_mode(engine, questions, mode, progress)
    return runs


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _status_columns(summary: MetricSummary) -> list[str]:
    return [
        _figure(summary.refusal.precision),
        _figure(summary.refusal.recall),
        _figure(summary.partial.precision),
        _figure(summary.partial.recall),
        _figure(summary.held_back.value),
        _figure(summary.wrongly_not_found.value),
    ]


STATUS_HEADER = ["refuse P", "refuse R", "partial P", "partial R", "held back", "wrong NF"]


def format_table(runs: dict[str, ModeRun], split: str | None = None) -> str:
    """Return a plain-text table: one row per mode and split; ranking figures, then answer statuses."""
    header = ["mode", "split", "n", *(f"hit@{k}" for k in HIT_KS), "MRR@10", "nDCG@10", *STATUS_HEADER]
    rows = [header]
    for mode, run in runs.items():
        groups = {"all": run.report.overall, **run.report.by_split}
        for name, summary in groups.items():
            if split and name != split:
                continue
            rows.append(
                [
                    mode,
                    name,
                    str(summary.questions),
                    *(f"{summary.hit_at[k]:.3f}" for k in HIT_KS),
                    f"{summary.mrr:.3f}",
                    f"{summary.ndcg:.3f}",
                    *_status_columns(summary),
                ]
            )
    return _columns(rows)


def breakdown_groups(run: ModeRun, by: str, split: str | None = None) -> dict[str, MetricSummary]:
    """Return one mode's summaries per question kind or per document, on one split (None: all splits)."""
    report = run.report
    if split is None:
        return report.by_kind if by == "kind" else report.by_doc
    per_split = report.by_split_kind if by == "kind" else report.by_split_doc
    return per_split.get(split, {})


def format_breakdown(run: ModeRun, by: str, split: str | None = None) -> str:
    """Return a table of one mode's metrics per question kind or per document (on one split, or all)."""
    rows = [
        [by, "n", "answerable", "hit@1", "hit@5", "MRR@10", *STATUS_HEADER, "found/partial/not"],
    ]
    for name, summary in breakdown_groups(run, by, split).items():
        statuses = summary.statuses
        rows.append(
            [
                name,
                str(summary.questions),
                str(summary.answerable),
                f"{summary.hit_at[1]:.3f}",
                f"{summary.hit_at[5]:.3f}",
                f"{summary.mrr:.3f}",
                *_status_columns(summary),
                "/".join(str(statuses.get(s, 0)) for s in (STATUS_FOUND, STATUS_PARTIAL, STATUS_NOT_FOUND)),
            ]
        )
    return _columns(rows)


def format_typos(runs: dict[str, ModeRun]) -> str:
    """Return a table of typo resolution per mode and split: resolved questions holding the intended words."""
    rows = [["mode", "split", "typo questions", "resolved", "rate"]]
    for mode, run in runs.items():
        for name, summary in {"all": run.report.overall, **run.report.by_split}.items():
            typo = summary.typo_resolved
            rows.append([mode, name, str(typo.total), str(typo.count), _figure(typo.value)])
    return _columns(rows)


def _columns(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def plot_hit_curve(runs: dict[str, ModeRun], path: Path, split: str = "test") -> None:
    """Save a plot of hit@k against k per mode (on one split) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for mode, run in runs.items():
        summary = run.report.by_split.get(split, run.report.overall)
        ax.plot(list(HIT_KS), [summary.hit_at[k] for k in HIT_KS], marker="o", label=mode)
    ax.set_xlabel("k")
    ax.set_ylabel(f"hit@k ({split} split, answerable questions)")
    ax.set_xticks(list(HIT_KS))
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("PolicyQA retrieval: hit@k by mode")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def write_report(runs: dict[str, ModeRun], path: Path, extra: dict[str, Any]) -> None:
    """Write the JSON report of every mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**extra, "modes": {m: r.to_dict() for m, r in runs.items()}}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


ALL_MODES = (MODE_BM25, MODE_VECTOR, MODE_HYBRID)
