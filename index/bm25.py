"""BM25 (Okapi, rank_bm25-compatible) over a sparse term->document weight matrix.

Every per-(term, document) BM25 weight is computed once at build time and stored in a CSC matrix of
shape (documents, terms). Scoring a query is then a sum of a few sparse columns: the cost depends on
how many documents contain the query terms, not on the corpus size times the query length as in
rank_bm25, which loops over every document in Python. Model: xhluca/bm25s (eager sparse scoring).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

BM25_ARRAYS_FILE = "bm25.npz"
BM25_META_FILE = "bm25.json"
BM25_FORMAT_VERSION = 1

# Queries whose terms have fewer postings than this are scored exhaustively (it is already cheap);
# above it, top_k first tries to prove the answer from the documents of the rarer terms alone.
PRUNE_MIN_POSTINGS = 100_000
# Slack for float32 rounding when comparing a k-th score against an upper bound.
_BOUND_SLACK = 1e-5

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25


@dataclass(frozen=True)
class BM25Params:
    """Okapi BM25's parameters (rank_bm25's defaults)."""

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    epsilon: float = DEFAULT_EPSILON


def okapi_idf(document_frequency: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """Return rank_bm25 BM25Okapi's idf per term: log((N - df + 0.5) / (df + 0.5)).

    Like BM25Okapi, a term in more than half of the documents (negative idf) gets the floor
    `epsilon * mean(idf)`, the mean being taken over all terms before flooring.
    """
    df = document_frequency.astype(np.float64)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    if idf.size:
        floor = epsilon * float(idf.mean())
        idf[idf < 0] = floor
    return idf


def _best(candidates: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the k best (candidate, score) pairs, best first, ties by candidate index."""
    if k <= 0 or candidates.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if candidates.size > k:
        best = np.argpartition(scores, candidates.size - k)[candidates.size - k :]
        # Keep everything tied with the k-th score so the tie-break below sees all of them.
        keep = scores >= scores[best].min()
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:k]
    return candidates[order].astype(np.int64), scores[order]


class BM25Index:
    """A built BM25 index: vocabulary, per-term weight columns, and the parameters used."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        weights: sp.csc_matrix,
        doc_lengths: np.ndarray,
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        epsilon: float = DEFAULT_EPSILON,
    ) -> None:
        if weights.shape != (len(doc_lengths), len(vocabulary)):
            raise ValueError(
                f"weights shape {weights.shape} does not match {len(doc_lengths)} documents "
                f"x {len(vocabulary)} terms"
            )
        self.vocabulary = vocabulary
        self.weights = weights
        self.weights.sort_indices()  # top_k binary-searches the documents of a term
        self.doc_lengths = doc_lengths
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        # The largest weight of each term: an upper bound on what it adds to any document's score.
        lengths = np.diff(weights.indptr)
        self.max_weight = np.zeros(len(vocabulary), dtype=np.float64)
        if weights.nnz:
            present = lengths > 0
            self.max_weight[present] = np.maximum.reduceat(weights.data, weights.indptr[:-1][present])

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        epsilon: float = DEFAULT_EPSILON,
    ) -> BM25Index:
        """Return the index of `token_lists` (one list of terms per document, in document order)."""
        vocabulary: dict[str, int] = {}
        term_ids = array("i")  # per document, its distinct term ids ...
        term_freqs = array("f")  # ... and how often each occurs
        row_ends = array("q", [0])
        lengths = array("q")
        for tokens in token_lists:
            # Term ids in order of first appearance: the same corpus always gives the same ids.
            counts = Counter([vocabulary.setdefault(t, len(vocabulary)) for t in tokens])
            term_ids.extend(counts.keys())
            term_freqs.extend(counts.values())
            row_ends.append(len(term_ids))
            lengths.append(len(tokens))
        doc_lengths = np.array(lengths, dtype=np.int64)
        n_docs, n_terms = len(doc_lengths), len(vocabulary)
        tf = sp.csr_matrix(
            (
                np.frombuffer(term_freqs, dtype=np.float32),
                np.frombuffer(term_ids, dtype=np.int32),
                np.frombuffer(row_ends, dtype=np.int64),
            ),
            shape=(n_docs, n_terms),
        ).tocsc()
        tf.sort_indices()

        document_frequency = np.diff(tf.indptr)
        idf = okapi_idf(document_frequency, n_docs, epsilon)
        avgdl = float(doc_lengths.mean()) if n_docs and doc_lengths.sum() else 1.0
        term_of_entry = np.repeat(np.arange(n_terms), document_frequency)
        length_of_entry = doc_lengths[tf.indices]
        freq = tf.data.astype(np.float64)
        norm = k1 * (1.0 - b + b * length_of_entry / avgdl)
        data = idf[term_of_entry] * (freq * (k1 + 1.0)) / (freq + norm)
        weights = sp.csc_matrix(
            (data.astype(np.float32), tf.indices.astype(np.int32), tf.indptr.astype(np.int64)),
            shape=(n_docs, n_terms),
        )
        return cls(vocabulary, weights, doc_lengths, k1=k1, b=b, epsilon=epsilon)

    @property
    def params(self) -> BM25Params:
        """The parameters the weights were computed with."""
        return BM25Params(self.k1, self.b, self.epsilon)

    @property
    def n_docs(self) -> int:
        """Number of indexed documents (clauses)."""
        return int(self.weights.shape[0])

    def _query_terms(self, query_tokens: Iterable[str]) -> list[tuple[int, int]]:
        # A repeated query term counts once per occurrence, as in BM25Okapi.get_scores.
        counts: dict[int, int] = {}
        for token in query_tokens:
            term = self.vocabulary.get(token)
            if term is not None:
                counts[term] = counts.get(term, 0) + 1
        return sorted(counts.items())

    def scores(self, query_tokens: Iterable[str]) -> np.ndarray:
        """Return the BM25 score of every document for the query terms (float32, length n_docs)."""
        scores = np.zeros(self.n_docs, dtype=np.float32)
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        for term, count in self._query_terms(query_tokens):
            start, end = indptr[term], indptr[term + 1]
            # Row indices within one column are unique, so fancy-index += adds once per document.
            # float32 throughout: at a million clauses a float64 pass costs more than the sum itself.
            if count == 1:
                scores[indices[start:end]] += data[start:end]
            else:
                scores[indices[start:end]] += count * data[start:end]
        return scores

    def top_k(
        self, query_tokens: Iterable[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (document indices, scores) of the best `k` documents, best first.

        Only documents with a non-zero score (in practice: containing a query term) are returned,
        so possibly fewer than k; `mask`, a boolean array over documents, restricts the candidates
        to its True entries. Ties are broken by document index so results are deterministic.
        The result is always that of scoring every document; for queries with common terms it is
        usually found without doing so (see `_top_k_pruned`).
        """
        if mask is not None:
            if mask.shape != (self.n_docs,):
                raise ValueError(f"mask has shape {mask.shape}, expected ({self.n_docs},)")
            mask = mask.astype(bool, copy=False)
        tokens = list(query_tokens)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        terms = self._query_terms(tokens)
        postings = int(sum(self.weights.indptr[t + 1] - self.weights.indptr[t] for t, _ in terms))
        if postings >= PRUNE_MIN_POSTINGS:
            pruned = self._top_k_pruned(terms, k, mask, work_budget=postings // 4)
            if pruned is not None:
                return pruned
        scores = self.scores(tokens)
        candidates_mask = scores != 0
        if mask is not None:
            candidates_mask &= mask
        candidates = np.flatnonzero(candidates_mask)
        return _best(candidates, scores[candidates], k)

    def _top_k_pruned(
        self, terms: list[tuple[int, int]], k: int, mask: np.ndarray | None, work_budget: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """MaxScore-style top k: score only the documents of the rarest terms, if that is provably enough.

        With the terms ordered rarest first, the documents that contain none of the first `split`
        terms score at most the sum of the other terms' maximum weights. Once the k-th best full
        score among the documents of the first `split` terms beats that bound, no other document
        can enter the top k. Returns None when no split proves it within `work_budget` (in postings
        touched, a fraction of what exhaustive scoring costs); the caller then scores everything.
        """
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        if any(self.max_weight[t] <= 0 for t, _ in terms):
            return None  # a floored idf below zero breaks the bound; rare, tiny corpora only
        by_rarity = sorted(terms, key=lambda tc: (indptr[tc[0] + 1] - indptr[tc[0]], tc[0]))
        bounds = [count * self.max_weight[term] for term, count in by_rarity]
        spent = 0
        for split in range(1, len(by_rarity)):
            rest_bound = float(sum(bounds[split:]))
            parts = [indices[indptr[t] : indptr[t + 1]] for t, _ in by_rarity[:split]]
            # Gathering the candidates, then one binary search per candidate and query term.
            spent += sum(len(p) for p in parts) * (1 + 4 * len(terms))
            if spent > work_budget:
                return None
            candidates = np.unique(np.concatenate(parts))
            if mask is not None:
                candidates = candidates[mask[candidates]]
            if candidates.size < k:
                continue
            # Full scores of the candidates, adding terms in the same order as `scores()` so the
            # float32 sums are bit-identical to exhaustive scoring.
            candidate_scores = np.zeros(candidates.size, dtype=np.float32)
            for term, count in terms:
                column = indices[indptr[term] : indptr[term + 1]]
                position = np.searchsorted(column, candidates)
                position[position == column.size] = 0
                present = column[position] == candidates
                weight = data[indptr[term] + position[present]]
                candidate_scores[present] += weight if count == 1 else count * weight
            kth = np.partition(candidate_scores, candidates.size - k)[candidates.size - k]
            if kth > rest_bound * (1 + _BOUND_SLACK) + _BOUND_SLACK:
                nonzero = candidate_scores != 0
                return _best(candidates[nonzero], candidate_scores[nonzero], k)
        return None

    def save(self, directory: Path) -> list[Path]:
        """Write `bm25.npz` (weight matrix, document lengths) and `bm25.json` (vocabulary, params)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays_path = directory / BM25_ARRAYS_FILE
        meta_path = directory / BM25_META_FILE
        # Uncompressed: loading is a straight read, which keeps cold start short for big corpora.
        with arrays_path.open("wb") as handle:
            np.savez(
                handle,
                data=self.weights.data,
                indices=self.weights.indices,
                indptr=self.weights.indptr,
                doc_lengths=self.doc_lengths,
            )
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta: dict[str, Any] = {
            "format_version": BM25_FORMAT_VERSION,
            "variant": "okapi",
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "n_docs": self.n_docs,
            "n_terms": len(terms),
            "vocabulary": terms,
        }
        meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return [arrays_path, meta_path]

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by `save`; raises OSError/ValueError/KeyError on bad files."""
        directory = Path(directory)
        meta = json.loads((directory / BM25_META_FILE).read_text(encoding="utf-8"))
        if meta.get("format_version") != BM25_FORMAT_VERSION:
            raise ValueError(f"bm25 format version {meta.get('format_version')!r} is not supported")
        with np.load(directory / BM25_ARRAYS_FILE, allow_pickle=False) as arrays:
            data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
            doc_lengths = arrays["doc_lengths"]
        terms = meta["vocabulary"]
        if len(terms) != meta["n_terms"] or len(doc_lengths) != meta["n_docs"]:
            raise ValueError("bm25.json does not match bm25.npz (term or document count differs)")
        weights = sp.csc_matrix((data, indices, indptr), shape=(len(doc_lengths), len(terms)))
        vocabulary = {term: i for i, term in enumerate(terms)}
        return cls(vocabulary, weights, doc_lengths, k1=meta["k1"], b=meta["b"], epsilon=meta["epsilon"])

    def __repr__(self) -> str:
        return f"BM25Index(n_docs={self.n_docs}, n_terms={len(self.vocabulary)}, k1={self.k1}, b={self.b})"
