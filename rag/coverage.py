"""How much of a question the clauses cover: the question's topic words weighted by idf.

A topic word is a jieba word of the question that is not a question word ("怎么", "有没有") or a place
name (places restrict the documents instead). Its weight is its idf over the indexed clauses, so rare,
specific words (宝宝屋, 孤独症) count for more than common ones (儿童, 建设). A word counts as covered by
a clause when the clause contains it, or one of the document terms the thesaurus gives for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.tokenize import normalize_text
from rag.normalize import RESOURCES, load_synonyms

_NUMBER = re.compile(r"[\d.%]+")
# Words that make a sentence a question but carry no topic (resources/question_words.txt).
QUESTION_WORDS = frozenset((RESOURCES / "question_words.txt").read_text(encoding="utf-8").split())


@lru_cache(maxsize=8192)
def expansions(word: str) -> tuple[str, ...]:
    """Return the document terms the thesaurus gives for a colloquial word (看娃 -> 托育 ...)."""
    terms: list[str] = []
    for spoken, expansion in load_synonyms():
        # A single character is part of too many entries (建 of 建议 is not 意见): only whole entries.
        if spoken in word or (len(word) > 1 and word in spoken):
            # In the form the clause tokens have (NFKC, lower case: AED is the token aed).
            terms.extend(normalize_text(t) for t in expansion.split())
    return tuple(terms)


@dataclass(frozen=True)
class TermStats:
    """Document frequencies of the indexed terms, for idf weights."""

    vocabulary: Mapping[str, int]  # term -> column of the BM25 matrix
    doc_freq: np.ndarray  # documents (clauses) containing each term
    n_docs: int

    def frequency(self, term: str) -> int:
        """Return how many clauses contain `term` (0 for a term no clause contains)."""
        column = self.vocabulary.get(term)
        return 0 if column is None else int(self.doc_freq[column])

    def idf(self, term: str) -> float:
        """BM25-style idf; a term no clause contains weighs as much as the rarest term that some does."""
        frequency = max(self.frequency(term), 1)
        total = max(self.n_docs, 1)
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def known(self, term: str) -> bool:
        """True when some clause contains `term` or a thesaurus term for it."""
        return self.frequency(term) > 0 or any(self.frequency(t) > 0 for t in expansions(term))


class CoverageScorer:
    """Topic words of questions and the share of their weight that a text covers."""

    def __init__(
        self,
        words: Callable[[str], list[str]],
        stats: TermStats,
        place_names: Collection[str] = (),
        is_word: Callable[[str], bool] = lambda word: True,
    ) -> None:
        self._words = words
        self._is_word = is_word
        self.stats = stats
        self._place_names = frozenset(place_names)
        self.topic_words = lru_cache(maxsize=4096)(self._topic_words)

    def _topic_words(self, question: str) -> tuple[str, ...]:
        """The question's topic words in order, without repeats."""
        kept = (
            w
            for w in self._words(question)
            if w.strip()
            and w not in QUESTION_WORDS
            and w not in self._place_names
            and not _NUMBER.fullmatch(w)  # 15, 2025, 10所 is a number, not a topic
        )
        return tuple(dict.fromkeys(kept))

    def weight(self, word: str) -> float:
        """The idf weight of a topic word; a colloquial word no clause contains weighs as much as the
        document term the thesaurus gives for it (小孩 as 儿童), an unknown word as the rarest term."""
        if self.stats.frequency(word) == 0:
            known = [self.stats.idf(t) for t in expansions(word) if self.stats.frequency(t) > 0]
            if known:
                return max(known)
        return self.stats.idf(word)

    def coverage(self, words: Iterable[str], tokens: Collection[str], text: str = "") -> float:
        """Share of the words' idf weight found in `tokens` (a thesaurus term counts for its word).

        A piece jieba cut that is no dictionary word (口托 out of 每千人口托位数) counts when it occurs in
        `text` (normalised like the tokens); a real word must be a token (护照 is not in 保护照料).
        1.0 when there are no topic words at all (a question made only of question words restricts
        nothing, and is judged by retrieval alone).
        """
        total = covered = 0.0
        for word in words:
            weight = self.weight(word)
            total += weight
            if covers(tokens, word) or (text and len(word) > 1 and not self._is_word(word) and word in text):
                covered += weight
        return covered / total if total else 1.0


def covers(tokens: Collection[str], word: str) -> bool:
    """True when `tokens` contain the word or one of its thesaurus terms."""
    return word in tokens or any(t in tokens for t in expansions(word))
