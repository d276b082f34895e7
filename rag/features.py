"""What the answer step reads of each clause: its words, its sentences, the words of the headings above it,
its normalised text and how much of a question's topic it covers.

Computed on first use for the few clauses that reach the answer step, then kept (up to `CLAUSE_CACHE`
clauses), and shared by the engines over one index (calibration makes many).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from corpus.models import KIND_INDICATOR, Clause
from index.build import indexed_text
from index.tokenize import ChineseTokenizer, normalize_text
from rag.coverage import CoverageScorer
from rag.sentences import Sentence, is_heading_sentence, split_sentences

CLAUSE_CACHE = 100_000  # clauses whose features are kept


class ClauseFeatures:
    """Per-clause features of one index, by clause position. Thread-safe for concurrent reads."""

    def __init__(
        self,
        clauses: Sequence[Clause],
        tokenizer: ChineseTokenizer,
        vocabulary: dict[str, int],
        coverage: CoverageScorer,
    ) -> None:
        self.clauses = clauses
        self.coverage = coverage
        self._tokenizer = tokenizer
        self._vocabulary = vocabulary
        self._tokens: dict[int, frozenset[str]] = {}
        self._sentences: dict[int, tuple[Sentence, ...]] = {}
        self._heading_tokens: dict[int, frozenset[str]] = {}
        self._texts: dict[int, str] = {}
        self._lock = threading.Lock()

    def tokens(self, position: int) -> frozenset[str]:
        """The words of the clause as indexed (section path and text), with the words inside longer ones."""
        tokens = self._tokens.get(position)
        if tokens is None:
            # Words, not character pairs: 护照 must not be "covered" by 保护照料.
            text = indexed_text(self.clauses[position])
            tokens = frozenset(self._tokenizer.words(text, subwords=True))
            self._remember(self._tokens, position, tokens)
        return tokens

    def sentences(self, position: int) -> tuple[Sentence, ...]:
        """The sentences of the clause text, with their offsets and words."""
        sentences = self._sentences.get(position)
        if sentences is None:
            sentences = split_sentences(self.clauses[position].text, self.sentence_words)
            self._remember(self._sentences, position, sentences)
        return sentences

    def heading_tokens(self, position: int) -> frozenset[str]:
        """Words of the section heading above the clause and of the clause's own heading sentence."""
        tokens = self._heading_tokens.get(position)
        if tokens is None:
            clause = self.clauses[position]
            tokens = frozenset(self.sentence_words(clause.path[-1])) if clause.path else frozenset()
            sentences = self.sentences(position)
            if sentences and is_heading_sentence(clause, sentences[0]):
                tokens |= sentences[0].tokens
            self._remember(self._heading_tokens, position, tokens)
        return tokens

    def text(self, position: int) -> str:
        """The clause as indexed (section path and text), normalised as its words are."""
        text = self._texts.get(position)
        if text is None:
            text = normalize_text(indexed_text(self.clauses[position]))
            self._remember(self._texts, position, text)
        return text

    def topic_coverage(self, words: Sequence[str], position: int) -> float:
        """Share of the topic words' weight the clause covers (rag/coverage.py)."""
        return self.coverage.coverage(words, self.tokens(position), self.text(position))

    def sentence_coverage(
        self, words: Sequence[str], position: int, counts: Callable[[str], bool] | None = None
    ) -> float:
        """Share of the topic words' weight the clause's best single sentence covers, with the headings
        above it: the question's words found together, not scattered over a long clause. Only sentences
        whose text `counts` accepts take part (all when None; 0.0 when none does). A table row is one
        record: its coverage, its cells counted together."""
        clause = self.clauses[position]
        if clause.kind == KIND_INDICATOR:
            return self.topic_coverage(words, position) if counts is None or counts(clause.text) else 0.0
        heading = self.heading_tokens(position)
        best = 0.0
        for sentence in self.sentences(position):
            if counts is None or counts(sentence.text):
                text = normalize_text(sentence.text)
                best = max(best, self.coverage.coverage(words, sentence.tokens | heading, text))
        return best

    def query_tokens(self, query: str) -> frozenset[str]:
        """The query's topic words and its indexed terms of two characters or more (for highlighting)."""
        return frozenset(self.coverage.topic_words(query)) | frozenset(
            t for t in self._tokenizer(query) if t in self._vocabulary and len(t) > 1
        )

    def sentence_words(self, text: str) -> list[str]:
        """The words of a piece of clause text, with the words inside longer ones."""
        return self._tokenizer.words(text, subwords=True)

    def _remember(self, store: dict[int, Any], position: int, value: Any) -> None:
        if len(store) < CLAUSE_CACHE:
            with self._lock:
                store[position] = value
