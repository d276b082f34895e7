"""Vector index types on real vectors: recall@10 against exact search, build time, size and latency.

Flat, HNSW and IVF, each in float32, float16 and int8 (faiss scalar quantisers), inner product
throughout (the vectors are unit length). Queries are the eval set's questions encoded by the model, searched
one at a time on one OpenMP thread (as `DenseIndex.search` serves them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from bench.measure import latencies, timed
from bench.peers import FETCH
from index.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, SEARCH_THREADS

TOP_K = 10
IVF_NPROBE = 16
IVF_TRAIN_MAX = 100_000


def ivf_lists(n: int) -> int:
    """Return the IVF list count for n vectors (4 sqrt(n), at least 16)."""
    return max(16, int(4 * math.sqrt(n)))


def faiss_variants(dim: int, n: int) -> dict[str, Callable[[], Any]]:
    """Return constructors of the faiss index types compared, by display name."""
    import faiss

    ip = faiss.METRIC_INNER_PRODUCT
    quantisers = {
        "float32": None,
        "float16": faiss.ScalarQuantizer.QT_fp16,
        "int8": faiss.ScalarQuantizer.QT_8bit,
    }
    nlist = ivf_lists(n)
    variants: dict[str, Callable[[], Any]] = {}

    def flat(qt: Any) -> Any:
        return faiss.IndexFlatIP(dim) if qt is None else faiss.IndexScalarQuantizer(dim, qt, ip)

    def hnsw(qt: Any) -> Any:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, ip) if qt is None else faiss.IndexHNSWSQ(dim, qt, HNSW_M, ip)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index

    def ivf(qt: Any) -> Any:
        coarse = faiss.IndexFlatIP(dim)
        index: Any
        if qt is None:
            index = faiss.IndexIVFFlat(coarse, dim, nlist, ip)
        else:
            index = faiss.IndexIVFScalarQuantizer(coarse, dim, nlist, qt, ip)
        index.nprobe = IVF_NPROBE
        return index

    for label, qt in quantisers.items():
        variants[f"flat {label}" + (" (exact)" if qt is None else "")] = partial(flat, qt)
    for label, qt in quantisers.items():
        variants[f"HNSW{HNSW_M} {label} (efSearch {HNSW_EF_SEARCH})"] = partial(hnsw, qt)
    for label, qt in quantisers.items():
        variants[f"IVF{nlist} {label} (nprobe {IVF_NPROBE})"] = partial(ivf, qt)
    return variants


def _search_one(index: Any, queries: np.ndarray, i: int) -> Any:
    return index.search(queries[i : i + 1], FETCH)


def _one_thread_latencies(index: Any, queries: np.ndarray) -> dict[str, float]:
    """Latencies of single-query searches on one OpenMP thread, as DenseIndex.search runs them."""
    import faiss

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(SEARCH_THREADS)
    try:
        return latencies(partial(_search_one, index, queries), len(queries))
    finally:
        faiss.omp_set_num_threads(previous)


def recall_at_k(vectors: np.ndarray, queries: np.ndarray, found: np.ndarray, kth_score: np.ndarray) -> float:
    """Return the share of found ids scoring at least the exact k-th score (ties count as hits)."""
    hits = 0
    for query, ids, threshold in zip(queries, found, kth_score, strict=True):
        ids = ids[ids >= 0]
        hits += int(np.sum(vectors[ids] @ query >= threshold - 1e-5))
    return hits / found.size


def run_index_types(
    vectors: np.ndarray, queries: np.ndarray, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Build each index type over `vectors`; return build s, size, recall@10 and p50/p95/p99 per query."""
    import faiss

    n, dim = vectors.shape
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    kth_score = exact.search(queries, TOP_K)[0][:, -1]
    rows = []
    for name, make in faiss_variants(dim, n).items():
        say(f"[bench] index types at {n:,} real vectors: {name}")
        index = make()

        def build(index: Any = index) -> None:
            if not index.is_trained:
                index.train(vectors[: min(n, IVF_TRAIN_MAX)])
            index.add(vectors)

        build_s, _ = timed(build)
        recall = recall_at_k(vectors, queries, index.search(queries, TOP_K)[1], kth_score)
        latency = _one_thread_latencies(index, queries)
        size = len(faiss.serialize_index(index))
        rows.append({"index": name, "build_s": build_s, "bytes": size, "recall_at_10": recall, **latency})
        del index
    return rows
