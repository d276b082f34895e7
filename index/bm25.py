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
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

BM25_ARRAYS_FILE = "bm25.npz"
BM25_META_FILE = "bm25.json"
BM25_FORMAT_VERSION = 1

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25


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
        self.doc_lengths = doc_lengths
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon

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
        """
        if mask is not None and mask.shape != (self.n_docs,):
            raise ValueError(f"mask has shape {mask.shape}, expected ({self.n_docs},)")
        scores = self.scores(query_tokens)
        candidates_mask = scores != 0
        if mask is not None:
            candidates_mask &= mask.astype(bool, copy=False)
        candidates = np.flatnonzero(candidates_mask)
        if k <= 0 or candidates.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        candidate_scores = scores[candidates]
        if candidates.size > k:
            best = np.argpartition(candidate_scores, candidates.size - k)[candidates.size - k :]
            # Keep everything tied with the k-th score so the tie-break below sees all of them.
            keep = candidate_scores >= candidate_scores[best].min()
            candidates, candidate_scores = candidates[keep], candidate_scores[keep]
        order = np.lexsort((candidates, -candidate_scores))[:k]
        return candidates[order].astype(np.int64), candidate_scores[order]

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
