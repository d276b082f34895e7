"""Load a folder of policy documents into parsed `Document`s."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corpus.metadata import resolve_relations
from corpus.models import Document
from corpus.parse import parse_document

SOURCE_SUFFIXES = (".txt",)


class CorpusError(ValueError):
    """A source file that cannot be read as policy text (the message names the file)."""


def load_corpus(directory: Path) -> list[Document]:
    """Parse every source file in `directory` (sorted by file name; doc id = file stem) and link
    each 政策解读 to the document it interprets."""
    paths = sorted(
        p for p in Path(directory).iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
    )
    documents = []
    for path in paths:
        try:
            documents.append(parse_document(path))
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    metas = resolve_relations([doc.meta for doc in documents])
    return [replace(doc, meta=meta) for doc, meta in zip(documents, metas, strict=True)]
