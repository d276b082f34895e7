"""`policyqa bench`: our retrieval stack against the usual one (rank_bm25 BM25Okapi + faiss IndexFlatIP).

Synthetic corpora of N clauses recombine real sentences of the bundled clauses (1-4 per clause).
Both stacks index the same token lists: the real tokenizer cuts each distinct sentence once and a
clause's tokens are its sentences' tokens, so 10^6 clauses build in minutes; the real tokenisation
rate is measured separately (on up to `tokenize_sample` clauses, 2 processes) and scaled to N.
Vectors are random unit vectors per sentence (or a local model's sentence embeddings), a clause
being the normalised sum of its sentences' vectors; query encoding is excluded from all latencies.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus.sentences import SENTENCE_ENDS
from index.bm25 import BM25Index
from index.build import DEFAULT_CHAR_NGRAMS, choose_dense_kind, harvest_terms, tokenize_texts
from index.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, DenseIndex
from index.tokenize import ChineseTokenizer
from policyqa.localserver import start_server, stop_server, wait_until_healthy
from rag.fuse import reciprocal_rank_fusion

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_DIM = 512
FETCH = 50  # candidates per retriever, as the engine fetches (MIN_CANDIDATES)
TOP_K = 10
REF_MAX_CLAUSES = 100_000  # rank_bm25 beyond this takes minutes to build and ~1 s per query
ANN_MAX_CLAUSES = 100_000
TOKENIZE_SAMPLE = 20_000
SENTENCE_SPLIT = re.compile(f"(?<=[{SENTENCE_ENDS}])")
CLAUSE_NOISE = 0.3  # each clause's own component: real texts never embed to exactly the same vector
QUERY_NOISE = 0.5  # query vector = unit(sentence vector + noise): near, not equal, to clauses
RSS_POLL_S = 0.01
SEED = 20240501
REF_QUERIES = 50  # rank_bm25 takes ~1 s per query at 10^5 clauses; its percentiles use fewer queries
HTTP_START_TIMEOUT_S = 60.0


@dataclass
class BenchOptions:
    """What to run; sizes in clauses."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    out_dir: Path = ROOT / "var" / "bench"
    queries: int = 200
    dim: int = DEFAULT_DIM
    embed_model: str | None = None
    ref_max: int = REF_MAX_CLAUSES
    ann_max: int = ANN_MAX_CLAUSES
    http: bool = False
    http_requests: int = 2000
    http_concurrency: int = 32
    workers: int = 2
    progress: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))


# --- measuring ------------------------------------------------------------------------------------
def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Return p50/p95/p99 (milliseconds) of a list of durations in seconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {f"p{p}": float(np.percentile(values, p)) for p in (50, 95, 99)}


def rss_bytes() -> int:
    """Return this process's resident set size."""
    import psutil

    return int(psutil.Process().memory_info().rss)


@contextmanager
def peak_rss_delta() -> Iterator[dict[str, int]]:
    """Yield a dict that holds, on exit, `peak`: the highest RSS above the starting RSS (bytes)."""
    result = {"peak": 0}
    start = rss_bytes()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            result["peak"] = max(result["peak"], rss_bytes() - start)
            time.sleep(RSS_POLL_S)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result["peak"] = max(result["peak"], rss_bytes() - start)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call."""
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def folder_bytes(paths: Sequence[Path]) -> int:
    """Return the total size of files."""
    return sum(p.stat().st_size for p in paths)


# --- synthetic corpus ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SentencePool:
    """Distinct real sentences of the bundled clauses, their tokens and their vectors."""

    sentences: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]
    vectors: np.ndarray  # (sentences, dim), unit length
    tokenizer: ChineseTokenizer
    vector_source: str


def load_sentence_pool(dim: int, embed_model: str | None, seed: int = SEED) -> SentencePool:
    """Return the sentence pool of the bundled corpus (vectors from `embed_model`, else random `dim`-d)."""
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
    tokens = tuple(tuple(tokenizer(s)) for s in sentences)
    if embed_model:
        from index.dense import load_embedder

        embedder, reason = load_embedder(embed_model)
        if embedder is None:
            raise SystemExit(f"policyqa bench: cannot load {embed_model}: {reason}")
        vectors = embedder.encode_passages(list(sentences))
        source = f"sentence embeddings by {embed_model} ({embedder.dimension}-d)"
    else:
        rng = np.random.default_rng(seed)
        vectors = rng.standard_normal((len(sentences), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        source = f"random unit vectors ({dim}-d), no model"
    return SentencePool(sentences, tokens, np.ascontiguousarray(vectors), tokenizer, source)


def compose_clauses(pool_size: int, n: int, seed: int) -> np.ndarray:
    """Return an (n, 4) array of sentence ids per synthetic clause, -1 padded (1 to 4 sentences each)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, pool_size, size=(n, 4))
    lengths = rng.integers(1, 5, size=n)
    ids[np.arange(4)[None, :] >= lengths[:, None]] = -1
    return ids


def clause_tokens(pool: SentencePool, composition: np.ndarray) -> list[list[str]]:
    """Return each synthetic clause's tokens: its sentences' tokens in order."""
    tokens = pool.tokens
    return [[t for s in row if s >= 0 for t in tokens[s]] for row in composition.tolist()]


def clause_texts(pool: SentencePool, composition: np.ndarray) -> list[str]:
    """Return each synthetic clause's text."""
    return ["".join(pool.sentences[s] for s in row if s >= 0) for row in composition.tolist()]


def clause_vectors(pool: SentencePool, composition: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """Return unit vectors of the synthetic clauses: normalised sums of their sentences' vectors."""
    dim = pool.vectors.shape[1]
    out = np.empty((len(composition), dim), dtype=np.float32)
    rng = np.random.default_rng(SEED + len(composition))
    padded = np.vstack([pool.vectors, np.zeros((1, pool.vectors.shape[1]), dtype=np.float32)])
    for start in range(0, len(composition), chunk):
        rows = composition[start : start + chunk]
        summed = padded[rows].sum(axis=1)  # -1 picks the zero row
        summed += rng.standard_normal(summed.shape).astype(np.float32) * (CLAUSE_NOISE / np.sqrt(dim))
        summed /= np.linalg.norm(summed, axis=1, keepdims=True)
        out[start : start + len(rows)] = summed
    return out


def bench_queries(pool: SentencePool, count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Return query texts (the eval set's questions, cycled) and query vectors near random sentences."""
    path = ROOT / "eval" / "questions.jsonl"
    questions = [
        json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line
    ]
    texts = [questions[i % len(questions)] for i in range(count)]
    rng = np.random.default_rng(seed)
    base = pool.vectors[rng.integers(0, len(pool.sentences), size=count)]
    noise = rng.standard_normal(base.shape).astype(np.float32) * QUERY_NOISE / np.sqrt(base.shape[1])
    vectors = base + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, np.ascontiguousarray(vectors, dtype=np.float32)


# --- one size --------------------------------------------------------------------------------------
def _latencies(run: Callable[[int], Any], count: int) -> dict[str, float]:
    run(0)  # warm-up
    durations = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        durations.append(time.perf_counter() - started)
    return percentiles_ms(durations)


def measure_ours(
    tokens: list[list[str]],
    vectors: np.ndarray,
    pool: SentencePool,
    texts: list[str],
    qvecs: np.ndarray,
    workdir: Path,
) -> dict[str, Any]:
    """Build, save and query our BM25Index + DenseIndex (the kind `policyqa build` picks for this size)."""
    with peak_rss_delta() as memory:
        bm25_s, bm25 = timed(lambda: BM25Index.build(tokens))
        dense_s, dense = timed(lambda: DenseIndex.build(vectors, choose_dense_kind(len(vectors))))
    size = folder_bytes(bm25.save(workdir / "ours") + dense.save(workdir / "ours"))
    tokenizer = pool.tokenizer

    def bm25_query(i: int) -> list[int]:
        return bm25.top_k(tokenizer(texts[i]), FETCH)[0].tolist()

    def vector_query(i: int) -> list[int]:
        return dense.search(qvecs[i], FETCH)[0].tolist()

    def hybrid_query(i: int) -> Any:
        fused = reciprocal_rank_fusion({"bm25": bm25_query(i), "vector": vector_query(i)})
        return fused[:TOP_K]

    queries = {"bm25": bm25_query, "vector": vector_query, "hybrid": hybrid_query}
    return _stack_result(bm25_s, dense_s, size, memory["peak"], queries, len(texts), bm25)


def _stack_result(
    bm25_s: float,
    dense_s: float,
    disk_bytes: int,
    peak_rss_bytes: int,
    queries: Mapping[str, Callable[[int], Any]],
    count: int,
    bm25: Any,
) -> dict[str, Any]:
    """One stack's row of the table: build times, size, memory and latencies of each retrieval mode."""
    return {
        "bm25_build_s": bm25_s,
        "dense_build_s": dense_s,
        "build_s": bm25_s + dense_s,
        "disk_bytes": disk_bytes,
        "peak_rss_bytes": peak_rss_bytes,
        **{mode: _latencies(query, count) for mode, query in queries.items()},
        "_bm25": bm25,
    }


def measure_reference(
    tokens: list[list[str]],
    vectors: np.ndarray,
    pool: SentencePool,
    texts: list[str],
    qvecs: np.ndarray,
    workdir: Path,
) -> dict[str, Any]:
    """Build, save (pickle + faiss file) and query rank_bm25 BM25Okapi + faiss IndexFlatIP."""
    import faiss
    from rank_bm25 import BM25Okapi

    with peak_rss_delta() as memory:
        bm25_s, bm25 = timed(lambda: BM25Okapi(tokens))

        def build_flat() -> Any:
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            return index

        dense_s, flat = timed(build_flat)
    (workdir / "ref").mkdir(parents=True, exist_ok=True)
    pickled = workdir / "ref" / "bm25.pkl"
    pickled.write_bytes(pickle.dumps(bm25, protocol=pickle.HIGHEST_PROTOCOL))
    faiss.write_index(flat, str(workdir / "ref" / "flat.faiss"))
    size = folder_bytes([pickled, workdir / "ref" / "flat.faiss"])
    tokenizer = pool.tokenizer

    def bm25_query(i: int) -> list[int]:
        scores = bm25.get_scores(tokenizer(texts[i]))
        return np.argsort(scores)[::-1][:FETCH].tolist()  # as BM25Retriever / get_top_n: a full sort

    def vector_query(i: int) -> list[int]:
        return flat.search(qvecs[i : i + 1], FETCH)[1][0].tolist()

    def hybrid_query(i: int) -> Any:
        return reciprocal_rank_fusion({"bm25": bm25_query(i), "vector": vector_query(i)})[:TOP_K]

    queries = {"bm25": bm25_query, "vector": vector_query, "hybrid": hybrid_query}
    return _stack_result(bm25_s, dense_s, size, memory["peak"], queries, min(len(texts), REF_QUERIES), bm25)


def scores_match(ours: BM25Index, reference: Any, tokenizer: ChineseTokenizer, texts: list[str]) -> bool:
    """Return True when our BM25 scores equal rank_bm25's on the first queries (np.allclose)."""
    for text in texts[:5]:
        query = tokenizer(text)
        if not np.allclose(ours.scores(query), reference.get_scores(query), rtol=1e-4, atol=1e-4):
            return False
    return True


def measure_tokenize(
    pool: SentencePool, composition: np.ndarray, sample: int, workers: int
) -> dict[str, Any]:
    """Time the real tokenizer on up to `sample` synthetic clauses; scale linearly to all of them."""
    n = len(composition)
    texts = clause_texts(pool, composition[: min(n, sample)])
    seconds, _ = timed(lambda: tokenize_texts(pool.tokenizer, texts, workers=workers))
    return {"seconds": seconds * n / len(texts), "measured_on": len(texts), "workers": workers}


def run_size(
    options: BenchOptions, pool: SentencePool, n: int, texts: list[str], qvecs: np.ndarray
) -> dict[str, Any]:
    """Measure both stacks at `n` clauses."""
    say = options.progress
    say(f"[bench] {n:,} clauses: composing corpus")
    composition = compose_clauses(len(pool.sentences), n, SEED + n)
    tokens = clause_tokens(pool, composition)
    vectors = clause_vectors(pool, composition)
    say(f"[bench] {n:,}: timing real tokenisation ({options.workers} processes)")
    tokenize = measure_tokenize(pool, composition, TOKENIZE_SAMPLE, options.workers)
    row: dict[str, Any] = {"clauses": n, "tokenize": tokenize}
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as tmp:
        say(f"[bench] {n:,}: ours (BM25Index + DenseIndex {choose_dense_kind(n)})")
        ours = measure_ours(tokens, vectors, pool, texts, qvecs, Path(tmp))
        row["ours"] = {k: v for k, v in ours.items() if not k.startswith("_")}
        if n <= options.ref_max:
            say(f"[bench] {n:,}: reference (rank_bm25 BM25Okapi + faiss IndexFlatIP)")
            reference = measure_reference(tokens, vectors, pool, texts, qvecs, Path(tmp))
            row["reference"] = {k: v for k, v in reference.items() if not k.startswith("_")}
            row["scores_match"] = scores_match(ours["_bm25"], reference["_bm25"], pool.tokenizer, texts)
            del reference
        else:
            row["reference"] = None
    say(f"[bench] {n:,}: done")
    return row


# --- index types -----------------------------------------------------------------------------------
def faiss_variants(dim: int, n: int) -> dict[str, Callable[[], Any]]:
    """Return constructors of the faiss index types compared (inner product throughout)."""
    import faiss

    ip = faiss.METRIC_INNER_PRODUCT
    nlist = max(16, int(4 * np.sqrt(n)))

    def hnsw() -> Any:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, ip)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index

    def hnsw_sq8() -> Any:
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, ip)  # type: ignore[arg-type]
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index

    def ivf() -> Any:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, ip)
        index.nprobe = 16
        return index

    return {
        "flat float32 (exact)": lambda: faiss.IndexFlatIP(dim),
        "flat float16 (SQfp16)": lambda: faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, ip),
        "flat int8 (SQ8)": lambda: faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, ip),
        f"HNSW{HNSW_M} float32 (efSearch {HNSW_EF_SEARCH})": hnsw,
        f"HNSW{HNSW_M} int8 (HNSWSQ8)": hnsw_sq8,
        f"IVF{nlist} float32 (nprobe 16)": ivf,
    }


def recall_at_k(vectors: np.ndarray, queries: np.ndarray, found: np.ndarray, kth_score: np.ndarray) -> float:
    """Return the share of found ids scoring at least the exact k-th score (ties count as hits)."""
    hits = 0
    for query, ids, threshold in zip(queries, found, kth_score, strict=True):
        ids = ids[ids >= 0]
        hits += int(np.sum(vectors[ids] @ query >= threshold - 1e-5))
    return hits / found.size


def run_index_types(
    pool: SentencePool, n: int, qvecs: np.ndarray, say: Callable[[str], None]
) -> dict[str, Any]:
    """Build each faiss index type over `n` clause vectors; report build, size, latency, recall@10."""
    import faiss

    vectors = clause_vectors(pool, compose_clauses(len(pool.sentences), n, SEED + n))
    dim = vectors.shape[1]
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    kth_score = exact.search(qvecs, TOP_K)[0][:, -1]
    rows = []
    for name, make in faiss_variants(dim, n).items():
        say(f"[bench] index types at {n:,}: {name}")
        index = make()

        def build(index: Any = index) -> None:
            if not index.is_trained:
                index.train(vectors[: min(len(vectors), 100_000)])
            index.add(vectors)

        build_s, _ = timed(build)
        found = index.search(qvecs, TOP_K)[1]
        recall = recall_at_k(vectors, qvecs, found, kth_score)

        def query(i: int, index: Any = index) -> Any:
            return index.search(qvecs[i : i + 1], FETCH)

        latency = _latencies(query, len(qvecs))
        size = len(faiss.serialize_index(index))
        rows.append(
            {"index": name, "build_s": build_s, "disk_bytes": size, "recall_at_10": recall, **latency}
        )
    return {"clauses": n, "rows": rows}


# --- service ---------------------------------------------------------------------------------------
def build_bundled_index(out: Path) -> Path:
    """Build the bundled corpus's index (BM25, as `policyqa build` without a model) into `out`."""
    from corpus.load import load_corpus
    from index.build import build_index

    build_index(
        load_corpus(ROOT / "corpus" / "data"),
        out,
        embed_model=None,
        progress=False,
        char_ngrams=DEFAULT_CHAR_NGRAMS,
    )
    return out


def _env(index_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "POLICYQA_INDEX": str(index_dir),
        "POLICYQA_RATE_LIMIT": "0",
        "HF_HUB_OFFLINE": "1",
    }


def measure_cold_start(index_dir: Path, runs: int = 3) -> dict[str, float]:
    """Time `policyqa ask` in a fresh process (start to first answer printed); return median and min."""
    command = [
        sys.executable,
        "-m",
        "policyqa.cli",
        "ask",
        "渝中区托育服务有什么政策",
        "--index",
        str(index_dir),
        "--json",
    ]
    durations = []
    for _ in range(runs):
        seconds, result = timed(
            lambda: subprocess.run(command, env=_env(index_dir), capture_output=True, check=False)
        )
        if result.returncode != 0:
            raise RuntimeError(f"policyqa ask failed: {result.stderr.decode(errors='replace')[-500:]}")
        durations.append(seconds)
    return {"median_s": statistics.median(durations), "min_s": min(durations)}


def measure_in_process(index_dir: Path, texts: list[str]) -> dict[str, Any]:
    """Return p50/p95/p99 of POST /api/v1/ask through the ASGI app in this process (no sockets)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from policyqa.config import Settings
    from rag.engine import Engine

    settings = Settings(POLICYQA_INDEX=index_dir, POLICYQA_RATE_LIMIT=0)
    with TestClient(create_app(settings, Engine.from_dir(index_dir))) as client:
        return _latencies(lambda i: client.post("/api/v1/ask", json={"question": texts[i]}), len(texts))


def measure_http(
    index_dir: Path, texts: list[str], requests: int, concurrency: int, workers: int
) -> dict[str, Any]:
    """Serve with uvicorn --workers on loopback; POST /api/v1/ask `requests` times from async clients."""
    import asyncio

    import httpx

    server, url = start_server(_env(index_dir), workers=workers)
    try:
        try:
            wait_until_healthy(url, server, HTTP_START_TIMEOUT_S)
        except RuntimeError as error:
            raise RuntimeError(f"uvicorn did not start: {str(error)[-500:]}") from error
        time.sleep(1.0)  # let every worker finish loading the index
        if shutil.which("wrk"):  # a C load generator leaves the 2 cores to the server, as in production
            return {**_wrk(url, texts, concurrency), "concurrency": concurrency, "workers": workers}

        async def drive() -> tuple[list[float], int, float]:
            latencies: list[float] = []
            errors = 0
            counter = iter(range(requests))
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

                async def one_client() -> None:
                    nonlocal errors
                    for i in counter:
                        started = time.perf_counter()
                        try:
                            response = await client.post(
                                "/api/v1/ask", json={"question": texts[i % len(texts)]}
                            )
                        except httpx.TransportError:  # e.g. a worker restarted by uvicorn's supervisor
                            errors += 1
                            continue
                        latencies.append(time.perf_counter() - started)
                        errors += response.status_code != 200

                started = time.perf_counter()
                await asyncio.gather(*(one_client() for _ in range(concurrency)))
                return latencies, errors, time.perf_counter() - started

        latencies, errors, wall = asyncio.run(drive())
    finally:
        stop_server(server)
    return {
        "client": "httpx (Python, sharing the CPU with the server)",
        "requests": requests,
        "concurrency": concurrency,
        "workers": workers,
        "errors": errors,
        "rps": requests / wall,
        **percentiles_ms(latencies),
    }


WRK_SECONDS = 20
# wrk's Lua: POST each question of the list in turn.
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {
BODIES
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/api/v1/ask", nil, bodies[(i % #bodies) + 1])
end
"""
_WRK_PERCENTILE = re.compile(r"^\s*(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, texts: list[str], concurrency: int) -> dict[str, Any]:
    """POST /api/v1/ask with wrk for WRK_SECONDS, cycling through `texts`; return rate and latencies."""
    bodies = ",\n".join(
        json.dumps(json.dumps({"question": t}, ensure_ascii=False), ensure_ascii=False) for t in texts
    )
    script = WRK_SCRIPT.replace("BODIES", bodies)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{concurrency}", f"-d{WRK_SECONDS}s", "--latency", "-s", handle.name, url],
            capture_output=True,
            text=True,
            timeout=WRK_SECONDS + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    total = re.search(r"(\d+) requests in", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    latencies = {f"p{p}": float(v) * _WRK_UNITS[u] for p, v, u in _WRK_PERCENTILE.findall(output)}
    return {
        "client": f"wrk, {WRK_SECONDS} s",
        "requests": int(total.group(1)) if total else 0,
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        **latencies,
    }


# --- whole run -------------------------------------------------------------------------------------
def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run every measurement and return the results (`policyqa bench` writes them as a table and plot)."""
    say = options.progress
    say("[bench] loading the sentence pool of the bundled corpus")
    pool = load_sentence_pool(options.dim, options.embed_model)
    texts, qvecs = bench_queries(pool, options.queries, SEED)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "vectors": pool.vector_source,
        "sentences": len(pool.sentences),
        "queries": options.queries,
        "ref_max": options.ref_max,
        "sizes": [],
    }
    options.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = options.out_dir / "bench.partial.json"
    for n in sorted(options.sizes):
        results["sizes"].append(run_size(options, pool, n, texts, qvecs))
        checkpoint.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    ann_n = min(max(options.sizes), options.ann_max)
    results["index_types"] = run_index_types(pool, ann_n, qvecs, say)
    checkpoint.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    results["service"] = run_service(options, texts)
    checkpoint.unlink(missing_ok=True)
    return results


def run_service(options: BenchOptions, texts: list[str]) -> dict[str, Any]:
    """Measure cold start, in-process and (with --http) HTTP serving of the bundled corpus.

    A failing measurement is recorded as {"error": ...} so the retrieval figures are still written.
    """
    say = options.progress
    index_dir = options.out_dir / "bundled-index"
    say("[bench] service: bundled index, cold start, in-process /api/v1/ask")
    build_bundled_index(index_dir)
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "cold_start": lambda: measure_cold_start(index_dir),
        "in_process": lambda: measure_in_process(index_dir, texts),
    }
    if options.http:
        steps["http"] = lambda: measure_http(
            index_dir, texts, options.http_requests, options.http_concurrency, options.workers
        )
    service: dict[str, Any] = {}
    try:
        for name, measure in steps.items():
            say(f"[bench] service: {name}")
            try:
                service[name] = measure()
            except Exception as error:  # e.g. the app failing to import: keep the other figures
                service[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
                say(f"[bench] service: {name} failed: {service[name]['error']}")
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
    return service
