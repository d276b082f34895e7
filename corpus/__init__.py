"""Corpus stage: raw policy text -> document tree -> clauses with provenance."""

from corpus.load import load_corpus
from corpus.models import Clause, Document, DocumentMeta, DroppedLine, Relation
from corpus.outline import format_tree
from corpus.parse import parse_document, parse_text

__all__ = [
    "Clause",
    "Document",
    "DocumentMeta",
    "DroppedLine",
    "Relation",
    "format_tree",
    "load_corpus",
    "parse_document",
    "parse_text",
]
