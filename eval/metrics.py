"""Retrieval, answer-status and typo metrics over the system's answers, and their aggregation.

Pure functions: nothing here runs a retriever. A ranked list is any sequence of clause-like objects
(`doc_id`, `text`, `number`), best first — `corpus.models.Clause`, or `[hit.clause for hit in hits]`.

A ranked clause answers a gold entry when it is in the gold document, contains the gold snippet once
whitespace is ignored, and (when the gold entry names one) carries the same clause number up to
punctuation width. Any gold entry counts as a hit; nDCG rewards finding several.

Each question expects an answer status (found / partial / not_found, see `eval.labels`). Ranking
metrics count only the hits of a `found` answer: an answerable question answered `partial` or
`not_found` is a miss. The status metrics:

* refusal precision / recall: positive class the questions expecting `not_found`, predicted `not_found`;
* partial precision / recall: positive class the questions expecting `partial`, predicted `partial`;
* held back: share of the questions expecting `partial` that were answered `partial` or `not_found`
  (anything but a detail presented as found);
* wrongly not found: share of the answerable questions answered anything but `found`;
* typo resolved: share of the typo questions whose resolved question has every intended word and none
  of the typed ones.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from eval.labels import NO_DOC, EvalQuestion, GoldAnswer, strip_whitespace
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL, STATUSES

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

    `status` is the answer status returned, or None for a run that made no answer decision (plain
    search). `expected` is the status the question expects. Ranking figures are meaningful for
    answerable questions only. `typo_resolved` is None unless the question has typos and the run
    reported the question it searched.
    """

    question_id: str
    kind: str
    split: str
    doc_ids: tuple[str, ...]
    answerable: bool
    expected: str
    status: str | None
    first_hit_rank: int | None
    reciprocal_rank: float
    ndcg: float
    hits: dict[int, bool] = field(default_factory=dict)
    typo_resolved: bool | None = None

    @property
    def refused(self) -> bool | None:
        """True when the answer was `not_found`; None without an answer decision."""
        return None if self.status is None else self.status == STATUS_NOT_FOUND

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        data = asdict(self)
        data["doc_ids"] = list(self.doc_ids)
        data["hits"] = {str(k): v for k, v in self.hits.items()}
        data["refused"] = self.refused
        return data


def typo_resolved(question: EvalQuestion, resolved_question: str) -> bool:
    """True when the resolved question holds every intended word of the question's typos, no typed one."""
    return all(t.right in resolved_question and t.wrong not in resolved_question for t in question.typos)


def score_question(
    question: EvalQuestion,
    ranked: Sequence[ClauseLike],
    status: str | None = None,
    resolved_question: str | None = None,
) -> QuestionOutcome:
    """Return the outcome of one question given the system's ranked clauses and answer status.

    Pass `status=None` for a search run (no answer decision): the ranking is scored as given. With a
    status, only a `found` answer's clauses count: the hits of a `partial` answer are related clauses,
    not answers, so a partial or not_found answer to an answerable question scores as a miss.
    """
    gold = question.gold
    if status is not None and status != STATUS_FOUND:
        ranked = ()
    return QuestionOutcome(
        question_id=question.id,
        kind=question.kind,
        split=question.split,
        doc_ids=question.doc_ids,
        answerable=question.answerable,
        expected=question.expected_status,
        status=status,
        first_hit_rank=first_hit_rank(ranked, gold, RANK_CUTOFF) if gold else None,
        reciprocal_rank=reciprocal_rank(ranked, gold, RANK_CUTOFF) if gold else 0.0,
        ndcg=ndcg_at_k(ranked, gold, RANK_CUTOFF) if gold else 0.0,
        hits={k: bool(gold) and first_hit_rank(ranked, gold, k) is not None for k in HIT_KS},
        typo_resolved=(
            typo_resolved(question, resolved_question)
            if question.typos and resolved_question is not None
            else None
        ),
    )


@dataclass(frozen=True)
class RefusalScores:
    """Refusal as a classifier: positive class the questions expecting `not_found`, predicted `not_found`.

    A refused question expecting `partial` counts against precision (its topic is covered) and is
    counted apart in `detail_refusals`. Precision and recall are None when undefined (nothing refused /
    nothing to refuse).
    """

    decided: int  # questions with an answer decision
    true_refusals: int  # expects not_found and refused
    false_refusals: int  # answerable but refused
    detail_refusals: int  # expects partial but refused
    missed_refusals: int  # expects not_found but answered (found or partial)
    precision: float | None
    recall: float | None


def refusal_scores(outcomes: Iterable[QuestionOutcome]) -> RefusalScores:
    """Return refusal precision and recall over the outcomes that carry an answer decision."""
    decided = [o for o in outcomes if o.status is not None]
    refused = [o for o in decided if o.status == STATUS_NOT_FOUND]
    true_refusals = sum(1 for o in refused if o.expected == STATUS_NOT_FOUND)
    missed_refusals = sum(
        1 for o in decided if o.expected == STATUS_NOT_FOUND and o.status != STATUS_NOT_FOUND
    )
    positives = true_refusals + missed_refusals
    return RefusalScores(
        decided=len(decided),
        true_refusals=true_refusals,
        false_refusals=sum(1 for o in refused if o.expected == STATUS_FOUND),
        detail_refusals=sum(1 for o in refused if o.expected == STATUS_PARTIAL),
        missed_refusals=missed_refusals,
        precision=true_refusals / len(refused) if refused else None,
        recall=true_refusals / positives if positives else None,
    )


@dataclass(frozen=True)
class PartialScores:
    """`partial` as a classifier: positive class the questions expecting `partial`, predicted `partial`.

    Precision and recall are None when undefined (nothing answered partial / nothing expecting it).
    """

    decided: int
    true_partials: int  # expects partial and answered partial
    partial_on_answerable: int  # answerable but answered partial (the answer was there)
    partial_on_unanswerable: int  # expects not_found but answered partial
    missed_partials: int  # expects partial but answered found or not_found
    precision: float | None
    recall: float | None


def partial_scores(outcomes: Iterable[QuestionOutcome]) -> PartialScores:
    """Return partial precision and recall over the outcomes that carry an answer decision."""
    decided = [o for o in outcomes if o.status is not None]
    answered_partial = [o for o in decided if o.status == STATUS_PARTIAL]
    true_partials = sum(1 for o in answered_partial if o.expected == STATUS_PARTIAL)
    expecting = sum(1 for o in decided if o.expected == STATUS_PARTIAL)
    return PartialScores(
        decided=len(decided),
        true_partials=true_partials,
        partial_on_answerable=sum(1 for o in answered_partial if o.expected == STATUS_FOUND),
        partial_on_unanswerable=sum(1 for o in answered_partial if o.expected == STATUS_NOT_FOUND),
        missed_partials=expecting - true_partials,
        precision=true_partials / len(answered_partial) if answered_partial else None,
        recall=true_partials / expecting if expecting else None,
    )


@dataclass(frozen=True)
class Rate:
    """`count` of `total` questions; `value` is their ratio, None when `total` is 0."""

    count: int
    total: int
    value: float | None


def rate(count: int, total: int) -> Rate:
    """Return the Rate of `count` out of `total`."""
    return Rate(count, total, count / total if total else None)


def held_back(outcomes: Iterable[QuestionOutcome]) -> Rate:
    """Share of the questions expecting `partial` answered `partial` or `not_found` (target >= 0.80)."""
    detail = [o for o in outcomes if o.status is not None and o.expected == STATUS_PARTIAL]
    return rate(sum(1 for o in detail if o.status != STATUS_FOUND), len(detail))


def wrongly_not_found(outcomes: Iterable[QuestionOutcome]) -> Rate:
    """Share of the answerable questions answered anything but `found` (target <= 0.03)."""
    answerable = [o for o in outcomes if o.status is not None and o.expected == STATUS_FOUND]
    return rate(sum(1 for o in answerable if o.status != STATUS_FOUND), len(answerable))


def typo_rate(outcomes: Iterable[QuestionOutcome]) -> Rate:
    """Share of the typo questions whose resolved question has the intended words."""
    measured = [o for o in outcomes if o.typo_resolved is not None]
    return rate(sum(1 for o in measured if o.typo_resolved), len(measured))


@dataclass(frozen=True)
class MetricSummary:
    """Ranking means over the answerable questions of a group, and the status metrics over all.

    `statuses` counts the answer statuses returned (found / partial / not_found).
    """

    questions: int
    answerable: int
    hit_at: dict[int, float]
    mrr: float
    ndcg: float
    refusal: RefusalScores
    partial: PartialScores
    held_back: Rate
    wrongly_not_found: Rate
    typo_resolved: Rate
    statuses: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (`hit_at` keyed by "1", "3", ...)."""
        data = asdict(self)
        data["hit_at"] = {str(k): v for k, v in self.hit_at.items()}
        return data

    def metric(self, name: str) -> float | None:
        """Return one figure by its name in METRIC_NAMES (None when undefined for this group)."""
        if name not in METRIC_NAMES:
            raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")
        if name.startswith("hit_at_"):
            return self.hit_at[int(name.removeprefix("hit_at_"))]
        values: dict[str, float | None] = {
            "mrr": self.mrr,
            "ndcg": self.ndcg,
            "refusal_precision": self.refusal.precision,
            "refusal_recall": self.refusal.recall,
            "partial_precision": self.partial.precision,
            "partial_recall": self.partial.recall,
            "held_back": self.held_back.value,
            "wrongly_not_found": self.wrongly_not_found.value,
            "typo_resolved": self.typo_resolved.value,
        }
        return values[name]


# The figures a floor check may name (`MetricSummary.metric`).
METRIC_NAMES: tuple[str, ...] = (
    *(f"hit_at_{k}" for k in HIT_KS),
    "mrr",
    "ndcg",
    "refusal_precision",
    "refusal_recall",
    "partial_precision",
    "partial_recall",
    "held_back",
    "wrongly_not_found",
    "typo_resolved",
)


def summarise(outcomes: Sequence[QuestionOutcome]) -> MetricSummary:
    """Return the summary of a group of outcomes (ranking means are 0.0 when none is answerable)."""
    answerable = [o for o in outcomes if o.answerable]
    count = len(answerable)

    def mean(values: Iterable[float]) -> float:
        return sum(values) / count if count else 0.0

    statuses = dict.fromkeys(STATUSES, 0)
    for outcome in outcomes:
        if outcome.status is not None:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return MetricSummary(
        questions=len(outcomes),
        answerable=count,
        hit_at={k: mean(float(o.hits.get(k, False)) for o in answerable) for k in HIT_KS},
        mrr=mean(o.reciprocal_rank for o in answerable),
        ndcg=mean(o.ndcg for o in answerable),
        refusal=refusal_scores(outcomes),
        partial=partial_scores(outcomes),
        held_back=held_back(outcomes),
        wrongly_not_found=wrongly_not_found(outcomes),
        typo_resolved=typo_rate(outcomes),
        statuses=statuses,
    )


@dataclass(frozen=True)
class EvalReport:
    """Metrics overall and per question kind, per document and per split, and per kind and document
    within each split.

    A question answered by several documents counts in each of them (a partial question in the
    documents of its related clauses); unanswerable questions are grouped under NO_DOC.
    """

    overall: MetricSummary
    by_kind: dict[str, MetricSummary]
    by_doc: dict[str, MetricSummary]
    by_split: dict[str, MetricSummary]
    by_split_kind: dict[str, dict[str, MetricSummary]] = field(default_factory=dict)
    by_split_doc: dict[str, dict[str, MetricSummary]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""

        def groups(summaries: dict[str, MetricSummary]) -> dict[str, Any]:
            return {k: v.to_dict() for k, v in summaries.items()}

        return {
            "overall": self.overall.to_dict(),
            "by_kind": groups(self.by_kind),
            "by_doc": groups(self.by_doc),
            "by_split": groups(self.by_split),
            "by_split_kind": {split: groups(kinds) for split, kinds in self.by_split_kind.items()},
            "by_split_doc": {split: groups(docs) for split, docs in self.by_split_doc.items()},
        }


def _grouped(outcomes: Iterable[QuestionOutcome], by: str) -> dict[str, MetricSummary]:
    groups: dict[str, list[QuestionOutcome]] = defaultdict(list)
    for outcome in outcomes:
        if by == "kind":
            groups[outcome.kind].append(outcome)
        else:
            for doc_id in outcome.doc_ids or (NO_DOC,):
                groups[doc_id].append(outcome)
    return {k: summarise(v) for k, v in sorted(groups.items())}


def aggregate(outcomes: Sequence[QuestionOutcome]) -> EvalReport:
    """Return the report over all outcomes, grouped by kind, document and split (groups sorted)."""
    by_split: dict[str, list[QuestionOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_split[outcome.split].append(outcome)
    splits = sorted(by_split)
    return EvalReport(
        overall=summarise(outcomes),
        by_kind=_grouped(outcomes, "kind"),
        by_doc=_grouped(outcomes, "doc"),
        by_split={split: summarise(by_split[split]) for split in splits},
        by_split_kind={split: _grouped(by_split[split], "kind") for split in splits},
        by_split_doc={split: _grouped(by_split[split], "doc") for split in splits},
    )
