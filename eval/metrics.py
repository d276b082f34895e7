"""Retrieval and refusal metrics over ranked clause lists, and their aggregation.

Pure functions: nothing here runs a retriever. A ranked list is any sequence of clause-like objects
(`doc_id`, `text`, `number`), best first — `corpus.models.Clause`, or `[hit.clause for hit in hits]`.

A ranked clause answers a gold entry when it is in the gold document, contains the gold snippet once
whitespace is ignored, and (when the gold entry names one) carries the same clause number up to
punctuation width. Any gold entry counts as a hit; nDCG rewards finding several.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from eval.labels import NO_DOC, EvalQuestion, GoldAnswer, strip_whitespace
from rag.models import STATUS_NOT_FOUND

HIT_KS: tuple[int, ...] = (1, 3, 5, 10)
RANK_CUTOFF = 10  # MRR@10 and nDCG@10

# Trailing marks that differ between printings of the same number: "1." / "1．" / "1、".
_NUMBER_TRAILING = ".、"


class ClauseLike(Protocol):
    """What the metrics read from a retrieved clause."""

    @property
    def doc_id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def number(self) -> str | None: ...


def normalise_number(number: str) -> str:
    """Return a clause number in comparable form: half-width, no spaces, no trailing '.' or '、'."""
    return strip_whitespace(unicodedata.normalize("NFKC", number)).rstrip(_NUMBER_TRAILING)


def is_gold_hit(clause: ClauseLike, gold: GoldAnswer) -> bool:
    """True when `clause` is the clause the gold entry names (same document, snippet inside, number)."""
    if clause.doc_id != gold.doc_id:
        return False
    if strip_whitespace(gold.snippet) not in strip_whitespace(clause.text):
        return False
    if gold.number is None:
        return True
    return clause.number is not None and normalise_number(clause.number) == normalise_number(gold.number)


def relevance(ranked: Sequence[ClauseLike], gold: Sequence[GoldAnswer], k: int = RANK_CUTOFF) -> list[int]:
    """Return binary relevance of the top `k` ranks; each gold entry is credited to one rank only.

    Crediting each gold entry once keeps DCG at or below the ideal DCG when a clause appears twice
    (e.g. two chunks of it) in a ranking.
    """
    unmatched = list(gold)
    marks: list[int] = []
    for clause in ranked[:k]:
        match = next((g for g in unmatched if is_gold_hit(clause, g)), None)
        if match is None:
            marks.append(0)
        else:
            unmatched.remove(match)
            marks.append(1)
    return marks


def first_hit_rank(
    ranked: Sequence[ClauseLike], gold: Sequence[GoldAnswer], k: int = RANK_CUTOFF
) -> int | None:
    """Return the 1-based rank of the first clause answering any gold entry within the top `k`, or None."""
    for rank, clause in enumerate(ranked[:k], start=1):
        if any(is_gold_hit(clause, g) for g in gold):
            return rank
    return None


def hit_at_k(ranked: Sequence[ClauseLike], gold: Sequence[GoldAnswer], k: int) -> float:
    """Return 1.0 when a gold clause is among the top `k`, else 0.0."""
    return 1.0 if first_hit_rank(ranked, gold, k) is not None else 0.0


def reciprocal_rank(ranked: Sequence[ClauseLike], gold: Sequence[GoldAnswer], k: int = RANK_CUTOFF) -> float:
    """Return 1 / rank of the first gold clause within the top `k` (0.0 when there is none)."""
    rank = first_hit_rank(ranked, gold, k)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(ranked: Sequence[ClauseLike], gold: Sequence[GoldAnswer], k: int = RANK_CUTOFF) -> float:
    """Return binary-relevance nDCG@k; the ideal ranking puts min(len(gold), k) gold clauses first."""
    ideal_count = min(len(gold), k)
    if ideal_count == 0:
        return 0.0
    dcg = sum(rel / math.log2(rank + 1) for rank, rel in enumerate(relevance(ranked, gold, k), start=1))
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_count + 1))
    return dcg / ideal


@dataclass(frozen=True)
class QuestionOutcome:
    """How the system did on one question.

    `refused` is None when the run made no refusal decision (plain search); otherwise it is True
    when the answer's status was `not_found`. Ranking figures are meaningful for answerable
    questions only.
    """

    question_id: str
    kind: str
    split: str
    doc_ids: tuple[str, ...]
    answerable: bool
    refused: bool | None
    first_hit_rank: int | None
    reciprocal_rank: float
    ndcg: float
    hits: dict[int, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        data = asdict(self)
        data["doc_ids"] = list(self.doc_ids)
        data["hits"] = {str(k): v for k, v in self.hits.items()}
        return data


def score_question(
    question: EvalQuestion, ranked: Sequence[ClauseLike], status: str | None = None
) -> QuestionOutcome:
    """Return the outcome of one question given the system's ranked clauses and answer status.

    Pass `status=None` for a search run (no refusal decision). The ranked list is scored as given:
    a harness that wants a refusal to count as a miss passes an empty list for refused answers.
    """
    gold = question.gold
    return QuestionOutcome(
        question_id=question.id,
        kind=question.kind,
        split=question.split,
        doc_ids=question.doc_ids,
        answerable=question.answerable,
        refused=None if status is None else status == STATUS_NOT_FOUND,
        first_hit_rank=first_hit_rank(ranked, gold, RANK_CUTOFF) if gold else None,
        reciprocal_rank=reciprocal_rank(ranked, gold, RANK_CUTOFF) if gold else 0.0,
        ndcg=ndcg_at_k(ranked, gold, RANK_CUTOFF) if gold else 0.0,
        hits={k: bool(gold) and first_hit_rank(ranked, gold, k) is not None for k in HIT_KS},
    )


@dataclass(frozen=True)
class RefusalScores:
    """Refusal as a classifier whose positive class is the unanswerable questions.

    Precision and recall are None when undefined (nothing refused / nothing to refuse).
    """

    decided: int  # questions with a refusal decision
    true_refusals: int  # unanswerable and refused
    false_refusals: int  # answerable but refused
    missed_refusals: int  # unanswerable but answered
    precision: float | None
    recall: float | None


def refusal_scores(outcomes: Iterable[QuestionOutcome]) -> RefusalScores:
    """Return refusal precision and recall over the outcomes that carry a refusal decision."""
    decided = [o for o in outcomes if o.refused is not None]
    true_refusals = sum(1 for o in decided if o.refused and not o.answerable)
    false_refusals = sum(1 for o in decided if o.refused and o.answerable)
    missed_refusals = sum(1 for o in decided if not o.refused and not o.answerable)
    refused = true_refusals + false_refusals
    unanswerable = true_refusals + missed_refusals
    return RefusalScores(
        decided=len(decided),
        true_refusals=true_refusals,
        false_refusals=false_refusals,
        missed_refusals=missed_refusals,
        precision=true_refusals / refused if refused else None,
        recall=true_refusals / unanswerable if unanswerable else None,
    )


@dataclass(frozen=True)
class MetricSummary:
    """Mean ranking metrics over the answerable questions of a group, and refusal scores over all."""

    questions: int
    answerable: int
    hit_at: dict[int, float]
    mrr: float
    ndcg: float
    refusal: RefusalScores

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (`hit_at` keyed by "1", "3", ...)."""
        data = asdict(self)
        data["hit_at"] = {str(k): v for k, v in self.hit_at.items()}
        return data


def summarise(outcomes: Sequence[QuestionOutcome]) -> MetricSummary:
    """Return the summary of a group of outcomes (ranking means are 0.0 when none is answerable)."""
    answerable = [o for o in outcomes if o.answerable]
    count = len(answerable)

    def mean(values: Iterable[float]) -> float:
        return sum(values) / count if count else 0.0

    return MetricSummary(
        questions=len(outcomes),
        answerable=count,
        hit_at={k: mean(float(o.hits.get(k, False)) for o in answerable) for k in HIT_KS},
        mrr=mean(o.reciprocal_rank for o in answerable),
        ndcg=mean(o.ndcg for o in answerable),
        refusal=refusal_scores(outcomes),
    )


@dataclass(frozen=True)
class EvalReport:
    """Metrics overall and per question kind, per gold document and per split.

    A question answered by several documents counts in each of them; unanswerable questions are
    grouped under NO_DOC.
    """

    overall: MetricSummary
    by_kind: dict[str, MetricSummary]
    by_doc: dict[str, MetricSummary]
    by_split: dict[str, MetricSummary]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "overall": self.overall.to_dict(),
            "by_kind": {k: v.to_dict() for k, v in self.by_kind.items()},
            "by_doc": {k: v.to_dict() for k, v in self.by_doc.items()},
            "by_split": {k: v.to_dict() for k, v in self.by_split.items()},
        }


def aggregate(outcomes: Sequence[QuestionOutcome]) -> EvalReport:
    """Return the report over all outcomes, grouped by kind, document and split (groups sorted)."""
    by_kind: dict[str, list[QuestionOutcome]] = defaultdict(list)
    by_doc: dict[str, list[QuestionOutcome]] = defaultdict(list)
    by_split: dict[str, list[QuestionOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
        by_split[outcome.split].append(outcome)
        for doc_id in outcome.doc_ids or (NO_DOC,):
            by_doc[doc_id].append(outcome)
    return EvalReport(
        overall=summarise(outcomes),
        by_kind={k: summarise(v) for k, v in sorted(by_kind.items())},
        by_doc={k: summarise(v) for k, v in sorted(by_doc.items())},
        by_split={k: summarise(v) for k, v in sorted(by_split.items())},
    )
