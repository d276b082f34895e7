"""The index folder: plain files plus a manifest, written atomically and verified on load.

Layout of an index folder:
    manifest.json    format version, corpus checksum, tokenizer settings, embedding model, checksums
    clauses.jsonl    one `Clause.to_dict()` per line, in index order (row i of every index = line i)
    documents.json   list of `DocumentMeta.to_dict()`
    bm25_tokens.jsonl             the BM25 terms of each clause, one JSON list per line (line i = clause i)
    bm25.npz, bm25.json           see index/bm25.py
    dense.faiss, dense.json       see index/dense.py (only when the vector retriever was built)
    sentences.faiss, sentences.json, sentence_owner.npy
                                  see index/sentences.py (the vectors of each clause's sentences)

`IndexContents` is what a folder holds; `save_index` is the one writer (a full build and an in-place
change both go through it), `load_index` the reader. Files that others keep beside an index (its
calibration, the corpus folder it was built from) are not part of it; an in-place change keeps them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from corpus.models import Clause, DocumentMeta
from index.bm25 import BM25Index, BM25Params
from index.dense import (
    DENSE_INDEX_FILE,
    DenseIndex,
    Embedder,
    IndexKind,
    canonical_model_name,
    embedder_unavailable_message,
    load_embedder,
    model_version,
)
from index.folder import fsync_path, remove_abandoned_stages, switch_into_place
from index.sentences import SENTENCE_FILES, SentenceVectors, check_owner
from index.tokenize import ChineseTokenizer

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CLAUSES_FILE = "clauses.jsonl"
DOCUMENTS_FILE = "documents.json"
TOKENS_FILE = "bm25_tokens.jsonl"
RETRIEVER_BM25 = "bm25"
RETRIEVER_VECTOR = "vector"
REBUILD_HINT = "rebuild it with `policyqa build`"


class IndexLoadError(Exception):
    """The index folder is missing, incomplete, corrupt or from an incompatible version."""


def index_exists(directory: Path) -> bool:
    """Return True when `directory` looks like a built index (it holds a manifest); not a validity check."""
    return (Path(directory) / MANIFEST_FILE).is_file()


INDEX_MISSING, INDEX_COMPLETE, INDEX_DAMAGED = "missing", "complete", "damaged"


def index_state(directory: Path) -> str:
    """Return "missing" (nothing there, or an empty folder: safe to build into), "complete" (a manifest:
    `load_index` checks the rest) or "damaged" (files but no manifest: building would destroy them)."""
    directory = Path(directory)
    if (directory / MANIFEST_FILE).is_file():
        return INDEX_COMPLETE
    if not directory.exists() or (directory.is_dir() and not any(directory.iterdir())):
        return INDEX_MISSING
    return INDEX_DAMAGED


def corpus_checksum(documents: Sequence[DocumentMeta]) -> str:
    """Return sha256 over the sorted per-document source checksums (identifies the corpus)."""
    digest = hashlib.sha256()
    for checksum in sorted(d.checksum for d in documents):
        digest.update(checksum.encode("ascii", "replace") + b"\n")
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class IndexContents:
    """What an index folder holds; row i of `tokens` and `vectors` belongs to `clauses[i]`.

    `tokens` are the BM25 terms of each clause (kept, so that a change cuts only new text); `vectors`, the
    clause vectors `embed_model` made (None: BM25-only), searched through a `dense_kind` index;
    `sentence_vectors`, the vectors of the clauses' sentences (index/sentences.py), row i belonging to
    clause `sentence_owner[i]` (None: an index built before sentences had vectors).
    `vectors_unavailable` ({"model", "reason"}) records that vectors were wanted but the model could not
    be loaded, so that loading the index repeats the warning instead of silently serving BM25-only.
    `edited` marks an index changed in place after its build (documents added, removed or re-marked).
    """

    clauses: tuple[Clause, ...]
    documents: tuple[DocumentMeta, ...]
    tokenizer: ChineseTokenizer
    tokens: tuple[Sequence[str], ...]
    bm25_params: BM25Params = field(default_factory=BM25Params)
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    sentence_owner: np.ndarray | None = None
    embed_model: str | None = None
    embed_model_version: str | None = None
    dense_kind: IndexKind = "flat"
    vectors_unavailable: dict[str, str] | None = None
    edited: bool = False

    @property
    def retrievers(self) -> tuple[str, ...]:
        """The retrievers the folder will hold: ("bm25",) or ("bm25", "vector")."""
        return (RETRIEVER_BM25, RETRIEVER_VECTOR) if self.vectors is not None else (RETRIEVER_BM25,)


class DuplicateClauseError(ValueError):
    """Two clauses share an id; ids must be unique in an index."""


def check_clause_ids(clauses: Iterable[Clause]) -> None:
    """Raise `DuplicateClauseError` naming the first clause id that occurs twice."""
    seen: set[str] = set()
    for clause in clauses:
        if clause.id in seen:
            raise DuplicateClauseError(f"duplicate clause id {clause.id!r}: clause ids must be unique")
        seen.add(clause.id)


def _check_contents(contents: IndexContents) -> None:
    check_clause_ids(contents.clauses)
    count = len(contents.clauses)
    if len(contents.tokens) != count:
        raise ValueError(f"{len(contents.tokens)} token rows for {count} clauses")
    if contents.vectors is not None:
        if len(contents.vectors) != count:
            raise ValueError(f"{len(contents.vectors)} vectors for {count} clauses")
        if not contents.embed_model:
            raise ValueError("vectors need the name of the model that made them")
    if contents.sentence_vectors is not None:
        owner = contents.sentence_owner
        if contents.vectors is None or owner is None or len(owner) != len(contents.sentence_vectors):
            raise ValueError("sentence vectors need clause vectors and one owner per sentence")
        check_owner(owner, count)


def save_index(out_dir: Path, contents: IndexContents, *, keep_beside: bool = False) -> dict[str, Any]:
    """Assemble the search structures of `contents` (BM25 weights from the tokens, a faiss index over the
    vectors) and write the index folder at `out_dir`, replacing any previous one atomically; return the
    manifest.

    `keep_beside` carries over the files others keep in the previous folder beside the index (those its
    manifest does not list: the calibration, the corpus folder it was built from); each is still judged by
    its reader against the new contents.
    """
    _check_contents(contents)
    params = contents.bm25_params
    bm25 = BM25Index.build(contents.tokens, k1=params.k1, b=params.b, epsilon=params.epsilon)
    dense = None
    sentences = None
    if contents.vectors is not None:
        dense = DenseIndex.build(contents.vectors, contents.dense_kind)
        if contents.sentence_vectors is not None and contents.sentence_owner is not None:
            sentences = SentenceVectors.build(
                contents.sentence_vectors, contents.sentence_owner, contents.dense_kind
            )
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_stages(out_dir)
    staged = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    try:
        written = _write_files(staged, contents, bm25, dense, sentences)
        manifest = _manifest(contents, bm25, dense, sentences, written)
        manifest_path = staged / MANIFEST_FILE
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        kept = _copy_beside(out_dir, staged) if keep_beside else []
        for path in [*written, *kept, manifest_path]:
            fsync_path(path)
        fsync_path(staged)
        switch_into_place(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


def _write_files(
    staged: Path,
    contents: IndexContents,
    bm25: BM25Index,
    dense: DenseIndex | None,
    sentences: SentenceVectors | None,
) -> list[Path]:
    written = [staged / CLAUSES_FILE, staged / DOCUMENTS_FILE, staged / TOKENS_FILE]
    with written[0].open("w", encoding="utf-8") as handle:
        for clause in contents.clauses:
            handle.write(json.dumps(clause.to_dict(), ensure_ascii=False) + "\n")
    written[1].write_text(
        json.dumps([d.to_dict() for d in contents.documents], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    with written[2].open("w", encoding="utf-8") as handle:
        for tokens in contents.tokens:
            handle.write(json.dumps(list(tokens), ensure_ascii=False) + "\n")
    written += bm25.save(staged)
    if dense is not None:
        written += dense.save(staged)
    if sentences is not None:
        written += sentences.save(staged)
    return written


def _manifest(
    contents: IndexContents,
    bm25: BM25Index,
    dense: DenseIndex | None,
    sentences: SentenceVectors | None,
    written: Sequence[Path],
) -> dict[str, Any]:
    embedding = None
    if dense is not None:
        embedding = {
            "model": contents.embed_model,
            "model_version": contents.embed_model_version,
            "dimension": dense.dimension,
            "index_kind": dense.kind,
            "sentences": sentences.size if sentences is not None else None,
        }
    return {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_checksum": corpus_checksum(contents.documents),
        "document_count": len(contents.documents),
        "clause_count": len(contents.clauses),
        "retrievers": list(contents.retrievers),
        "tokenizer": contents.tokenizer.settings(),
        "bm25": {"k1": bm25.k1, "b": bm25.b, "epsilon": bm25.epsilon, "terms": len(bm25.vocabulary)},
        "embedding": embedding,
        "vectors_unavailable": contents.vectors_unavailable if dense is None else None,
        "edited": contents.edited,
        "files": {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in sorted(written)},
    }


def _copy_beside(previous: Path, staged: Path) -> list[Path]:
    """Copy the plain files of the `previous` folder that its manifest does not list into `staged`."""
    try:
        listed = set(json.loads((previous / MANIFEST_FILE).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no readable previous index: nothing is known to be beside it
    copied = []
    for path in sorted(previous.iterdir()):
        if path.name in listed or path.name == MANIFEST_FILE or not path.is_file() or path.is_symlink():
            continue
        if not (staged / path.name).exists():
            shutil.copy2(path, staged / path.name)
            copied.append(staged / path.name)
    return copied


@dataclass(frozen=True, eq=False)
class LoadedIndex:
    """Everything needed to serve queries, read back from an index folder.

    `dense` and `embedder` are None when the index has no vectors or the model that made them cannot
    be loaded here; `warnings` then says why (and how to fix it), and `retrievers` lists what is live.
    Row i of `bm25` and `dense` is `clauses[i]`.
    """

    path: Path
    manifest: dict[str, Any]
    clauses: tuple[Clause, ...]
    documents: tuple[DocumentMeta, ...]
    tokenizer: ChineseTokenizer
    bm25: BM25Index
    dense: DenseIndex | None
    embedder: Embedder | None
    warnings: tuple[str, ...] = ()
    sentences: SentenceVectors | None = None

    @property
    def retrievers(self) -> tuple[str, ...]:
        """The retrievers that can answer queries now: ("bm25",) or ("bm25", "vector")."""
        live = [RETRIEVER_BM25]
        if self.dense is not None and self.embedder is not None:
            live.append(RETRIEVER_VECTOR)
        return tuple(live)

    @property
    def embed_model(self) -> str | None:
        """Name of the model that made the stored vectors (None for a BM25-only index)."""
        embedding = self.manifest.get("embedding")
        return embedding["model"] if embedding else None


def read_tokens(directory: Path, manifest: dict[str, Any], clause_count: int) -> list[list[str]] | None:
    """Return the stored BM25 tokens of each clause, or None when the folder holds none for every clause
    (an index written before the tokens were kept)."""
    if TOKENS_FILE not in manifest.get("files", {}):
        return None
    with (Path(directory) / TOKENS_FILE).open(encoding="utf-8") as handle:
        tokens = [json.loads(line) for line in handle if line.strip()]
    return tokens if len(tokens) == clause_count else None


def edited_in_place(manifest: dict[str, Any]) -> bool:
    """True when the index was changed in place after its build (add, remove, supersede)."""
    if "edited" in manifest:
        return bool(manifest["edited"])
    # Written before the manifest said so: only an in-place change stored the tokens then.
    return TOKENS_FILE in manifest.get("files", {})


def model_mismatch(manifest: dict[str, Any], expected_model: str | None) -> str | None:
    """Return one line saying why an index's vectors do not fit the configured model, or None when they do.

    An index without vectors fits any configuration (it serves BM25-only and says so).
    """
    embedding = manifest.get("embedding")
    if not expected_model or not isinstance(embedding, dict):
        return None
    built_with = embedding.get("model")
    configured = canonical_model_name(expected_model)
    if built_with == configured:
        return None
    return (
        f"the index was built with embedding model {built_with!r} but POLICYQA_EMBED_MODEL is "
        f"{configured!r}; rebuild it with `policyqa build` (or set POLICYQA_EMBED_MODEL={built_with})"
    )


def _read_manifest(directory: Path) -> dict[str, Any]:
    if not directory.exists():
        raise IndexLoadError(f"index folder {directory} does not exist; {REBUILD_HINT}")
    if not directory.is_dir():
        raise IndexLoadError(f"index path {directory} is not a folder")
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise IndexLoadError(f"index folder {directory} has no {MANIFEST_FILE}; {REBUILD_HINT}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexLoadError(f"{manifest_path} is unreadable ({error}); {REBUILD_HINT}") from error
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise IndexLoadError(f"{manifest_path} is not an index manifest; {REBUILD_HINT}")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexLoadError(
            f"index at {directory} has format version {manifest['format_version']!r}, this program "
            f"reads version {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    for key in ("files", "retrievers", "tokenizer", "clause_count"):
        if key not in manifest:
            raise IndexLoadError(f"{manifest_path} lacks {key!r}; {REBUILD_HINT}")
    return manifest


def _verify_files(directory: Path, manifest: dict[str, Any], verify_checksums: bool) -> None:
    required = {CLAUSES_FILE, DOCUMENTS_FILE, "bm25.npz", "bm25.json"}
    if RETRIEVER_VECTOR in manifest["retrievers"]:
        required.add(DENSE_INDEX_FILE)
    missing_entries = sorted(required - set(manifest["files"]))
    if missing_entries:
        raise IndexLoadError(f"manifest of {directory} does not list {', '.join(missing_entries)}")
    for name, expected in sorted(manifest["files"].items()):
        path = directory / name
        if not path.is_file():
            raise IndexLoadError(f"index file {name} is missing from {directory}; {REBUILD_HINT}")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise IndexLoadError(
                f"index file {name} in {directory} has {size} bytes, the manifest says "
                f"{expected['bytes']} (truncated or modified); {REBUILD_HINT}"
            )
        if verify_checksums and file_sha256(path) != expected["sha256"]:
            raise IndexLoadError(
                f"index file {name} in {directory} does not match its checksum (corrupt or modified); "
                f"{REBUILD_HINT}"
            )


def load_index(
    directory: Path,
    *,
    load_vectors: bool = True,
    embedder: Embedder | None = None,
    verify_checksums: bool = True,
    expected_model: str | None = None,
    embed_threads: int | None = None,
) -> LoadedIndex:
    """Read and verify an index folder; raise `IndexLoadError` naming the problem.

    The embedding model named in the manifest is loaded unless `embedder` is given (its dimension
    must match) or `load_vectors` is False. A model that cannot be loaded is not an error: the
    index serves BM25-only and `warnings` carries the explanation. `verify_checksums=False` skips
    hashing (sizes are still checked), for very large indexes where start-up time matters.
    `embed_threads` caps the embedding model's threads (None: the model's default).
    `expected_model` is the configured model (POLICYQA_EMBED_MODEL): vectors made by another model, or
    by another version of the same model, are refused rather than compared with the wrong queries.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    mismatch = model_mismatch(manifest, expected_model)
    if mismatch:
        raise IndexLoadError(mismatch)
    try:
        _verify_files(directory, manifest, verify_checksums)
    except (KeyError, TypeError, AttributeError) as error:
        raise IndexLoadError(f"manifest of {directory} is malformed ({error!r}); {REBUILD_HINT}") from error
    warnings: list[str] = []
    try:
        with (directory / CLAUSES_FILE).open(encoding="utf-8") as handle:
            clauses = tuple(Clause.from_dict(json.loads(line)) for line in handle if line.strip())
        documents = tuple(
            DocumentMeta.from_dict(d)
            for d in json.loads((directory / DOCUMENTS_FILE).read_text(encoding="utf-8"))
        )
        bm25 = BM25Index.load(directory)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexLoadError(f"index at {directory} is unreadable ({error}); {REBUILD_HINT}") from error
    if len(clauses) != manifest["clause_count"] or bm25.n_docs != len(clauses):
        raise IndexLoadError(
            f"index at {directory} is inconsistent: manifest says {manifest['clause_count']} clauses, "
            f"clauses.jsonl has {len(clauses)}, bm25 has {bm25.n_docs}; {REBUILD_HINT}"
        )
    tokenizer = ChineseTokenizer.from_settings(manifest["tokenizer"])
    if tokenizer.settings() != manifest["tokenizer"]:
        warnings.append(
            "WARNING: the tokenizer (dictionary, stop words or version) changed since this index was "
            f"built, so queries may be cut differently from the indexed clauses; {REBUILD_HINT}."
        )

    dense: DenseIndex | None = None
    sentences: SentenceVectors | None = None
    live_embedder: Embedder | None = None
    embedding = manifest.get("embedding")
    missed = manifest.get("vectors_unavailable")
    if RETRIEVER_VECTOR not in manifest["retrievers"] and isinstance(missed, dict):
        warnings.append(embedder_unavailable_message(missed.get("model"), str(missed.get("reason"))))
    if RETRIEVER_VECTOR in manifest["retrievers"] and embedding and load_vectors:
        try:
            dense = DenseIndex.load(directory)
        except Exception as error:  # faiss raises RuntimeError on a damaged file
            raise IndexLoadError(
                f"dense index at {directory} is unreadable ({error}); {REBUILD_HINT}"
            ) from error
        if dense.size != len(clauses):
            raise IndexLoadError(
                f"dense index at {directory} has {dense.size} vectors for {len(clauses)} clauses; "
                f"{REBUILD_HINT}"
            )
        if all(name in manifest["files"] for name in SENTENCE_FILES):
            try:
                sentences = SentenceVectors.load(directory, len(clauses))
            except Exception as error:  # faiss raises RuntimeError, numpy ValueError on a damaged file
                raise IndexLoadError(
                    f"sentence vectors at {directory} are unreadable ({error}); {REBUILD_HINT}"
                ) from error
            if sentences.dense.dimension != dense.dimension:
                raise IndexLoadError(f"sentence and clause vectors differ in dimension; {REBUILD_HINT}")
        if embedder is None:
            model = embedding["model"]
            live_embedder, reason = load_embedder(model, threads=embed_threads)
            if live_embedder is None:
                warnings.append(embedder_unavailable_message(model, reason or "unknown", at_build=False))
        else:
            live_embedder = embedder
        recorded_version = embedding.get("model_version")
        if (
            live_embedder is not None
            and recorded_version
            and model_version(live_embedder) != recorded_version
        ):
            raise IndexLoadError(
                f"index at {directory} holds vectors from {embedding['model']} {recorded_version}, but "
                f"{model_version(live_embedder)} is installed; {REBUILD_HINT}"
            )
        if live_embedder is not None and live_embedder.dimension != dense.dimension:
            warnings.append(
                f"WARNING: vector retrieval is off: model {live_embedder.name!r} makes "
                f"{live_embedder.dimension}-d vectors but the index holds {dense.dimension}-d vectors "
                f"from {embedding['model']!r}."
            )
            live_embedder = None
        if live_embedder is None:
            dense = sentences = None
    return LoadedIndex(
        path=directory,
        manifest=manifest,
        clauses=clauses,
        documents=documents,
        tokenizer=tokenizer,
        bm25=bm25,
        dense=dense,
        embedder=live_embedder,
        warnings=tuple(warnings),
        sentences=sentences,
    )
