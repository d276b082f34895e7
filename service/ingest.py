"""Adding, removing and re-marking documents: the workflows `policyqa add/remove/supersede` and the admin
API share.

Each workflow is one function raising an `IngestError` subclass that names what went wrong; each surface
maps those to its own output (an exit status and a line, an HTTP status and a message). Nothing here
chooses words for users. A change made while serving (`holder` given) runs one at a time with reloads,
and the engine over the changed folder is swapped in; when that fails the previous one keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from corpus.extract import ExtractionError, doc_id_for, extract_bytes, format_of, is_doc_id, parse_extracted
from corpus.models import Document, DocumentMeta
from index import update
from index.store import INDEX_MISSING, IndexLoadError, index_state
from service.engines import EngineHolder

logger = logging.getLogger("policyqa.ingest")
T = TypeVar("T")


class IngestError(Exception):
    """A document change that was refused; nothing was changed unless the subclass says otherwise."""


class UnsupportedFormat(IngestError):
    """The file's suffix names a format that cannot be read."""


class BadDocumentId(IngestError):
    """The document id (given, or the file name without suffix) is not usable."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"{doc_id!r} is not a usable document id")
        self.doc_id = doc_id


class UnreadableFile(IngestError):
    """The file cannot be read as its format."""


class NoClauses(IngestError):
    """The parser found no clauses in the file."""


class IndexMissing(IngestError):
    """There is no index to change."""


class IndexDamaged(IngestError):
    """The index folder holds files but no manifest; it is left as it is."""


class IndexUnreadable(IngestError):
    """The index folder cannot be read (corrupt files, an unreadable manifest); it is left as it is."""


class UnknownDocument(IngestError):
    """The index holds no document with that id."""


class ChangeRefused(IngestError):
    """The change cannot be applied (duplicate clause ids, a missing model, removing every document ...)."""


class ChangedButNotServed(IngestError):
    """The index folder was changed, but an engine over it cannot be loaded: the previous one still serves."""


@dataclass(frozen=True)
class PreparedDocument:
    """A source file read and parsed, ready to add: its id, format, extracted text and parsed document."""

    doc_id: str
    format: str
    text: str
    document: Document


def prepare_upload(data: bytes, filename: str, doc_id: str | None = None) -> PreparedDocument:
    """Read and parse a source file given as bytes; its id is `doc_id`, else the file name without suffix."""
    return _prepare(data, filename, doc_id, shown_as=filename)


def prepare_file(path: Path, doc_id: str | None = None) -> PreparedDocument:
    """Read and parse the source file at `path`; its id is `doc_id`, else the file name without suffix."""
    path = Path(path)
    _format(path.name)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(str(error)) from error
    return _prepare(data, path.name, doc_id, shown_as=str(path))


def add_documents(
    index_dir: Path,
    prepared: Sequence[PreparedDocument],
    *,
    holder: EngineHolder | None = None,
    create: bool = False,
    embed_model: str | None = None,
    corpus_dir: Path | None = None,
) -> update.UpdateReport:
    """Add the prepared documents (or their new versions) to the index at `index_dir` and return what
    changed; serve the changed index through `holder`.

    A missing index is created only with `create` (with vectors from `embed_model`, as a build would);
    `corpus_dir` also keeps each extracted text there as <id>.txt, so that a later build includes it.
    """
    embedder = holder.engine.index.embedder if holder is not None else None
    with _changing(holder):
        if not create and index_state(index_dir) == INDEX_MISSING:
            raise IndexMissing(f"there is no index at {index_dir}")
        documents = [p.document for p in prepared]
        report = _change(
            lambda: update.add_documents(index_dir, documents, embedder=embedder, embed_model=embed_model)
        )
        if report.written:
            _serve(holder)
    if corpus_dir is not None:
        corpus_dir.mkdir(parents=True, exist_ok=True)
        for item in prepared:
            (corpus_dir / f"{item.doc_id}.txt").write_text(item.text, encoding="utf-8")
    return report


def remove_document(
    index_dir: Path, doc_id: str, *, holder: EngineHolder | None = None
) -> update.UpdateReport:
    """Remove a document and its clauses from the index; serve the changed index through `holder`."""
    with _changing(holder):
        report = _change(lambda: update.remove_documents(index_dir, [doc_id]))
        _serve(holder)
    return report


def change_status(
    index_dir: Path,
    doc_id: str,
    *,
    superseded_by: str | None = None,
    repealed: bool = False,
    in_force: bool = False,
    holder: EngineHolder | None = None,
) -> DocumentMeta:
    """Mark a document superseded by another indexed one, repealed (失效) or in force again; return its new
    metadata and serve the changed index through `holder`."""
    with _changing(holder):
        meta = _change(
            lambda: update.set_status(
                index_dir, doc_id, superseded_by=superseded_by, repealed=repealed, in_force=in_force
            )
        )
        _serve(holder)
    return meta


# ---------------------------------------------------------------------------------------------------
def _format(filename: str) -> str:
    try:
        return format_of(filename)
    except ExtractionError as error:
        raise UnsupportedFormat(str(error)) from error


def _prepare(data: bytes, filename: str, doc_id: str | None, *, shown_as: str) -> PreparedDocument:
    _format(filename)
    chosen = doc_id or doc_id_for(filename)
    if not chosen or not is_doc_id(chosen):
        raise BadDocumentId(chosen or Path(filename).stem)
    try:
        extracted = extract_bytes(data, filename)
    except ExtractionError as error:
        raise UnreadableFile(str(error)) from error
    document = parse_extracted(extracted, chosen)
    if not document.clauses:
        raise NoClauses(f"no clauses found in {shown_as}")
    return PreparedDocument(chosen, extracted.format, extracted.text, document)


@contextmanager
def _changing(holder: EngineHolder | None) -> Iterator[None]:
    with holder.changing() if holder is not None else nullcontext():
        yield


# What index/update.py raises, as the workflow's errors (the most specific first).
_UPDATE_ERRORS: tuple[tuple[type[update.UpdateError], type[IngestError]], ...] = (
    (update.DamagedIndexError, IndexDamaged),
    (update.NoIndexError, IndexMissing),
    (update.UnknownDocumentError, UnknownDocument),
    (update.UpdateError, ChangeRefused),
)


def _change(apply: Callable[[], T]) -> T:
    """Run a change of the index folder, raising its refusals as the workflow's errors."""
    try:
        return apply()
    except IndexLoadError as error:  # raised before anything is written: index/update.py reads first
        logger.error("index change refused, the index folder cannot be read: %s", error)
        raise IndexUnreadable(str(error)) from error
    except update.UpdateError as error:
        kind = next(ours for theirs, ours in _UPDATE_ERRORS if isinstance(error, theirs))
        raise kind(str(error)) from error


def _serve(holder: EngineHolder | None) -> None:
    if holder is None:
        return
    try:
        holder.reload()
    except IndexLoadError as error:  # written, but not loadable: keep serving what was being served
        logger.error("index changed but cannot be loaded; still serving the previous one: %s", error)
        raise ChangedButNotServed(str(error)) from error
