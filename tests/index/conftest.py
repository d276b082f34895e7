"""Fixtures for index tests: the bundled corpus as clauses.

`paragraph_documents` cuts each corpus file into one clause per non-empty line, with the nearest
preceding heading as its section path; it does not depend on the parser, so the index can be tested
on the real text on its own. `parsed_documents` is the parser's output (the session's `corpus_documents`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from corpus.models import Clause, Document, DocumentMeta
from tests.conftest import CORPUS_DIR

# The places each bundled document is about (test data, the real values come from corpus metadata).
REGIONS = {
    "yuzhong-plan": ("渝中区", ("重庆市",)),
    "yuzhong-interpretation": ("渝中区", ("重庆市",)),
    "dadukou-plan": ("大渡口区", ("重庆市",)),
    "guangxi-plan": ("广西壮族自治区", ()),
    "changning-plan": ("长宁区", ("上海市",)),
}
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|专栏)")
_CLAUSE_NUMBER = re.compile(r"^\s*[（(](\d+)[)）]")


def paragraph_document(path: Path) -> Document:
    """Return a Document whose clauses are the non-empty lines of `path`, verbatim."""
    raw = path.read_bytes()
    region, parents = REGIONS.get(path.stem, (None, ()))
    meta = DocumentMeta(
        id=path.stem,
        title=path.stem,
        region=region,
        region_parents=parents,
        source_file=path.name,
        checksum=hashlib.sha256(raw).hexdigest(),
    )
    clauses = []
    heading: tuple[str, ...] = ()
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if _HEADING.match(line):
            heading = (line.strip()[:30],)
        match = _CLAUSE_NUMBER.match(line)
        clauses.append(
            Clause(
                id=f"{path.stem}:{number}",
                doc_id=path.stem,
                number=match.group(1) if match else None,
                path=heading,
                text=line,
                lines=(number, number),
            )
        )
    return Document(meta=meta, clauses=tuple(clauses))


@pytest.fixture(scope="session")
def paragraph_documents() -> list[Document]:
    """The five bundled documents, one clause per non-empty source line."""
    documents = [paragraph_document(p) for p in sorted(CORPUS_DIR.glob("*.txt"))]
    assert len(documents) == 5
    return documents


@pytest.fixture(scope="session")
def paragraph_clauses(paragraph_documents: list[Document]) -> list[Clause]:
    """All clauses of `paragraph_documents`, in order."""
    return [c for d in paragraph_documents for c in d.clauses]


@pytest.fixture(scope="session")
def parsed_documents(corpus_documents: tuple[Document, ...]) -> list[Document]:
    """The bundled corpus as parsed by `corpus.load.load_corpus`."""
    assert len(corpus_documents) == 5
    return list(corpus_documents)
