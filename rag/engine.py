"""The question-answering engine: question -> normalise -> retrieve -> fuse -> answer with provenance."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from corpus.models import KIND_HEADING, Clause, DocumentMeta
from index.build import indexed_text
from index.store import RETRIEVER_BM25, RETRIEVER_VECTOR, LoadedIndex, load_index
from rag.answerability import unmet_amount
from rag.citation import format_citation
from rag.conversation import ConversationStore, Turn
from rag.followup import resolve_follow_up
from rag.fuse import (
    CANDIDATE_MULTIPLIER,
    STRATEGY_RRF,
    load_fusion_weights,
    reciprocal_rank_fusion,
    weighted_score_fusion,
)
from rag.highlight import TokenizedSentence, best_sentences, tokenize_sentences
from rag.lookup import parse_reference, resolve_reference
from rag.models import (
    MODE_BM25,
    MODE_HYBRID,
    MODE_VECTOR,
    STATUS_FOUND,
    STATUS_NOT_FOUND,
    Answer,
    Hit,
    SearchResult,
)
from rag.normalize import RESOURCES, expand_synonyms, load_synonyms, normalize_question
from rag.places import PlaceIndex

RETRIEVER_LOOKUP = "lookup"  # beside the index's retrievers (RETRIEVER_BM25, RETRIEVER_VECTOR)
MIN_CANDIDATES = 50
CLAUSE_TOKEN_CACHE = 100_000  # token sets of clauses checked for refusal
QUERY_VECTOR_CACHE = 2048  # recent query vectors kept (oldest dropped first)
# Refusal: share of the question's (idf-weighted) content words that the best clause covers.
# Calibrated on the dev split of eval/questions.jsonl (see README, "Refusal").
DEFAULT_MIN_COVERAGE = 0.1  # dev sweep 0..0.2: at 0.1, 3/140 answerable refused wrongly, 14/19 rightly
# Words that make a sentence a question but carry no topic (resources/question_words.txt).
QUESTION_WORDS = frozenset((RESOURCES / "question_words.txt").read_text(encoding="utf-8").split())


@dataclass(frozen=True)
class EngineConfig:
    """Tunable retrieval settings (chosen on the eval set's dev split)."""

    fusion: str = STRATEGY_RRF
    weights: tuple[tuple[str, float], ...] = ((RETRIEVER_BM25, 1.0), (RETRIEVER_VECTOR, 1.0))
    min_coverage: float = DEFAULT_MIN_COVERAGE
    answer_hits: int = 3


class Engine:
    """Answers questions from a loaded index. Thread-safe for concurrent reads."""

    def __init__(
        self,
        index: LoadedIndex,
        conversations: ConversationStore | None = None,
        config: EngineConfig | None = None,
    ) -> None:
        self.index = index
        self.config = config or EngineConfig()
        self.conversations = conversations or ConversationStore()
        self.clauses: list[Clause] = list(index.clauses)
        self.documents: dict[str, DocumentMeta] = {d.id: d for d in index.documents}
        self.places = PlaceIndex.from_documents(index.documents)
        self._position = {c.id: i for i, c in enumerate(self.clauses)}
        self._doc_of = np.array([c.doc_id for c in self.clauses], dtype=object)
        # A heading with no body of its own answers nothing; it stays reachable by lookup and in the outline.
        self._answerable = np.array([c.kind != KIND_HEADING for c in self.clauses], dtype=bool)
        # idf from the BM25 index's document frequencies: nothing is re-tokenised at start-up.
        self._vocabulary = index.bm25.vocabulary
        self._doc_freq = np.diff(index.bm25.weights.indptr)
        self._clause_tokens: dict[int, frozenset[str]] = {}
        # One question is tokenised for refusal and highlighting of several hits: once is enough.
        self._content_tokens = lru_cache(maxsize=4096)(self._compute_content_tokens)
        self._clause_sentences: dict[int, tuple[TokenizedSentence, ...]] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._vectors_lock = threading.Lock()

    @classmethod
    def from_dir(cls, index_dir: Path, conversations: ConversationStore | None = None) -> Engine:
        """Load the index folder and return an engine over it."""
        index = load_index(index_dir)
        config = EngineConfig()
        weights = load_fusion_weights(index_dir, index.embed_model, index.manifest.get("corpus_checksum", ""))
        if weights is not None and RETRIEVER_VECTOR in index.retrievers:
            config = replace(config, weights=tuple(sorted(weights.items())))
        return cls(index, conversations=conversations, config=config)

    # ----------------------------------------------------------------------------------------------
    @property
    def retrievers(self) -> tuple[str, ...]:
        """Names of the live retrievers."""
        return self.index.retrievers

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
            tokens = self._content_tokens(query)
            highlights = best_sentences(self._sentences_of(self._position[clause.id]), tokens)
        return Hit(clause, doc, score, retrievers, format_citation(clause, doc), highlights)

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
            ranked = self._rank(query_text or normalized, top_k, mode, place_docs)
            hits.extend(ranked)
        return SearchResult(query, tuple(hits[:top_k]), self.retrievers)

    def ask(
        self, question: str, session_id: str | None = None, top_k: int | None = None, mode: str = MODE_HYBRID
    ) -> Answer:
        """Answer a question: the best clauses verbatim with provenance, or a plain refusal.

        `mode` restricts retrieval to one retriever (for evaluation); `top_k` overrides how many
        clauses a found answer carries.
        """
        previous = self.conversations.last_turn(session_id) if session_id else None
        normalized = normalize_question(question)
        resolved, step = resolve_follow_up(normalized, previous, self.places)
        answer = self._answer(question, resolved, step, previous, top_k or self.config.answer_hits, mode)
        if session_id:
            top = answer.hits[0].clause if answer.hits else None
            doc_id = top.doc_id if top else (previous.doc_id if previous else None)
            self.conversations.remember(
                session_id, Turn(resolved, answer.regions, doc_id, top.id if top else None)
            )
        return answer

    # ----------------------------------------------------------------------------------------------
    def _answer(
        self, question: str, resolved: str, step: int, previous: Turn | None, top_k: int, mode: str
    ) -> Answer:
        live = self.retrievers
        if step and previous and previous.clause_id:
            neighbour = self._neighbour(previous.clause_id, step)
            if neighbour is None:
                return self._not_found(question, resolved, (), live, "这已经是该文件的最后（或第一）条了。")
            hit = self.hit_for(neighbour, 1.0, (RETRIEVER_LOOKUP,), "")
            return Answer(STATUS_FOUND, question, (hit,), previous.regions, "", (), resolved, live)

        match = self.places.find(resolved)
        reference = parse_reference(resolved)
        regions = match.covered or (previous.regions if previous and reference else ())
        if reference is not None:
            default_doc = previous.doc_id if previous else None
            found = resolve_reference(
                resolved, self.clauses, list(self.documents.values()), self.places, default_doc
            )
            if found:
                hits = tuple(self.hit_for(c, 1.0, (RETRIEVER_LOOKUP,), "") for c in found[:top_k])
                return Answer(STATUS_FOUND, question, hits, tuple(regions), "", (), resolved, live)
            if reference.explicit:
                # A reference to a clause or 发文字号 we do not hold is answered plainly, never by similarity.
                message = "没有找到您引用的文件或条款，请核对文件名称、发文字号和条款编号。"
                return self._not_found(question, resolved, tuple(regions), live, message)
        if match.uncovered and not match.covered and not self._mentioned(match.uncovered):
            covered = "、".join(self._region_names())
            message = (
                f"目前收录的政策文件不涉及{'、'.join(match.uncovered)}。"
                f"本库覆盖的地区有：{covered}。您可以问这些地区的相关政策。"
            )
            return self._not_found(question, resolved, match.uncovered, live, message)

        named_docs = self.places.docs_for(match.covered)
        allowed = self._allowed_docs(None, None, include_superseded=False)
        docs = (named_docs & allowed if allowed is not None else named_docs) or allowed
        # Once named places restrict the documents, their names only favour clauses that repeat them.
        query_text = self.places.without(resolved, match.covered) if named_docs else resolved
        ranked = self._rank(query_text or resolved, top_k, mode, docs)
        coverage = max((self._coverage(resolved, h.clause) for h in ranked), default=0.0)
        if not ranked or coverage < self.config.min_coverage:
            message = "抱歉，没有在收录的政策文件中找到与您的问题直接相关的条款。"
            return self._not_found(question, resolved, tuple(regions), live, message)
        unmet = unmet_amount(resolved, [h.clause.text for h in ranked])
        if unmet is not None:
            message = f"{unmet.message}以下是相关的条款，供参考：" + "；".join(h.citation for h in ranked[:2])
            return self._not_found(question, resolved, tuple(regions), live, message)
        return Answer(STATUS_FOUND, question, tuple(ranked), tuple(regions), "", (), resolved, live)

    def _not_found(
        self, question: str, resolved: str, regions: Sequence[str], live: tuple[str, ...], message: str
    ) -> Answer:
        return Answer(
            STATUS_NOT_FOUND,
            question,
            (),
            tuple(regions),
            message,
            self._suggestions(resolved),
            resolved,
            live,
        )

    def _rank(self, query: str, top_k: int, mode: str, docs: set[str] | None) -> list[Hit]:
        expanded = expand_synonyms(query)
        mask = self._answerable if docs is None else self._answerable & np.isin(self._doc_of, list(docs))
        fetch = max(top_k * CANDIDATE_MULTIPLIER, MIN_CANDIDATES)
        rankings: dict[str, list[int]] = {}
        scored: dict[str, list[tuple[int, float]]] = {}
        # Fusion weights apply to hybrid ranking only (a single retriever ranks by its own scores); a
        # retriever calibrated to weight 0 is left out of hybrid ranking altogether.
        weights = dict(self.config.weights) if mode == MODE_HYBRID else {}
        use_bm25 = mode == MODE_BM25 or (mode == MODE_HYBRID and weights.get(RETRIEVER_BM25, 1.0) > 0)
        use_vector = mode == MODE_VECTOR or (mode == MODE_HYBRID and weights.get(RETRIEVER_VECTOR, 1.0) > 0)
        if use_bm25:
            ids, scores = self.index.bm25.top_k(self.index.tokenizer(expanded), fetch, mask=mask)
            pairs = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if s > 0]
            rankings[RETRIEVER_BM25], scored[RETRIEVER_BM25] = [i for i, _ in pairs], pairs
        if use_vector and RETRIEVER_VECTOR in self.retrievers:
            assert self.index.dense is not None and self.index.embedder is not None
            vector = self._query_vector(query)
            ids, scores = self.index.dense.search(vector, fetch, mask=mask)
            pairs = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i >= 0]
            rankings[RETRIEVER_VECTOR], scored[RETRIEVER_VECTOR] = [i for i, _ in pairs], pairs
        if self.config.fusion == STRATEGY_RRF:
            fused = reciprocal_rank_fusion(rankings, weights)
        else:
            fused = weighted_score_fusion(scored, weights)
        return [self.hit_for(self.clauses[i], s, src, query) for i, s, src in fused[:top_k]]

    def _query_vector(self, query: str) -> np.ndarray:
        # Popular questions repeat (and calibration asks each dev question once per weight setting):
        # the transformer forward pass is the slowest step, so recent query vectors are kept.
        vector = self._vectors.get(query)
        if vector is None:
            assert self.index.embedder is not None
            vector = self.index.embedder.encode_query(query)
            with self._vectors_lock:
                if len(self._vectors) >= QUERY_VECTOR_CACHE:
                    self._vectors.pop(next(iter(self._vectors)))
                self._vectors[query] = vector
        return vector

    # ----------------------------------------------------------------------------------------------
    def _allowed_docs(
        self, doc_id: str | None, region: str | None, include_superseded: bool
    ) -> set[str] | None:
        docs = set(self.documents)
        if not include_superseded:
            docs = {
                d for d in docs if self.documents[d].status != "失效" and not self.documents[d].superseded_by
            }
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

    def _mentioned(self, places: Sequence[str]) -> bool:
        # A place is mentioned when every token of its name occurs in some clause (e.g. 朝天门, 虹桥).
        return any(all(t in self._vocabulary for t in self.index.tokenizer(p)) for p in places)

    def _region_names(self) -> list[str]:
        return sorted({d.region for d in self.documents.values() if d.region})

    def _suggestions(self, question: str) -> tuple[str, ...]:
        # Close topics: the headings of the clauses that share most words with the question.
        hits = self._rank(question, 3, MODE_BM25, None) if question else []
        topics = [h.clause.path[-1] if h.clause.path else h.clause.text[:20] for h in hits]
        return tuple(dict.fromkeys(t.strip() for t in topics if t.strip()))

    # ----------------------------------------------------------------------------------------------
    def _idf(self, token: str) -> float:
        term = self._vocabulary.get(token)
        # A word no clause contains weighs as much as the rarest word that some clause does contain.
        frequency = 1 if term is None else max(int(self._doc_freq[term]), 1)
        total = max(len(self.clauses), 1)
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def _sentences_of(self, position: int) -> tuple[TokenizedSentence, ...]:
        sentences = self._clause_sentences.get(position)
        if sentences is None:  # tokenised once per clause shown, then kept
            sentences = tokenize_sentences(self.clauses[position].text, self.index.tokenizer)
            if len(self._clause_sentences) < CLAUSE_TOKEN_CACHE:
                self._clause_sentences[position] = sentences
        return sentences

    def _tokens_of(self, position: int) -> frozenset[str]:
        tokens = self._clause_tokens.get(position)
        if tokens is None:  # computed for the few clauses that reach the refusal check, then kept
            tokens = frozenset(self.index.tokenizer(indexed_text(self.clauses[position])))
            if len(self._clause_tokens) < CLAUSE_TOKEN_CACHE:
                self._clause_tokens[position] = tokens
        return tokens

    def _compute_content_tokens(self, query: str) -> frozenset[str]:
        """The query's topic words: its tokens less question words and place names."""
        return frozenset(
            t
            for t in self.index.tokenizer(query)
            if t.strip() and t not in QUESTION_WORDS and t not in self.places.alias_to_place
        )

    def _coverage(self, query: str, clause: Clause) -> float:
        """Share of the question's idf weight found in the clause (synonyms count for their words)."""
        clause_tokens = self._tokens_of(self._position[clause.id])
        tokens = self._content_tokens(query)
        if not tokens:
            return 1.0
        total = covered = 0.0
        for token in tokens:
            weight = self._idf(token)
            total += weight
            if token in clause_tokens or any(t in clause_tokens for t in self._expansions(token)):
                covered += weight
        return covered / total if total else 0.0

    @staticmethod
    @lru_cache(maxsize=8192)
    def _expansions(token: str) -> tuple[str, ...]:
        terms: list[str] = []
        for spoken, expansion in load_synonyms():
            if token in spoken or spoken in token:
                terms.extend(expansion.split())
        return tuple(terms)
