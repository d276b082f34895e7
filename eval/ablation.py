"""What each part of the system is worth: the hybrid run with one part taken out at a time.

Parts: the embedded model (vectors: retrieval, re-ranking similarity and the refusal's closeness in
meaning), re-ranking (topic coverage and similarity after fusion), the answer step's detail types (without
them nothing is ever `partial`), typo correction and the sentence vectors (index/sentences.py). Each row
is a full evaluation with the others on; the first row is the system as it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from eval.labels import EvalQuestion
from eval.run import ModeRun, run_mode
from rag.engine import Engine
from rag.models import MODE_BM25, MODE_HYBRID

ABLATED_METRICS = ("hit_at_1", "hit_at_5", "mrr", "held_back", "wrongly_not_found", "typo_resolved")


@dataclass(frozen=True)
class Variant:
    """One configuration of the engine: its name, how to derive it, and the retrieval mode it runs in."""

    name: str
    make: Callable[[Engine], Engine]
    mode: str = MODE_HYBRID


VARIANTS: tuple[Variant, ...] = (
    Variant("full system", lambda e: e),
    Variant("without the embedded model (BM25 only)", lambda e: e, MODE_BM25),
    Variant(
        "without re-ranking",
        lambda e: e.with_settings(
            fusion=replace(e.fusion, coverage_weight=0.0, similarity_weight=0.0, sentence_weight=0.0)
        ),
    ),
    Variant("without the answer step's detail check", lambda e: e.with_settings(detail_types=())),
    Variant("without typo correction", lambda e: e.with_settings(correct_typos=False)),
    Variant("without sentence vectors", lambda e: e.with_settings(sentence_vectors=False)),
)


def run_ablation(
    engine: Engine, questions: Sequence[EvalQuestion], progress: bool = False
) -> list[tuple[str, ModeRun]]:
    """Return each variant's evaluation run (variants needing vectors are skipped without them)."""
    runs = []
    for variant in VARIANTS:
        if variant.mode == MODE_BM25 and "vector" not in engine.retrievers:
            continue
        runs.append((variant.name, run_mode(variant.make(engine), questions, variant.mode, progress)))
    return runs


def format_ablation(runs: Sequence[tuple[str, ModeRun]], splits: Sequence[str] = ("dev", "test")) -> str:
    """Return a table: one row per variant and split, the metrics of ABLATED_METRICS."""
    header = ["variant", "split", "hit@1", "hit@5", "MRR@10", "held back", "wrong NF", "typo resolved"]
    rows = [header]
    for name, run in runs:
        for split in splits:
            summary = run.report.by_split.get(split)
            if summary is None:
                continue
            rows.append([name, split, *(_figure(summary.metric(m)) for m in ABLATED_METRICS)])
    widths = [max(_width(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c + " " * (widths[i] - _width(c)) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
