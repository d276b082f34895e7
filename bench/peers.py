"""BM25 peers measured side by side on the same token lists: ours, bm25s (twice) and rank_bm25.

* ours: `index.bm25.BM25Index` (weights precomputed in a CSC matrix, MaxScore-style pruning).
* bm25s, set as BM25Okapi: `bm25s.BM25(method="robertson", k1=1.5, b=0.75)`, numpy backend, queried
  through its scoring and top-k selection directly (`get_scores` + `selection.topk`): its fastest path.
* bm25s defaults: `bm25s.BM25()` (method "lucene"), queried as its README shows (`retrieve`, one query
  per call). Both get our tokens: bm25s's own tokenizer splits on `\\w\\w+`, which keeps a whole run of
  Chinese characters as one token.
* rank_bm25 `BM25Okapi`: `get_scores`, then a full sort (as its `get_top_n`).

Each returns the FETCH best clauses per query, as the engine asks BM25 for. (bm25s scores about as fast as
ours; its top-k, `np.argpartition` over every clause, is what costs: numpy's introselect slows down on the
many exactly equal scores, mostly 0, of a query whose terms are rare or of idf 0.) A mask query restricts
the candidates to one fifth of the clauses (a region's documents): ours through `top_k(mask=)`, bm25s
through `weight_mask` (scores multiplied by 0/1; the zero-score rows it still returns are dropped).
"""

from __future__ import annotations

import gc
import pickle
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import files_bytes, latencies, peak_rss_delta, timed
from index.bm25 import DEFAULT_B, DEFAULT_K1, BM25Index

FETCH = 50  # candidates per retriever, as the engine fetches (rag/retrieve.py MIN_CANDIDATES)
MASK_SHARE = 5  # the mask keeps every 5th clause
SCORE_CHECK_QUERIES = 20

OURS = "ours"
BM25S_OKAPI = "bm25s (robertson, k1 1.5, b 0.75; get_scores + topk)"
BM25S_DEFAULT = "bm25s defaults (lucene; retrieve)"
RANK_BM25 = "rank_bm25 BM25Okapi"
PEERS = (OURS, BM25S_OKAPI, BM25S_DEFAULT, RANK_BM25)


@dataclass
class Built:
    """A built peer: how to query it (plain and masked), how to score every clause, and its files."""

    top: Callable[[list[str]], np.ndarray]
    top_masked: Callable[[list[str], np.ndarray], np.ndarray] | None
    scores: Callable[[list[str]], np.ndarray]
    save: Callable[[Path], list[Path]]


def _build_ours(tokens: Sequence[Sequence[str]]) -> Built:
    index = BM25Index.build(tokens)
    return Built(
        top=lambda q: index.top_k(q, FETCH)[0],
        top_masked=lambda q, mask: index.top_k(q, FETCH, mask=mask)[0],
        scores=index.scores,
        save=lambda folder: index.save(folder),
    )


def _build_bm25s(tokens: Sequence[Sequence[str]], *, public_api: bool, **params: Any) -> Built:
    import bm25s
    from bm25s.selection import topk

    retriever = bm25s.BM25(**params)
    retriever.index([list(t) for t in tokens], show_progress=False)

    def top(query: list[str], mask: np.ndarray | None = None) -> np.ndarray:
        if public_api:  # what its README shows: retrieve() on a batch of one query
            ids, scores = retriever.retrieve(
                [query or [""]], k=FETCH, show_progress=False, n_threads=1, weight_mask=mask
            )
            return ids[0][scores[0] > 0]
        # Its scoring and top-k selection alone (what retrieve() runs per query, without its set-up).
        all_scores = retriever.get_scores(query, weight_mask=mask) if query else None
        if all_scores is None:
            return np.empty(0, dtype=np.int64)
        best, ids = topk(all_scores, FETCH, backend="numpy", sorted=True)
        return ids[best > 0]

    def save(folder: Path) -> list[Path]:
        retriever.save(str(folder / "bm25s"))
        return [folder / "bm25s"]

    return Built(
        top=top,
        top_masked=lambda q, mask: top(q, mask.astype(np.float32)),
        scores=lambda q: retriever.get_scores(q) if q else np.zeros(retriever.scores["num_docs"]),
        save=save,
    )


def _build_rank_bm25(tokens: Sequence[Sequence[str]]) -> Built:
    from rank_bm25 import BM25Okapi

    index = BM25Okapi(tokens)

    def save(folder: Path) -> list[Path]:
        path = folder / "bm25.pkl"
        path.write_bytes(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
        return [path]

    return Built(
        top=lambda q: np.argsort(index.get_scores(q))[::-1][:FETCH],
        top_masked=None,
        scores=lambda q: np.asarray(index.get_scores(q)),
        save=save,
    )


BUILDERS: dict[str, Callable[[Sequence[Sequence[str]]], Built]] = {
    OURS: _build_ours,
    BM25S_OKAPI: lambda t: _build_bm25s(t, public_api=False, method="robertson", k1=DEFAULT_K1, b=DEFAULT_B),
    BM25S_DEFAULT: lambda t: _build_bm25s(t, public_api=True),
    RANK_BM25: _build_rank_bm25,
}


def measure_peer(
    name: str,
    tokens: Sequence[Sequence[str]],
    queries: Sequence[list[str]],
    query_count: int,
    reference: BM25Index | None,
) -> tuple[dict[str, Any], Built]:
    """Build one peer on `tokens`; return its build time, memory, size, latencies and score agreement."""
    gc.collect()
    with peak_rss_delta() as memory:
        build_s, built = timed(lambda: BUILDERS[name](tokens))
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as tmp:
        disk = files_bytes(built.save(Path(tmp)))
    n = len(tokens)
    mask = np.zeros(n, dtype=bool)
    mask[::MASK_SHARE] = True
    row: dict[str, Any] = {
        "build_s": build_s,
        "peak_rss_bytes": memory["peak"],
        "disk_bytes": disk,
        "queries": query_count,
        "query": latencies(lambda i: built.top(queries[i]), query_count),
    }
    if built.top_masked is not None:
        top_masked = built.top_masked
        row["masked"] = latencies(lambda i: top_masked(queries[i], mask), query_count)
    if reference is not None:
        row["scores_equal_okapi"] = _scores_equal(built, reference, queries[:SCORE_CHECK_QUERIES])
    return row, built


def measure_peer_in_fresh_process(name: str, n: int, query_count: int, check_scores: bool) -> dict[str, Any]:
    """Compose the n-clause corpus in a fresh interpreter and measure one peer there (spawned by
    `measure_peers`): the build's memory is then measured against a heap that holds no other peer's
    freed memory."""
    from bench.corpus import (
        SEED,
        clause_tokens,
        compose_clauses,
        eval_questions,
        load_sentence_pool,
        query_tokens,
    )

    pool = load_sentence_pool()
    queries = query_tokens(pool, eval_questions(query_count))
    tokens = clause_tokens(pool, compose_clauses(len(pool.sentences), n, SEED + n))
    row, built = measure_peer(name, tokens, queries, query_count, None)
    if check_scores and name != RANK_BM25:
        del built
        gc.collect()
        reference = okapi_reference(tokens)
        row["scores_equal_okapi"] = _scores_equal(
            BUILDERS[name](tokens), reference, queries[:SCORE_CHECK_QUERIES]
        )
    return row


def measure_peers(
    names: Sequence[str], n: int, query_counts: dict[str, int], check_scores: bool
) -> dict[str, dict[str, Any]]:
    """Measure each peer at n clauses, each in its own fresh process, one after the other."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    rows = {}
    for name in names:
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            rows[name] = pool.submit(
                measure_peer_in_fresh_process, name, n, query_counts[name], check_scores
            ).result()
    return rows


def _scores_equal(built: Built, reference: Any, queries: Sequence[list[str]]) -> bool:
    """True when the peer's score of every clause equals BM25Okapi's for every query (np.allclose)."""
    return all(np.allclose(built.scores(q), reference.get_scores(q), rtol=1e-4, atol=1e-4) for q in queries)


def okapi_reference(tokens: Sequence[Sequence[str]]) -> Any:
    """Return rank_bm25's BM25Okapi over `tokens` (the scores every peer is compared with)."""
    from rank_bm25 import BM25Okapi

    return BM25Okapi(tokens)


def bm25s_available() -> bool:
    """True when bm25s can be imported (a dev dependency: `pip install -e .[dev]`)."""
    try:
        import bm25s  # noqa: F401
    except ImportError:
        return False
    return True
