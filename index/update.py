"""Change a built index in place: add, replace or remove documents and mark them 失效 or superseded.

Nothing already indexed is tokenised or embedded again:

* BM25: the index folder keeps every clause's BM25 tokens in `bm25_tokens.jsonl` (one JSON list per
  line, row i = clause i, written through `save_index(extra_files=...)`). An update tokenises only the
  new clauses, then rebuilds the BM25 weight matrix from the stored token lists (`BM25Index.build`
  over lists is a counting pass; idf and document lengths depend on the whole corpus so every weight
  is recomputed, which is cheap). An index made by `build_index` has no token file yet: the first
  update tokenises its clauses once and stores them.
* Tokenizer dictionary: place and issuer names of the documents are dictionary words
  (`harvest_terms`). When an added or removed document changes that word list, the clauses whose text
  contains a word whose dictionary entry changed are re-cut, and only those (jieba cuts text without
  the word exactly as before), so the index equals a full build of the same documents.
* Vectors: the stored vectors of the kept clauses are read back from faiss and the new clauses'
  vectors appended, with the embedding model the index was built with.

Every change is written through `save_index`, i.e. into a new folder switched into place atomically;
a lock file beside the index folder serialises concurrent updates.
"""

from __future__ import annotations

import fcntl
import json
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
from index.bm25 import BM25Index
from index.build import DEFAULT_CHAR_NGRAMS, harvest_terms, indexed_text
from index.dense import DenseIndex, Embedder, embedder_unavailable_message, load_embedder
from index.store import RETRIEVER_VECTOR, index_exists, load_index, save_index
from index.tokenize import ChineseTokenizer, normalize_text

TOKENS_FILE = "bm25_tokens.jsonl"

_thread_lock = threading.Lock()  # flock is per open file; this also orders threads of one process


class UpdateError(Exception):
    """An update that cannot be applied (unknown document, duplicate clause ids, model missing ...)."""


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


@dataclass
class _State:
    """The index as plain lists, changed in memory and then saved."""

    clauses: list[Clause]
    documents: list[DocumentMeta]
    tokenizer: ChineseTokenizer
    tokens: list[list[str]] | None
    bm25: BM25Index | None
    bm25_params: dict[str, float]
    dense: DenseIndex | None
    embed_model: str | None


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
        state = _read(index_dir, char_ngrams, embed_model, embedder)
        existing = {d.id: d for d in state.documents}
        by_doc = _clauses_by_doc(state.clauses)
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
            return UpdateReport(
                index_dir, unchanged=tuple(unchanged), clause_count=len(state.clauses),
                document_count=len(state.documents), retrievers=_retrievers(state),
                seconds=time.perf_counter() - started,
            )  # fmt: skip
        counts = _apply(state, index_dir, drop=set(replaced), add=fresh, embedder=embedder)
    return UpdateReport(
        index_dir.resolve(),
        added=tuple(d.meta.id for d in fresh if d.meta.id not in replaced),
        replaced=tuple(replaced),
        unchanged=tuple(unchanged),
        clause_count=len(state.clauses),
        document_count=len(state.documents),
        tokenized=counts["tokenized"],
        embedded=counts["embedded"],
        retrievers=_retrievers(state),
        seconds=time.perf_counter() - started,
        written=True,
    )


def remove_documents(index_dir: Path, doc_ids: Sequence[str]) -> UpdateReport:
    """Remove documents and their clauses from the index; raise `UpdateError` for an unknown id."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with _locked(index_dir):
        state = _read(index_dir, 0, None, None, must_exist=True)
        known = {d.id for d in state.documents}
        unknown = [i for i in doc_ids if i not in known]
        if unknown:
            raise UpdateError(f"no document with id {', '.join(map(repr, unknown))} in {index_dir}")
        if len(set(doc_ids)) == len(known):
            raise UpdateError("removing every document would leave an empty index; delete the folder instead")
        dependants = [d.id for d in state.documents if d.superseded_by in doc_ids and d.id not in doc_ids]
        counts = _apply(state, index_dir, drop=set(doc_ids), add=[], embedder=None)
    return UpdateReport(
        index_dir.resolve(),
        removed=tuple(doc_ids),
        status_changed=tuple(dependants),
        clause_count=len(state.clauses),
        document_count=len(state.documents),
        tokenized=counts["tokenized"],
        retrievers=_retrievers(state),
        seconds=time.perf_counter() - started,
        written=True,
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
        state = _read(index_dir, 0, None, None, must_exist=True)
        metas = {d.id: d for d in state.documents}
        if doc_id not in metas:
            raise UpdateError(f"no document with id {doc_id!r} in {index_dir}")
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
        state.documents = [updated if d.id == doc_id else d for d in state.documents]
        _save(state, index_dir)
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


def _read(
    index_dir: Path,
    char_ngrams: int,
    embed_model: str | None,
    embedder: Embedder | None,
    *,
    must_exist: bool = False,
) -> _State:
    if not index_exists(index_dir):
        if must_exist:
            raise UpdateError(f"there is no index at {index_dir}")
        dense_model = None
        if embedder is not None:
            dense_model = embedder.name
        elif embed_model:
            dense_model = embed_model
        tokenizer = ChineseTokenizer(char_ngrams=char_ngrams)
        return _State([], [], tokenizer, [], None, {}, None, dense_model)
    loaded = load_index(index_dir, load_vectors=False)  # vectors are read below without the model
    tokens = _read_tokens(index_dir, loaded.manifest, loaded.clauses)
    dense = DenseIndex.load(index_dir) if RETRIEVER_VECTOR in loaded.manifest["retrievers"] else None
    params = {"k1": loaded.bm25.k1, "b": loaded.bm25.b, "epsilon": loaded.bm25.epsilon}
    return _State(
        list(loaded.clauses), list(loaded.documents), loaded.tokenizer, tokens, loaded.bm25, params,
        dense, loaded.embed_model,
    )  # fmt: skip


def _read_tokens(
    index_dir: Path, manifest: dict[str, Any], clauses: Sequence[Clause]
) -> list[list[str]] | None:
    if TOKENS_FILE not in manifest["files"]:
        return None
    with (index_dir / TOKENS_FILE).open(encoding="utf-8") as handle:
        tokens = [json.loads(line) for line in handle if line.strip()]
    return tokens if len(tokens) == len(clauses) else None


def _clauses_by_doc(clauses: Sequence[Clause]) -> dict[str, list[Clause]]:
    grouped: dict[str, list[Clause]] = {}
    for clause in clauses:
        grouped.setdefault(clause.doc_id, []).append(clause)
    return grouped


def _apply(
    state: _State, index_dir: Path, *, drop: set[str], add: Sequence[Document], embedder: Embedder | None
) -> dict[str, int]:
    """Drop the documents `drop`, append `add`, re-cut what a dictionary change touches, save."""
    added_ids = {d.meta.id for d in add}
    keep = [i for i, c in enumerate(state.clauses) if c.doc_id not in drop and c.doc_id not in added_ids]
    new_clauses = [c for d in add for c in d.clauses]
    clauses = [state.clauses[i] for i in keep] + new_clauses
    seen: set[str] = set()
    for clause in clauses:
        if clause.id in seen:
            raise UpdateError(f"duplicate clause id {clause.id!r}: give the document another id (--id)")
        seen.add(clause.id)
    kept_metas = [m for m in state.documents if m.id not in drop and m.id not in added_ids]
    metas = _relink([*kept_metas, *(d.meta for d in add)], drop)

    tokenizer = ChineseTokenizer.from_settings(
        {**state.tokenizer.settings(), "extra_terms": harvest_terms(metas)}
    )
    texts = [indexed_text(c) for c in clauses]
    # Stored tokens by clause id: a clause id is derived from the document id, number, section path
    # and text, so the same id means the same indexed text (also across a replaced document).
    stored: dict[str, list[str]] = {}
    if state.tokens is not None and _core_settings(tokenizer) == _core_settings(state.tokenizer):
        changed = _changed_terms(state.tokenizer, tokenizer)
        for clause, clause_tokens in zip(state.clauses, state.tokens, strict=True):
            text = normalize_text(indexed_text(clause))
            if not any(term in text for term in changed):
                stored[clause.id] = clause_tokens
    # Otherwise (no stored tokens: an index made by `build_index`, or a new tokenizer version)
    # everything is cut once.
    tokens: list[list[str]] = []
    tokenized = 0
    for clause, text in zip(clauses, texts, strict=True):
        if clause.id in stored:
            tokens.append(stored[clause.id])
        else:
            tokens.append(tokenizer(text))
            tokenized += 1

    dense = state.dense
    embedded = 0
    if dense is not None:
        vectors = np.asarray(dense.index.reconstruct_n(0, dense.size), dtype=np.float32)[keep]
        if new_clauses:
            model = _embedder_for(state, embedder, dense)
            added = model.encode_passages(texts[len(keep) :])
            vectors = np.vstack([vectors, added]) if len(vectors) else added
            embedded = len(new_clauses)
        dense = DenseIndex.build(vectors, dense.kind)
    elif state.bm25 is None and state.embed_model and new_clauses:
        # A new index asked for vectors: build them now (and from now on append to them).
        model = embedder or _load_model(state.embed_model)
        dense = DenseIndex.build(model.encode_passages(texts))
        state.embed_model = model.name
        embedded = len(texts)

    state.clauses, state.documents, state.tokenizer, state.tokens, state.dense = (
        clauses, metas, tokenizer, tokens, dense,
    )  # fmt: skip
    state.bm25 = BM25Index.build(tokens, **state.bm25_params)
    _save(state, index_dir)
    return {"tokenized": tokenized, "embedded": embedded}


def _save(state: _State, index_dir: Path) -> None:
    assert state.bm25 is not None
    extra: list[tuple[str, bytes]] = []
    if state.tokens is not None:
        lines = (json.dumps(t, ensure_ascii=False) for t in state.tokens)
        extra.append((TOKENS_FILE, ("\n".join(lines) + "\n").encode("utf-8")))
    save_index(
        index_dir,
        clauses=state.clauses,
        documents=state.documents,
        tokenizer=state.tokenizer,
        bm25=state.bm25,
        dense=state.dense,
        embed_model=state.embed_model if state.dense is not None else None,
        extra_files=extra,
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
    old_freq, new_freq = old._jieba.FREQ, new._jieba.FREQ
    return {term for term in candidates if old_freq.get(term) != new_freq.get(term)}


def _embedder_for(state: _State, given: Embedder | None, dense: DenseIndex) -> Embedder:
    model = given or _load_model(state.embed_model)
    if model.dimension != dense.dimension:
        raise UpdateError(
            f"model {model.name!r} makes {model.dimension}-d vectors, the index holds {dense.dimension}-d "
            f"vectors from {state.embed_model!r}"
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


def _retrievers(state: _State) -> tuple[str, ...]:
    return ("bm25", "vector") if state.dense is not None else ("bm25",)
