"""The index folder: plain files plus a manifest, written atomically and verified on load.

Layout of an index folder:
    manifest.json    format version, corpus checksum, tokenizer settings, embedding model, checksums
    clauses.jsonl    one `Clause.to_dict()` per line, in index order (row i of every index = line i)
    documents.json   list of `DocumentMeta.to_dict()`
    bm25.npz, bm25.json           see index/bm25.py
    dense.faiss, dense.json       see index/dense.py (only when the vector retriever was built)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.models import Clause, DocumentMeta
from index.bm25 import BM25Index
from index.dense import DENSE_INDEX_FILE, DenseIndex, Embedder, embedder_unavailable_message, load_embedder
from index.tokenize import ChineseTokenizer

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CLAUSES_FILE = "clauses.jsonl"
DOCUMENTS_FILE = "documents.json"
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


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False when unsupported."""
    rename_exchange = 2
    at_fdcwd = -100
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0


def _switch_into_place(staged: Path, target: Path) -> None:
    """Make `staged` the folder at `target`; the previous index stays intact until the switch succeeds."""
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        # Readers saw either the old or the new folder, never neither; the old one is now at `staged`.
        shutil.rmtree(staged, ignore_errors=True)
    else:
        retired = target.with_name(f"{target.name}.old-{os.getpid()}")
        os.rename(target, retired)
        try:
            os.rename(staged, target)
        except OSError:
            os.rename(retired, target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    _fsync_path(target.parent)


def _remove_abandoned_stages(out_dir: Path) -> None:
    """Delete `<index>.tmp-<pid>` folders left by builds that were killed (their process is gone)."""
    for stage in out_dir.parent.glob(f"{out_dir.name}.tmp-*"):
        pid = stage.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def save_index(
    out_dir: Path,
    *,
    clauses: Sequence[Clause],
    documents: Sequence[DocumentMeta],
    tokenizer: ChineseTokenizer,
    bm25: BM25Index,
    dense: DenseIndex | None = None,
    embed_model: str | None = None,
    extra_files: Sequence[tuple[str, bytes]] = (),
    vectors_unavailable: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write the index folder at `out_dir` (replacing any previous one atomically); return the manifest.

    `extra_files` are (name, content) pairs written beside the index files and listed, with their
    checksums, in the manifest (index/update.py keeps the per-clause BM25 tokens this way).
    `vectors_unavailable` ({"model", "reason"}) records that vectors were wanted but the model could
    not be loaded, so that loading the index repeats the warning instead of silently serving BM25-only.
    """
    if bm25.n_docs != len(clauses):
        raise ValueError(f"bm25 has {bm25.n_docs} rows for {len(clauses)} clauses")
    if dense is not None:
        if dense.size != len(clauses):
            raise ValueError(f"dense index has {dense.size} vectors for {len(clauses)} clauses")
        if not embed_model:
            raise ValueError("a dense index needs the name of the model that made its vectors")
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_stages(out_dir)
    staged = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    try:
        written = [staged / CLAUSES_FILE, staged / DOCUMENTS_FILE]
        with written[0].open("w", encoding="utf-8") as handle:
            for clause in clauses:
                handle.write(json.dumps(clause.to_dict(), ensure_ascii=False) + "\n")
        written[1].write_text(
            json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=1), encoding="utf-8"
        )
        written += bm25.save(staged)
        for name, content in extra_files:
            (staged / name).write_bytes(content)
            written.append(staged / name)
        retrievers = [RETRIEVER_BM25]
        embedding = None
        if dense is not None:
            written += dense.save(staged)
            retrievers.append(RETRIEVER_VECTOR)
            embedding = {"model": embed_model, "dimension": dense.dimension, "index_kind": dense.kind}
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_checksum": corpus_checksum(documents),
            "document_count": len(documents),
            "clause_count": len(clauses),
            "retrievers": retrievers,
            "tokenizer": tokenizer.settings(),
            "bm25": {"k1": bm25.k1, "b": bm25.b, "epsilon": bm25.epsilon, "terms": len(bm25.vocabulary)},
            "embedding": embedding,
            "vectors_unavailable": vectors_unavailable if dense is None else None,
            "files": {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in sorted(written)},
        }
        manifest_path = staged / MANIFEST_FILE
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for path in [*written, manifest_path]:
            _fsync_path(path)
        _fsync_path(staged)
        _switch_into_place(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


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
) -> LoadedIndex:
    """Read and verify an index folder; raise `IndexLoadError` naming the problem.

    The embedding model named in the manifest is loaded unless `embedder` is given (its dimension
    must match) or `load_vectors` is False. A model that cannot be loaded is not an error: the
    index serves BM25-only and `warnings` carries the explanation. `verify_checksums=False` skips
    hashing (sizes are still checked), for very large indexes where start-up time matters.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
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
        if embedder is None:
            model = embedding["model"]
            live_embedder, reason = load_embedder(model)
            if live_embedder is None:
                warnings.append(embedder_unavailable_message(model, reason or "unknown", at_build=False))
        else:
            live_embedder = embedder
        if live_embedder is not None and live_embedder.dimension != dense.dimension:
            warnings.append(
                f"WARNING: vector retrieval is off: model {live_embedder.name!r} makes "
                f"{live_embedder.dimension}-d vectors but the index holds {dense.dimension}-d vectors "
                f"from {embedding['model']!r}."
            )
            live_embedder = None
        if live_embedder is None:
            dense = None
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
    )
