"""Synthetic corpora for the benchmark: N clauses recombining real sentences of the bundled documents.

Every peer indexes the same token lists: the real tokenizer cuts each distinct sentence once and a
clause's tokens are its sentences' tokens, so 10^6 clauses are composed in seconds; the real
tokenisation rate is measured separately (`measure_tokenize`) and scaled to N.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import timed
from corpus.sentences import SENTENCE_ENDS
from index.build import DEFAULT_CHAR_NGRAMS, harvest_terms, tokenize_texts
from index.tokenize import ChineseTokenizer

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240501
SENTENCE_SPLIT = re.compile(f"(?<=[{SENTENCE_ENDS}])")
MAX_SENTENCES = 4  # a synthetic clause has 1 to 4 sentences


@dataclass(frozen=True)
class SentencePool:
    """Distinct real sentences of the bundled clauses and their tokens."""

    sentences: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]
    tokenizer: ChineseTokenizer


def load_sentence_pool() -> SentencePool:
    """Return the sentence pool of the bundled corpus, tokenised by the index's tokenizer."""
    from corpus.load import load_corpus

    documents = load_corpus(ROOT / "corpus" / "data")
    tokenizer = ChineseTokenizer(harvest_terms([d.meta for d in documents]), char_ngrams=DEFAULT_CHAR_NGRAMS)
    seen: dict[str, None] = {}
    for document in documents:
        for clause in document.clauses:
            for sentence in SENTENCE_SPLIT.split(clause.text):
                if len(sentence.strip()) >= 6:
                    seen.setdefault(sentence.strip())
    sentences = tuple(seen)
    return SentencePool(sentences, tuple(tuple(tokenizer(s)) for s in sentences), tokenizer)


def compose_clauses(pool_size: int, n: int, seed: int) -> np.ndarray:
    """Return an (n, 4) array of sentence ids per synthetic clause, -1 padded (1 to 4 sentences each)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, pool_size, size=(n, MAX_SENTENCES))
    lengths = rng.integers(1, MAX_SENTENCES + 1, size=n)
    ids[np.arange(MAX_SENTENCES)[None, :] >= lengths[:, None]] = -1
    return ids


def clause_tokens(pool: SentencePool, composition: np.ndarray) -> list[list[str]]:
    """Return each synthetic clause's tokens: its sentences' tokens in order."""
    tokens = pool.tokens
    return [[t for s in row if s >= 0 for t in tokens[s]] for row in composition.tolist()]


def clause_texts(pool: SentencePool, composition: np.ndarray) -> list[str]:
    """Return each synthetic clause's text."""
    return ["".join(pool.sentences[s] for s in row if s >= 0) for row in composition.tolist()]


def eval_questions(count: int | None = None) -> list[str]:
    """Return the eval set's questions (cycled to `count` when given)."""
    path = ROOT / "eval" / "questions.jsonl"
    questions = [
        json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line
    ]
    if count is None:
        return questions
    return [questions[i % len(questions)] for i in range(count)]


def measure_tokenize(pool: SentencePool, sample: int, workers: int) -> dict[str, Any]:
    """Time the real tokenizer on `sample` synthetic clauses in `workers` processes; return clauses/s."""
    texts = clause_texts(pool, compose_clauses(len(pool.sentences), sample, SEED - 1))
    seconds, _ = timed(lambda: tokenize_texts(pool.tokenizer, texts, workers=workers))
    return {"clauses_per_s": len(texts) / seconds, "measured_on": len(texts), "workers": workers}


def query_tokens(pool: SentencePool, questions: Sequence[str]) -> list[list[str]]:
    """Return the tokens of each question, as the engine sends them to BM25 (synonyms expanded)."""
    from rag.normalize import expand_synonyms

    return [pool.tokenizer(expand_synonyms(q)) for q in questions]
