"""The question-answering engine: it orchestrates the stages and holds their state.

question -> normalise (rag/normalize.py) -> typos (rag/typos.py) -> follow-up context (rag/followup.py)
         -> clause reference? lookup (rag/lookup.py) -> places restrict the documents (rag/places.py)
         -> retrieve + fuse (rag/retrieve.py, rag/fuse.py) -> re-rank (rag/rerank.py)
         -> assess each clause: topic coverage, similarity, the asked detail (rag/assess.py over
            rag/features.py, rag/coverage.py, rag/detail.py)
         -> decide found / partial / not_found (rag/answer.py)
         -> answering sentences (rag/sentences.py), messages and suggestions (rag/messages.py)

The settings an index was calibrated for come from rag/calibration.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from corpus.models import KIND_HEADING, Clause, DocumentMeta
from index.store import RETRIEVER_BM25, RETRIEVER_VECTOR, LoadedIndex, load_index
from rag import messages
from rag.answer import AnswerPolicy, Decision, Draft, decide
from rag.assess import assess_candidates
from rag.calibration import calibrated_settings
from rag.citation import format_citation
from rag.conversation import ConversationStore, Turn
from rag.coverage import CoverageScorer, TermStats
from rag.detail import DETAIL_TYPES, DetailType, asked_detail
from rag.features import ClauseFeatures
from rag.followup import resolve_follow_up
from rag.lookup import parse_reference, resolve_reference
from rag.models import (
    MODE_BM25,
    MODE_HYBRID,
    REWRITE_FOLLOW_UP,
    REWRITE_PLACE,
    REWRITE_TYPO,
    ROLE_ANSWER,
    ROLE_RELATED,
    STATUS_FOUND,
    STATUS_NOT_FOUND,
    STATUS_PARTIAL,
    Answer,
    Correction,
    Detail,
    Hit,
    SearchResult,
)
from rag.normalize import normalize_question, to_standard_mandarin
from rag.places import PlaceIndex
from rag.rerank import Ranker, RerankFeatures
from rag.retrieve import Candidate, FusionConfig, Retriever
from rag.sentences import answering_sentences, highlight_sentences
from rag.typos import TypoCorrector

RETRIEVER_LOOKUP = "lookup"  # beside the index's retrievers (RETRIEVER_BM25, RETRIEVER_VECTOR)
ANSWER_HITS = 3  # clauses a found answer carries

__all__ = ["RETRIEVER_BM25", "RETRIEVER_LOOKUP", "RETRIEVER_VECTOR", "Engine"]


class Engine:
    """Answers questions from a loaded index. Thread-safe for concurrent reads."""

    def __init__(
        self,
        index: LoadedIndex,
        conversations: ConversationStore | None = None,
        *,
        fusion: FusionConfig | None = None,
        policy: AnswerPolicy | None = None,
    ) -> None:
        self.index = index
        self.conversations = conversations or ConversationStore()
        self.policy = policy or AnswerPolicy()
        self.retriever = Retriever(index, fusion)
        self.clauses: list[Clause] = list(index.clauses)
        self.documents: dict[str, DocumentMeta] = {d.id: d for d in index.documents}
        self.places = PlaceIndex.from_documents(index.documents)
        self._position = {c.id: i for i, c in enumerate(self.clauses)}
        self._doc_of = np.array([c.doc_id for c in self.clauses], dtype=object)
        # A heading with no body of its own answers nothing; it stays reachable by lookup and in the outline.
        self._answerable = np.array([c.kind != KIND_HEADING for c in self.clauses], dtype=bool)
        stats = TermStats(index.bm25.vocabulary, np.diff(index.bm25.weights.indptr), len(self.clauses))
        dictionary = index.tokenizer.dictionary
        self.coverage = CoverageScorer(
            index.tokenizer.words,
            stats,
            self.places.alias_to_place,
            is_word=lambda word: dictionary.get(word, 0) > 0,
        )
        self.features = ClauseFeatures(self.clauses, index.tokenizer, index.bm25.vocabulary, self.coverage)
        self.ranker = Ranker(self.retriever, self.features)
        self.typos: TypoCorrector | None = TypoCorrector.from_index(index)
        self.detail_types: tuple[DetailType, ...] = DETAIL_TYPES

    @classmethod
    def from_dir(
        cls,
        index_dir: Path,
        conversations: ConversationStore | None = None,
        *,
        expected_model: str | None = None,
        embed_threads: int | None = None,
    ) -> Engine:
        """Load the index folder and return an engine over it, with the settings calibrated for it.

        `expected_model` (the configured POLICYQA_EMBED_MODEL) refuses an index whose vectors another
        model made; `embed_threads` caps the query encoder's threads.
        """
        index = load_index(index_dir, expected_model=expected_model, embed_threads=embed_threads)
        fusion, policy = calibrated_settings(index)
        return cls(index, conversations=conversations, fusion=fusion, policy=policy)

    def with_settings(
        self,
        *,
        fusion: FusionConfig | None = None,
        policy: AnswerPolicy | None = None,
        detail_types: Sequence[DetailType] | None = None,
        correct_typos: bool | None = None,
        sentence_vectors: bool | None = None,
    ) -> Engine:
        """Return an engine over the same index and caches with other settings: fusion, answer thresholds,
        the detail types the answer step knows (none: it never answers `partial`), typo correction on/off,
        sentence vectors off (clauses matched by their own vectors only: index/sentences.py).
        Calibration and `policyqa eval --ablation` use it; this engine is left unchanged."""
        other = Engine.__new__(Engine)
        other.__dict__.update(self.__dict__)
        other.policy = policy or self.policy
        if detail_types is not None:
            other.detail_types = tuple(detail_types)
        if correct_typos is not None:
            other.typos = TypoCorrector.from_index(self.index) if correct_typos else None
        if sentence_vectors is False:
            other.index = replace(self.index, sentences=None)
            fusion = fusion or self.fusion
        if fusion is not None:
            other.retriever = Retriever(other.index, fusion, shared_cache=self.retriever)
            other.ranker = Ranker(other.retriever, self.features)
        return other

    # ----------------------------------------------------------------------------------------------
    @property
    def retrievers(self) -> tuple[str, ...]:
        """Names of the live retrievers."""
        return self.retriever.retrievers

    @property
    def fusion(self) -> FusionConfig:
        """The fusion settings in use."""
        return self.retriever.fusion

    def clause(self, clause_id: str) -> Clause | None:
        """Return the clause with this id, or None."""
        position = self._position.get(clause_id)
        return None if position is None else self.clauses[position]

    def hit_for(
        self, clause: Clause, score: float = 1.0, retrievers: tuple[str, ...] = (), query: str = ""
    ) -> Hit:
        """Wrap a clause as a Hit with its document, citation and highlights."""
        doc = self.documents[clause.doc_id]
        highlights: tuple[str, ...] = ()
        if query:
            position = self._position[clause.id]
            highlights = highlight_sentences(
                self.features.sentences(position), self.features.query_tokens(query)
            )
        return Hit(
            clause=clause,
            doc=doc,
            score=score,
            retrievers=retrievers,
            citation=format_citation(clause, doc),
            highlights=highlights,
        )

    # ----------------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int = 5,
        mode: str = MODE_HYBRID,
        doc_id: str | None = None,
        region: str | None = None,
        include_superseded: bool = True,
    ) -> SearchResult:
        """Rank clauses for `query` (clause references resolve by lookup first)."""
        normalized = normalize_question(query)
        allowed = self._allowed_docs(doc_id, region, include_superseded)
        referenced = [
            c
            for c in resolve_reference(normalized, self.clauses, list(self.documents.values()), self.places)
            if allowed is None or c.doc_id in allowed
        ]
        hits = [self.hit_for(c, 1.0, (RETRIEVER_LOOKUP,), normalized) for c in referenced[:top_k]]
        if len(hits) < top_k and not referenced:
            covered = self.places.find(normalized).covered
            named = self.places.docs_for(covered)
            place_docs = (named & allowed if allowed is not None else named) or allowed
            query_text = self.places.without(normalized, covered) if named else normalized
            candidates = self._rank(query_text or normalized, top_k, mode, place_docs)
            hits.extend(
                self.hit_for(self.clauses[c.position], c.score, c.retrievers, query_text) for c in candidates
            )
        return SearchResult(query, tuple(hits[:top_k]), self.retrievers)

    def ask(
        self, question: str, session_id: str | None = None, top_k: int | None = None, mode: str = MODE_HYBRID
    ) -> Answer:
        """Answer a question: the clauses that state what was asked, verbatim with provenance; related
        clauses and a plain sentence when the documents do not state the detail; or a plain refusal.

        `mode` restricts retrieval to one retriever (for evaluation); `top_k` overrides how many
        clauses an answer carries (the decision itself always looks at the same few best clauses).
        """
        previous = self.conversations.last_turn(session_id) if session_id else None
        draft = self.draft(question, previous, top_k, mode)
        answer = draft if isinstance(draft, Answer) else self.finish(draft, self.policy)
        if session_id:
            top = answer.hits[0].clause if answer.hits else None
            doc_id = top.doc_id if top else (previous.doc_id if previous else None)
            self.conversations.remember(
                session_id,
                Turn(answer.resolved_question, answer.regions, doc_id, top.id if top else None),
            )
        return answer

    def draft(
        self, question: str, previous: Turn | None = None, top_k: int | None = None, mode: str = MODE_HYBRID
    ) -> Answer | Draft:
        """Return the answer when no decision is needed (a lookup, a refusal for an uncovered place ...),
        else the `Draft` the answer step decides on (`finish`); calibration decides drafts many times."""
        normalized = normalize_question(question)
        text, corrections = normalized, tuple[Correction, ...]()
        if self.typos is not None:
            corrected = self.typos.correct(normalized)
            text, corrections = corrected.text, corrected.corrections
        resolved, step = resolve_follow_up(text, previous, self.places)
        rewrites = [REWRITE_TYPO] if corrections else []
        if resolved != text:
            carried = previous is not None and any(resolved.startswith(f"{r} ") for r in previous.regions)
            rewrites.append(REWRITE_PLACE if carried and not step else REWRITE_FOLLOW_UP)
        base = Answer(
            status=STATUS_FOUND,
            question=question,
            hits=(),
            regions=(),
            message="",
            resolved_question=resolved,
            retrievers=self.retrievers,
            corrections=corrections,
            rewrites=tuple(rewrites),
        )
        return self._draft(base, step, previous, top_k or ANSWER_HITS, mode)

    # ----------------------------------------------------------------------------------------------
    def _draft(self, base: Answer, step: int, previous: Turn | None, top_k: int, mode: str) -> Answer | Draft:
        resolved = base.resolved_question
        if step and previous and previous.clause_id:
            neighbour = self._neighbour(previous.clause_id, step)
            if neighbour is None:
                return replace(base, status=STATUS_NOT_FOUND, message=messages.END_OF_DOCUMENT)
            hit = self._answer_hit(neighbour, 1.0, (RETRIEVER_LOOKUP,), "", None)
            return replace(base, hits=(hit,), regions=previous.regions)

        match = self.places.find(resolved)
        reference = parse_reference(resolved)
        regions = match.covered or (previous.regions if previous and reference else ())
        base = replace(base, regions=tuple(regions))
        if reference is not None:
            default_doc = previous.doc_id if previous else None
            found = resolve_reference(
                resolved, self.clauses, list(self.documents.values()), self.places, default_doc
            )
            if found:
                hits = tuple(self._answer_hit(c, 1.0, (RETRIEVER_LOOKUP,), "", None) for c in found[:top_k])
                return replace(base, hits=hits)
            if reference.explicit:
                # A reference to a clause or 发文字号 we do not hold is answered plainly, never by similarity.
                return replace(base, status=STATUS_NOT_FOUND, message=messages.BAD_REFERENCE)
        unmentioned = tuple(p for p in match.uncovered if not self._mentioned(p))
        if unmentioned and not match.covered:
            message = messages.uncovered_place_message(unmentioned, self._region_names())
            return replace(base, status=STATUS_NOT_FOUND, regions=unmentioned, message=message)
        if match.inside:  # a found answer says whose plan it quotes; partial and not_found say their own
            base = replace(base, message=messages.inside_region_message(match.inside))

        named_docs = self.places.docs_for(match.covered)
        allowed = self._allowed_docs(None, None, include_superseded=False)
        docs = (named_docs & allowed if allowed is not None else named_docs) or allowed
        # Once named places restrict the documents, their names only favour clauses that repeat them.
        query_text = (self.places.without(resolved, match.covered) if named_docs else resolved) or resolved
        query_text = to_standard_mandarin(query_text)
        depth = max(top_k, self.policy.decision_depth)
        candidates = self._rank(query_text, depth, mode, docs)
        # Asked in dialect too (一个月收好多钱, 收几钿): read in standard Mandarin.
        detail = asked_detail(to_standard_mandarin(resolved), self.detail_types)
        # The words that ask for the detail (多少钱, 怎么申请) are not the topic the clauses must cover.
        words = self.coverage.topic_words(detail.without_asking(query_text) if detail else query_text)
        head = [c.position for c in candidates[: self.policy.decision_depth]]
        similarities = self.retriever.similarities(query_text, head) if mode != MODE_BM25 else None
        assessed = assess_candidates(
            self.features, words, candidates, similarities, detail, self.policy.decision_depth, resolved
        )
        return Draft(
            base=base,
            query=query_text,
            words=tuple(words),
            candidates=tuple(candidates),
            assessed=tuple(assessed),
            detail=detail,
            top_k=top_k,
        )

    def finish(self, draft: Draft, policy: AnswerPolicy) -> Answer:
        """Decide a draft under `policy` and return the answer."""
        base, query_text, words, candidates = draft.base, draft.query, draft.words, draft.candidates
        decision = decide(draft.assessed, draft.detail, policy)
        if decision.status == STATUS_NOT_FOUND:
            nearby = [self.clauses[c.position] for c in candidates[:3]]
            suggestions = messages.suggestions_for(nearby, self.documents, exclude=base.resolved_question)
            return replace(base, status=STATUS_NOT_FOUND, message=messages.NOT_FOUND, suggestions=suggestions)
        by_position = {c.position: c for c in candidates}
        ordered = [by_position[p] for p in decision.order][: draft.top_k]
        if decision.status == STATUS_PARTIAL:
            return self._partial(base, query_text, words, ordered, decision)
        hits = tuple(
            self._answer_hit(self.clauses[c.position], c.score, c.retrievers, query_text, draft.detail, words)
            for c in ordered
        )
        return replace(base, hits=hits)

    def _partial(
        self, base: Answer, query: str, words: Sequence[str], ordered: Sequence[Candidate], decision: Decision
    ) -> Answer:
        clauses = [self.clauses[c.position] for c in ordered]
        hits = tuple(
            replace(self.hit_for(clause, c.score, c.retrievers, query), role=ROLE_RELATED)
            for clause, c in zip(clauses, ordered, strict=True)
        )
        detail = decision.detail
        message = messages.NOT_FOUND
        if detail is not None:
            related_tokens = frozenset().union(*(self.features.tokens(c.position) for c in ordered[:3]))
            issuer = self.documents[clauses[0].doc_id].issuer or "" if clauses else ""
            asked = detail.without_asking(query)
            related_text = " ".join(self.features.text(c.position) for c in ordered[:3])
            message = messages.partial_answer_message(
                detail, asked, base.resolved_question, self.coverage, related_tokens, issuer, related_text
            )
        return replace(
            base,
            status=STATUS_PARTIAL,
            hits=hits,
            message=message,
            detail=Detail(type=detail.name, label=detail.label) if detail is not None else None,
            suggestions=messages.suggestions_for(clauses, self.documents, exclude=base.resolved_question),
        )

    def _answer_hit(
        self,
        clause: Clause,
        score: float,
        retrievers: tuple[str, ...],
        query: str,
        detail: DetailType | None,
        words: Sequence[str] = (),
    ) -> Hit:
        hit = self.hit_for(clause, score, retrievers, query)
        if not words:  # a lookup or "下一条": the whole clause is what was asked for
            return hit
        position = self._position[clause.id]
        sentences = self.features.sentences(position)
        spans = answering_sentences(clause, sentences, words, self.coverage.weight, detail)
        return replace(hit, answer_sentences=spans, role=ROLE_ANSWER)

    def _rank(self, query: str, top_k: int, mode: str, docs: set[str] | None) -> list[Candidate]:
        mask = self._answerable if docs is None else self._answerable & np.isin(self._doc_of, list(docs))
        return self.ranker.rank(query, top_k, mode, mask)

    def rerank_features(
        self, query: str, candidates: Sequence[Candidate], mode: str = MODE_HYBRID
    ) -> RerankFeatures:
        """Return what re-ranking reads of each candidate (rag/rerank.py)."""
        return self.ranker.rerank_features(query, candidates, mode)

    # ----------------------------------------------------------------------------------------------
    def _allowed_docs(
        self, doc_id: str | None, region: str | None, include_superseded: bool
    ) -> set[str] | None:
        docs = set(self.documents)
        if not include_superseded:
            docs = {d for d in docs if self.documents[d].in_force}
        if doc_id:
            docs &= {doc_id}
        if region:
            docs &= self.places.docs_for(self.places.find(region).covered or (region,))
        return None if docs == set(self.documents) else docs

    def _neighbour(self, clause_id: str, step: int) -> Clause | None:
        position = self._position.get(clause_id)
        if position is None:
            return None
        target = position + step
        if 0 <= target < len(self.clauses) and self.clauses[target].doc_id == self.clauses[position].doc_id:
            return self.clauses[target]
        return None

    def _mentioned(self, place: str) -> bool:
        # A place is mentioned when every token of its name occurs in some clause (e.g. 朝天门, 虹桥).
        vocabulary = self.index.bm25.vocabulary
        return all(t in vocabulary for t in self.index.tokenizer(place))

    def _region_names(self) -> list[str]:
        return sorted({d.region for d in self.documents.values() if d.region})
