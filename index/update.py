"""Change a built index in place: add, replace or remove documents and mark them 失效 or superseded.

Nothing already indexed is tokenised or embedded again:

* BM25: the index folder keeps every clause's BM25 tokens (`bm25_tokens.jsonl`). An update tokenises
  only the new clauses; `save_index` then recomputes every weight from the stored token lists (idf and
  document lengths depend on the whole corpus; it is a counting pass, cheap). An index written before
  the tokens were kept has its clauses cut once, by its first update.
* Tokenizer dictionary: place and issuer names of the documents are dictionary words
  (`harvest_terms`). When an added or removed document changes that word list, the clauses whose text
  contains a word whose dictionary entry changed are re-cut, and only those (jieba cuts text without
  the word exactly as before), so the index equals a full build of the same documents.
* Vectors: the stored vectors of the kept clauses are read back (`DenseIndex.vectors`) and the new
  clauses' vectors appended, with the embedding model the index was built with.

Every change is written by `save_index`, the writer `build_index` uses too, into a new folder switched
into place atomically; the files kept beside the index (its calibration, the corpus folder it was built
from) stay. A lock file beside the index folder serialises concurrent updates. A folder that holds files
but no manifest (a damaged index) is never written over.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from corpus.metadata import resolve_relations
from corpus.models import STATUS_IN_FORCE, STATUS_REPEALED, Clause, Document, DocumentMeta
from index.build import DEFAULT_CHAR_NGRAMS, choose_dense_kind, indexed_text, tokenizer_for
from index.dense import (
    DenseIndex,
    Embedder,
    IndexKind,
    embedder_unavailable_message,
    load_embedder,
    model_version,
)
from index.sentences import SENTENCE_FILES, SentenceVectors, passages_of
from index.store import (
    INDEX_DAMAGED,
    INDEX_MISSING,
    RETRIEVER_VECTOR,
    DuplicateClauseError,
    IndexContents,
    check_clause_ids,
    index_state,
    load_index,
    read_tokens,
    save_index,
)
from index.tokenize import ChineseTokenizer, normalize_text

_thread_lock = threading.Lock()  # flock is per open file; this also orders threads of one process


class UpdateError(Exception):
    """An update that cannot be applied (unknown document, duplicate clause ids, model missing ...)."""


class NoIndexError(UpdateError):
    """There is no index to change (removing or re-marking needs one)."""


class DamagedIndexError(UpdateError):
    """The folder holds files but no manifest: writing there would replace them with the new documents."""


class UnknownDocumentError(UpdateError):
    """A document id the index does not hold."""


@dataclass(frozen=True)
class UpdateReport:
    """What an update changed, and what it had to recompute."""

    index_dir: Path
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    status_changed: tuple[str, ...] = ()
    clause_count: int = 0
    document_count: int = 0
    tokenized: int = 0  # clauses tokenised: the new ones plus any re-cut for a dictionary change
    embedded: int = 0
    retrievers: tuple[str, ...] = ()
    seconds: float = 0.0
    written: bool = False
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "index_dir": str(self.index_dir),
            "added": list(self.added),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "status_changed": list(self.status_changed),
            "clause_count": self.clause_count,
            "document_count": self.document_count,
            "tokenized": self.tokenized,
            "embedded": self.embedded,
            "retrievers": list(self.retrievers),
            "seconds": round(self.seconds, 3),
            "written": self.written,
        }


@dataclass(frozen=True)
class _Current:
    """The index before the change; `tokens_stored` is False for one written before tokens were kept
    (its `contents.tokens` are then empty)."""

    contents: IndexContents
    tokens_stored: bool
    exists: bool


# ---------------------------------------------------------------------------------------------------
def add_documents(
    index_dir: Path,
    documents: Sequence[Document],
    *,
    embedder: Embedder | None = None,
    char_ngrams: int = DEFAULT_CHAR_NGRAMS,
    embed_model: str | None = None,
) -> UpdateReport:
    """Add `documents` to the index at `index_dir` (created when missing) and return what changed.

    A document whose id is already indexed replaces the old version, keeping its status (失效,
    superseded); one with the same source checksum and clause ids is left alone. `char_ngrams` and
    `embed_model` only apply when the index is created here; `embedder` overrides loading the index's
    embedding model (its dimension must match the stored vectors).
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    ids = [d.meta.id for d in documents]
    if len(set(ids)) != len(ids):
        raise UpdateError(
            f"the same document id is given twice: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    with _locked(index_dir):
        current = _read(index_dir, char_ngrams)
        existing = {d.id: d for d in current.contents.documents}
        by_doc = _clauses_by_doc(current.contents.clauses)
        fresh: list[Document] = []
        unchanged: list[str] = []
        replaced: list[str] = []
        for document in documents:
            old = existing.get(document.meta.id)
            if old is not None:
                same_source = old.checksum == document.meta.checksum
                if same_source and [c.id for c in by_doc.get(old.id, [])] == [c.id for c in document.clauses]:
                    unchanged.append(old.id)
                    continue
                replaced.append(old.id)
                # A new version of a document keeps the status staff gave it.
                document = replace(
                    document, meta=replace(document.meta, status=old.status, superseded_by=old.superseded_by)
                )
            fresh.append(document)
        if not fresh:
            return _report(index_dir, current.contents, started, written=False, unchanged=tuple(unchanged))
        model = embedder.name if embedder is not None else embed_model
        changed, tokenized, embedded = _apply(
            current, drop=set(replaced), add=fresh, embedder=embedder, new_model=model
        )
        save_index(index_dir, changed, keep_beside=True)
    return _report(
        index_dir,
        changed,
        started,
        added=tuple(d.meta.id for d in fresh if d.meta.id not in replaced),
        replaced=tuple(replaced),
        unchanged=tuple(unchanged),
        tokenized=tokenized,
        embedded=embedded,
    )


def remove_documents(index_dir: Path, doc_ids: Sequence[str]) -> UpdateReport:
    """Remove documents and their clauses from the index; raise `UnknownDocumentError` for an unknown id."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with _locked(index_dir):
        current = _read(index_dir, must_exist=True)
        known = {d.id for d in current.contents.documents}
        unknown = [i for i in doc_ids if i not in known]
        if unknown:
            raise UnknownDocumentError(f"no document with id {', '.join(map(repr, unknown))} in {index_dir}")
        if len(set(doc_ids)) == len(known):
            raise UpdateError("removing every document would leave an empty index; delete the folder instead")
        dependants = [
            d.id for d in current.contents.documents if d.superseded_by in doc_ids and d.id not in doc_ids
        ]
        changed, tokenized, _ = _apply(current, drop=set(doc_ids), add=[], embedder=None, new_model=None)
        save_index(index_dir, changed, keep_beside=True)
    return _report(
        index_dir,
        changed,
        started,
        removed=tuple(doc_ids),
        status_changed=tuple(dependants),
        tokenized=tokenized,
    )


def set_status(
    index_dir: Path,
    doc_id: str,
    *,
    superseded_by: str | None = None,
    repealed: bool = False,
    in_force: bool = False,
) -> DocumentMeta:
    """Mark a document superseded by another indexed document, repealed (失效), or in force again.

    A superseded or repealed document stays searchable and citable, but `Engine.ask` no longer
    answers from it and answers that cite it say so. Return the document's new metadata.
    """
    if sum((superseded_by is not None, repealed, in_force)) != 1:
        raise UpdateError("choose exactly one of superseded_by, repealed, in_force")
    index_dir = Path(index_dir)
    with _locked(index_dir):
        current = _read(index_dir, must_exist=True)
        contents = current.contents
        metas = {d.id: d for d in contents.documents}
        if doc_id not in metas:
            raise UnknownDocumentError(f"no document with id {doc_id!r} in {index_dir}")
        if superseded_by is not None:
            if superseded_by not in metas:
                raise UpdateError(
                    f"the replacing document {superseded_by!r} is not in the index; add it first"
                )
            if superseded_by == doc_id:
                raise UpdateError("a document cannot supersede itself")
            updated = replace(metas[doc_id], status=STATUS_REPEALED, superseded_by=superseded_by)
        elif repealed:
            updated = replace(metas[doc_id], status=STATUS_REPEALED, superseded_by=None)
        else:
            updated = replace(metas[doc_id], status=STATUS_IN_FORCE, superseded_by=None)
        tokens = contents.tokens if current.tokens_stored else _cut(contents.tokenizer, contents.clauses)
        documents = tuple(updated if d.id == doc_id else d for d in contents.documents)
        save_index(
            index_dir, replace(contents, documents=documents, tokens=tokens, edited=True), keep_beside=True
        )
    return updated


# ---------------------------------------------------------------------------------------------------
@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<index>.lock` beside the index folder (across processes and threads)."""
    lock_path = index_dir.resolve().with_name(index_dir.resolve().name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock, lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(index_dir: Path, char_ngrams: int = DEFAULT_CHAR_NGRAMS, *, must_exist: bool = False) -> _Current:
    """The index at `index_dir`, or an empty one to create (`char_ngrams`); never a damaged folder."""
    state = index_state(index_dir)
    if state == INDEX_DAMAGED:
        raise DamagedIndexError(
            f"{index_dir} holds files but no manifest.json (a damaged index?); nothing was changed: "
            "move it away or rebuild it with `policyqa build`"
        )
    if state == INDEX_MISSING:
        if must_exist:
            raise NoIndexError(f"there is no index at {index_dir}")
        empty = IndexContents((), (), tokenizer_for((), {"char_ngrams": char_ngrams}), ())
        return _Current(empty, tokens_stored=True, exists=False)
    loaded = load_index(index_dir, load_vectors=False)  # vectors are read below without the model
    tokens = read_tokens(index_dir, loaded.manifest, len(loaded.clauses))
    vectors = sentence_vectors = sentence_owner = None
    dense_kind: IndexKind = "flat"
    if RETRIEVER_VECTOR in loaded.manifest["retrievers"]:
        dense = DenseIndex.load(index_dir)
        vectors, dense_kind = dense.vectors(range(dense.size)), dense.kind
        if all(name in loaded.manifest["files"] for name in SENTENCE_FILES):
            sentences = SentenceVectors.load(index_dir, len(loaded.clauses))
            sentence_vectors = sentences.dense.vectors(range(sentences.size))
            sentence_owner = sentences.owner
    contents = IndexContents(
        clauses=loaded.clauses,
        documents=loaded.documents,
        tokenizer=loaded.tokenizer,
        tokens=tuple(tokens or ()),
        bm25_params=loaded.bm25.params,
        vectors=vectors,
        sentence_vectors=sentence_vectors,
        sentence_owner=sentence_owner,
        embed_model=loaded.embed_model,
        embed_model_version=(loaded.manifest.get("embedding") or {}).get("model_version"),
        dense_kind=dense_kind,
        # Built BM25-only because the model could not be loaded: loading it still says so after a change.
        vectors_unavailable=loaded.manifest.get("vectors_unavailable"),
    )
    return _Current(contents, tokens_stored=tokens is not None, exists=True)


def _clauses_by_doc(clauses: Sequence[Clause]) -> dict[str, list[Clause]]:
    grouped: dict[str, list[Clause]] = {}
    for clause in clauses:
        grouped.setdefault(clause.doc_id, []).append(clause)
    return grouped


def _apply(
    current: _Current,
    *,
    drop: set[str],
    add: Sequence[Document],
    embedder: Embedder | None,
    new_model: str | None,
) -> tuple[IndexContents, int, int]:
    """Return the contents without the documents `drop`, with `add` appended, re-cut where a dictionary
    change touches them, and how many clauses were tokenised and embedded."""
    old = current.contents
    added_ids = {d.meta.id for d in add}
    keep = [i for i, c in enumerate(old.clauses) if c.doc_id not in drop and c.doc_id not in added_ids]
    new_clauses = [c for d in add for c in d.clauses]
    clauses = tuple([old.clauses[i] for i in keep] + new_clauses)
    try:
        check_clause_ids(clauses)
    except DuplicateClauseError as error:
        raise UpdateError(f"{error}; give the document another id (--id)") from error
    kept_metas = [m for m in old.documents if m.id not in drop and m.id not in added_ids]
    metas = tuple(_relink([*kept_metas, *(d.meta for d in add)], drop))
    tokenizer = tokenizer_for(metas, old.tokenizer.settings())
    tokens, tokenized = _tokens(current, clauses, tokenizer)
    contents = replace(old, clauses=clauses, documents=metas, tokenizer=tokenizer, tokens=tokens, edited=True)
    texts = [indexed_text(c) for c in new_clauses]
    sentence_texts, new_owner = passages_of(new_clauses)
    embedded = 0
    if old.vectors is not None:
        vectors = old.vectors[keep]
        sentence_vectors, sentence_owner = _kept_sentences(old, keep)
        if new_clauses:
            model = _embedder_for(old, embedder)
            vectors = np.vstack([vectors, _encode(model, texts)])
            if sentence_vectors is not None and sentence_owner is not None:
                sentence_vectors = np.vstack([sentence_vectors, _encode(model, sentence_texts)])
                sentence_owner = np.concatenate([sentence_owner, new_owner + len(keep)])
            embedded = len(new_clauses)
        contents = replace(
            contents, vectors=vectors, sentence_vectors=sentence_vectors, sentence_owner=sentence_owner
        )
    elif not current.exists and new_model and new_clauses:
        # A new index asked for vectors: build them now (and from now on append to them).
        model = embedder or _load_model(new_model)
        contents = replace(
            contents,
            vectors=_encode(model, texts),
            sentence_vectors=_encode(model, sentence_texts),
            sentence_owner=new_owner,
            embed_model=model.name,
            embed_model_version=model_version(model),
            dense_kind=choose_dense_kind(len(clauses)),
        )
        embedded = len(texts)
    return contents, tokenized, embedded


def _encode(model: Embedder, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, model.dimension), dtype=np.float32)
    return np.asarray(model.encode_passages(texts), dtype=np.float32)


def _kept_sentences(old: IndexContents, keep: Sequence[int]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The sentence vectors of the clauses `keep` (positions in `old`, ascending), with their owners
    renumbered to the clauses' new positions; (None, None) for an index without sentence vectors."""
    if old.sentence_vectors is None or old.sentence_owner is None:
        return None, None
    renumbered = np.full(len(old.clauses), -1, dtype=np.int64)
    renumbered[np.asarray(keep, dtype=np.int64)] = np.arange(len(keep))
    owners = renumbered[old.sentence_owner]
    rows = owners >= 0
    return old.sentence_vectors[rows], owners[rows]


def _tokens(
    current: _Current, clauses: Sequence[Clause], tokenizer: ChineseTokenizer
) -> tuple[tuple[list[str], ...], int]:
    """The BM25 tokens of `clauses`: stored ones where still valid, the rest cut now (and how many)."""
    old = current.contents
    # Stored tokens by clause id: a clause id is derived from the document id, number, section path
    # and text, so the same id means the same indexed text (also across a replaced document).
    stored: dict[str, list[str]] = {}
    if current.tokens_stored and _core_settings(tokenizer) == _core_settings(old.tokenizer):
        changed = _changed_terms(old.tokenizer, tokenizer)
        for clause, clause_tokens in zip(old.clauses, old.tokens, strict=True):
            text = normalize_text(indexed_text(clause))
            if not any(term in text for term in changed):
                stored[clause.id] = list(clause_tokens)
    # Otherwise (no stored tokens, or a new tokenizer version) everything is cut once.
    missing = [c for c in clauses if c.id not in stored]
    stored.update(zip((c.id for c in missing), _cut(tokenizer, missing), strict=True))
    return tuple(stored[c.id] for c in clauses), len(missing)


def _cut(tokenizer: ChineseTokenizer, clauses: Sequence[Clause]) -> tuple[list[str], ...]:
    return tuple(tokenizer(indexed_text(c)) for c in clauses)


def _report(
    index_dir: Path, contents: IndexContents, started: float, *, written: bool = True, **changes: Any
) -> UpdateReport:
    return UpdateReport(
        index_dir.resolve() if written else index_dir,
        clause_count=len(contents.clauses),
        document_count=len(contents.documents),
        retrievers=contents.retrievers,
        seconds=time.perf_counter() - started,
        written=written,
        **changes,
    )


def _relink(metas: Sequence[DocumentMeta], removed: set[str]) -> list[DocumentMeta]:
    """Re-resolve 政策解读 links over the new document set; drop links to removed documents, and
    put a document superseded by a removed one back in force."""
    present = {m.id for m in metas}
    cleaned = []
    for meta in metas:
        relations = tuple(r for r in meta.relations if r.target in present)
        superseded_by = meta.superseded_by if meta.superseded_by in present else None
        status = meta.status
        if meta.superseded_by and superseded_by is None and meta.superseded_by in removed:
            status = STATUS_IN_FORCE
        evidence = dict(meta.evidence)
        if not relations:
            evidence.pop("relations", None)
        cleaned.append(
            replace(meta, relations=relations, superseded_by=superseded_by, status=status, evidence=evidence)
        )
    return resolve_relations(cleaned)


def _core_settings(tokenizer: ChineseTokenizer) -> dict[str, Any]:
    return {k: v for k, v in tokenizer.settings().items() if k != "extra_terms"}


def _changed_terms(old: ChineseTokenizer, new: ChineseTokenizer) -> set[str]:
    """Dictionary words whose jieba entry differs between two tokenizers (added, removed, or given a
    different frequency because a neighbouring word came or went)."""
    candidates = set(old.extra_terms) | set(new.extra_terms)
    old_freq, new_freq = old.dictionary, new.dictionary
    return {term for term in candidates if old_freq.get(term) != new_freq.get(term)}


def _embedder_for(contents: IndexContents, given: Embedder | None) -> Embedder:
    model = given or _load_model(contents.embed_model)
    dimension = contents.vectors.shape[1] if contents.vectors is not None else model.dimension
    if model.dimension != dimension:
        raise UpdateError(
            f"model {model.name!r} makes {model.dimension}-d vectors, the index holds {dimension}-d "
            f"vectors from {contents.embed_model!r}"
        )
    if contents.embed_model_version and model_version(model) != contents.embed_model_version:
        raise UpdateError(
            f"the index holds vectors from {contents.embed_model} {contents.embed_model_version}, but "
            f"{model_version(model)} is installed: rebuild the index with `policyqa build`"
        )
    return model


def _load_model(name: str | None) -> Embedder:
    model, reason = load_embedder(name)
    if model is None:
        raise UpdateError(
            "cannot add clauses to the vector index: "
            + embedder_unavailable_message(name, reason or "unknown")
        )
    return model
