"""Load a folder of policy documents into parsed `Document`s."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corpus.metadata import resolve_relations
from corpus.models import Document
from corpus.parse import parse_document

SOURCE_SUFFIXES = (".txt",)


def load_corpus(directory: Path) -> list[Document]:
    """Parse every source file in `directory` (sorted by file name; doc id = file stem) and link
    each 政策解读 to the document it interprets."""
    paths = sorted(
        p for p in Path(directory).iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
    )
    documents = [parse_document(path) for path in paths]
    metas = resolve_relations([doc.meta for doc in documents])
    return [replace(doc, meta=meta) for doc, meta in zip(documents, metas, strict=True)]
