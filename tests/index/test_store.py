"""The index folder: save/load round trip, manifest contents, atomic replace, clear load errors."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from corpus.models import Document
from index.bm25 import BM25Index
from index.build import DEFAULT_CHAR_NGRAMS, build_index, harvest_terms, indexed_text
from index.dense import DenseIndex
from index.store import (
    FORMAT_VERSION,
    IndexLoadError,
    corpus_checksum,
    index_exists,
    load_index,
    save_index,
)
from index.tokenize import ChineseTokenizer

BM25_FILES = {"clauses.jsonl", "documents.json", "bm25.npz", "bm25.json", "manifest.json"}
DENSE_FILES = {"dense.faiss", "dense.json"}


@pytest.fixture(scope="module")
def bm25_index_dir(tmp_path_factory, paragraph_documents) -> Path:
    out = tmp_path_factory.mktemp("bm25-only") / "index"
    build_index(paragraph_documents, out, embed_model=None, progress=False)
    return out


@pytest.fixture(scope="module")
def vector_index_dir(tmp_path_factory, paragraph_documents, tiny_embed_model) -> Path:
    out = tmp_path_factory.mktemp("hybrid") / "index"
    report = build_index(paragraph_documents, out, embed_model=str(tiny_embed_model), progress=False)
    assert report.retrievers == ("bm25", "vector")
    return out


@pytest.fixture
def damaged_copy(tmp_path, bm25_index_dir) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(bm25_index_dir, copy)
    return copy


def test_bm25_only_round_trip(bm25_index_dir, paragraph_documents: list[Document]):
    loaded = load_index(bm25_index_dir)
    clauses = [c for d in paragraph_documents for c in d.clauses]
    assert list(loaded.clauses) == clauses
    assert [c.text for c in loaded.clauses] == [c.text for c in clauses]  # verbatim, not the indexed text
    assert [d.to_dict() for d in loaded.documents] == [d.meta.to_dict() for d in paragraph_documents]
    assert loaded.retrievers == ("bm25",)
    assert loaded.dense is None and loaded.embedder is None and loaded.warnings == ()
    # The reloaded tokenizer cuts text exactly like the one used at build time, and BM25 agrees.
    metas = [d.meta for d in paragraph_documents]
    tokenizer = ChineseTokenizer(harvest_terms(metas), char_ngrams=DEFAULT_CHAR_NGRAMS)
    assert loaded.tokenizer.settings() == tokenizer.settings()
    fresh = BM25Index.build([tokenizer(indexed_text(c)) for c in clauses])
    for query in ["普惠托育", "困境儿童", "渝中府办〔2024〕7号"]:
        assert np.allclose(loaded.bm25.scores(loaded.tokenizer(query)), fresh.scores(tokenizer(query)))


def test_manifest_describes_the_index(bm25_index_dir, paragraph_documents):
    manifest = json.loads((bm25_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["clause_count"] == sum(len(d.clauses) for d in paragraph_documents)
    assert manifest["document_count"] == 5
    assert manifest["retrievers"] == ["bm25"]
    assert manifest["embedding"] is None
    expected_checksum = hashlib.sha256(
        "".join(c + "\n" for c in sorted(d.meta.checksum for d in paragraph_documents)).encode()
    ).hexdigest()
    metas = [d.meta for d in paragraph_documents]
    assert manifest["corpus_checksum"] == expected_checksum == corpus_checksum(metas)
    assert manifest["tokenizer"]["kind"] == "jieba" and manifest["tokenizer"]["mode"] == "search"
    assert (
        set(manifest["files"]) | {"manifest.json"} == BM25_FILES == {p.name for p in bm25_index_dir.iterdir()}
    )
    for name, entry in manifest["files"].items():
        data = (bm25_index_dir / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert manifest["created_at"].endswith("+00:00")


def test_vector_round_trip(vector_index_dir, tiny_embed_model, paragraph_clauses):
    manifest = json.loads((vector_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["retrievers"] == ["bm25", "vector"]
    assert manifest["embedding"] == {"model": str(tiny_embed_model), "dimension": 32, "index_kind": "flat"}
    assert {p.name for p in vector_index_dir.iterdir()} == BM25_FILES | DENSE_FILES
    loaded = load_index(vector_index_dir)
    assert loaded.retrievers == ("bm25", "vector") and loaded.warnings == ()
    assert loaded.embedder is not None and loaded.dense is not None
    assert loaded.embed_model == str(tiny_embed_model)
    target = next(i for i, c in enumerate(paragraph_clauses) if "(17)加快婴幼儿照护" in c.text)
    query_vector = loaded.embedder.encode_query(indexed_text(paragraph_clauses[target]))
    ids, scores = loaded.dense.search(query_vector, 3)
    assert ids[0] == target and scores[0] == pytest.approx(1.0, abs=1e-4)


def test_load_without_vectors_or_with_given_embedder(vector_index_dir, tiny_embed_model):
    assert load_index(vector_index_dir, load_vectors=False).retrievers == ("bm25",)
    from index.dense import load_embedder

    embedder, _ = load_embedder(str(tiny_embed_model))
    loaded = load_index(vector_index_dir, embedder=embedder)
    assert loaded.embedder is embedder and loaded.retrievers == ("bm25", "vector")


def test_missing_model_at_load_falls_back_to_bm25(tmp_path, paragraph_documents, tiny_embed_model):
    model_copy = tmp_path / "model-that-goes-away"
    shutil.copytree(tiny_embed_model, model_copy)
    out = tmp_path / "index"
    build_index(paragraph_documents[:1], out, embed_model=str(model_copy), progress=False)
    shutil.rmtree(model_copy)
    loaded = load_index(out)
    assert loaded.retrievers == ("bm25",) and loaded.dense is None
    assert len(loaded.warnings) == 1
    assert str(model_copy) in loaded.warnings[0] and "POLICYQA_EMBED_MODEL" in loaded.warnings[0]


def test_embedder_of_another_dimension_is_refused(vector_index_dir):
    class EightDims:
        name = "eight"
        dimension = 8

        def encode_passages(self, texts, *, show_progress=False):
            return np.zeros((len(texts), 8), dtype=np.float32)

        def encode_query(self, text):
            return np.zeros(8, dtype=np.float32)

    loaded = load_index(vector_index_dir, embedder=EightDims())
    assert loaded.retrievers == ("bm25",)
    assert "8-d" in loaded.warnings[0] and "32-d" in loaded.warnings[0]


def test_missing_folder(tmp_path):
    with pytest.raises(IndexLoadError, match="does not exist"):
        load_index(tmp_path / "nowhere")
    assert not index_exists(tmp_path / "nowhere")


def test_missing_manifest(damaged_copy):
    (damaged_copy / "manifest.json").unlink()
    assert not index_exists(damaged_copy)
    with pytest.raises(IndexLoadError, match=r"no manifest\.json"):
        load_index(damaged_copy)


def test_unreadable_manifest(damaged_copy):
    (damaged_copy / "manifest.json").write_text("{truncated", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="unreadable"):
        load_index(damaged_copy)


def test_missing_file(damaged_copy):
    (damaged_copy / "bm25.npz").unlink()
    with pytest.raises(IndexLoadError, match=r"bm25\.npz is missing"):
        load_index(damaged_copy)


def test_corrupt_file_same_size_fails_its_checksum(damaged_copy):
    path = damaged_copy / "clauses.jsonl"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match=r"clauses\.jsonl .*does not match its checksum"):
        load_index(damaged_copy)


def test_truncated_file_is_reported(damaged_copy):
    path = damaged_copy / "bm25.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IndexLoadError, match=r"bm25\.npz .*bytes"):
        load_index(damaged_copy)


def test_corrupt_file_without_checksum_verification_is_still_an_index_error(damaged_copy):
    path = damaged_copy / "bm25.npz"
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexLoadError, match="unreadable"):
        load_index(damaged_copy, verify_checksums=False)


def test_wrong_format_version(damaged_copy):
    manifest_path = damaged_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexLoadError, match=f"format version {FORMAT_VERSION + 1}"):
        load_index(damaged_copy)


def test_changed_tokenizer_is_warned_about(damaged_copy):
    manifest_path = damaged_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tokenizer"]["domain_dict_sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_index(damaged_copy)
    assert any("tokenizer" in w for w in loaded.warnings)


def _save_small(out: Path, documents: list[Document]) -> None:
    clauses = [c for d in documents for c in d.clauses]
    tokenizer = ChineseTokenizer()
    bm25 = BM25Index.build([tokenizer(c.text) for c in clauses])
    save_index(out, clauses=clauses, documents=[d.meta for d in documents], tokenizer=tokenizer, bm25=bm25)


def test_rebuild_replaces_the_index_and_leaves_no_temporary_folders(tmp_path, paragraph_documents):
    out = tmp_path / "index"
    _save_small(out, paragraph_documents[:1])
    first = load_index(out)
    _save_small(out, paragraph_documents[1:3])
    second = load_index(out)
    assert len(second.clauses) == sum(len(d.clauses) for d in paragraph_documents[1:3]) != len(first.clauses)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_failed_save_keeps_the_previous_index(tmp_path, paragraph_documents, monkeypatch):
    out = tmp_path / "index"
    _save_small(out, paragraph_documents[:1])
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(self, directory):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BM25Index, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        _save_small(out, paragraph_documents[1:2])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    assert len(load_index(out).clauses) == len(paragraph_documents[0].clauses)


class _LibcWithoutRenameat2:
    """A C library as on macOS or an old glibc: no renameat2, so no atomic exchange of two folders."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass


def test_switch_works_where_the_c_library_has_no_rename_exchange(tmp_path, paragraph_documents, monkeypatch):
    monkeypatch.setattr(ctypes, "CDLL", _LibcWithoutRenameat2)
    out = tmp_path / "index"
    _save_small(out, paragraph_documents[:1])
    _save_small(out, paragraph_documents[1:2])
    assert load_index(out).clauses[0].doc_id == paragraph_documents[1].meta.id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_save_rejects_inconsistent_parts(tmp_path, paragraph_documents):
    clauses = list(paragraph_documents[0].clauses)
    tokenizer = ChineseTokenizer()
    bm25 = BM25Index.build([tokenizer(c.text) for c in clauses[:-1]])
    with pytest.raises(ValueError, match="rows"):
        save_index(tmp_path / "x", clauses=clauses, documents=[], tokenizer=tokenizer, bm25=bm25)
    bm25 = BM25Index.build([tokenizer(c.text) for c in clauses])
    dense = DenseIndex.build(np.eye(len(clauses), 8, dtype=np.float32))
    with pytest.raises(ValueError, match="model"):
        save_index(tmp_path / "x", clauses=clauses, documents=[], tokenizer=tokenizer, bm25=bm25, dense=dense)
    assert not os.path.exists(tmp_path / "x")
