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
from index.sentences import SENTENCE_FILES, SentenceVectors, passages_of
from index.store import (
    FORMAT_VERSION,
    DuplicateClauseError,
    IndexContents,
    IndexLoadError,
    corpus_checksum,
    edited_in_place,
    index_exists,
    load_index,
    read_tokens,
    save_index,
)
from index.tokenize import ChineseTokenizer

BM25_FILES = {
    "clauses.jsonl",
    "documents.json",
    "bm25_tokens.jsonl",
    "bm25.npz",
    "bm25.json",
    "manifest.json",
}
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
    # The tokens of each clause are kept, so an in-place change cuts only new text.
    stored = read_tokens(bm25_index_dir, loaded.manifest, len(clauses))
    assert stored == [tokenizer(indexed_text(c)) for c in clauses]


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
    assert manifest["edited"] is False and not edited_in_place(manifest)


def test_vector_round_trip(vector_index_dir, tiny_embed_model, paragraph_clauses):
    sentence_texts, owner = passages_of(paragraph_clauses)
    manifest = json.loads((vector_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["retrievers"] == ["bm25", "vector"]
    assert manifest["embedding"] == {
        "model": str(tiny_embed_model),
        "model_version": None,
        "dimension": 32,
        "index_kind": "flat",
        "sentences": len(sentence_texts),
    }
    assert {p.name for p in vector_index_dir.iterdir()} == BM25_FILES | DENSE_FILES | set(SENTENCE_FILES)
    loaded = load_index(vector_index_dir)
    assert loaded.retrievers == ("bm25", "vector") and loaded.warnings == ()
    assert loaded.embedder is not None and loaded.dense is not None
    assert loaded.sentences is not None and np.array_equal(loaded.sentences.owner, owner)
    stored = loaded.sentences.dense.vectors(range(loaded.sentences.size))
    assert np.allclose(stored, loaded.embedder.encode_passages(sentence_texts), atol=1e-5)
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


def _contents(documents: list[Document], **fields: object) -> IndexContents:
    clauses = tuple(c for d in documents for c in d.clauses)
    tokenizer = ChineseTokenizer()
    tokens = tuple(tokenizer(c.text) for c in clauses)
    return IndexContents(clauses, tuple(d.meta for d in documents), tokenizer, tokens, **fields)  # type: ignore[arg-type]


def _save_small(out: Path, documents: list[Document], **options: bool) -> None:
    save_index(out, _contents(documents), **options)


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
    contents = _contents(paragraph_documents[:1])
    with pytest.raises(ValueError, match="token rows"):
        save_index(
            tmp_path / "x", IndexContents(contents.clauses, (), contents.tokenizer, contents.tokens[:-1])
        )
    vectors = np.eye(len(contents.clauses), 8, dtype=np.float32)
    with pytest.raises(ValueError, match="model"):
        save_index(tmp_path / "x", _contents(paragraph_documents[:1], vectors=vectors))
    with pytest.raises(ValueError, match="vectors for"):
        save_index(tmp_path / "x", _contents(paragraph_documents[:1], vectors=vectors[:-1], embed_model="m"))
    clause = contents.clauses[0]
    with pytest.raises(DuplicateClauseError, match=clause.id):
        save_index(tmp_path / "x", IndexContents((clause, clause), (), contents.tokenizer, ([], [])))
    assert not os.path.exists(tmp_path / "x")


def test_contents_round_trip_with_vectors(tmp_path, paragraph_documents):
    vectors = np.random.default_rng(0).standard_normal((len(_contents(paragraph_documents).clauses), 8))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    contents = _contents(
        paragraph_documents, vectors=vectors, embed_model="m", dense_kind="hnsw", edited=True
    )
    manifest = save_index(tmp_path / "index", contents)
    loaded = load_index(tmp_path / "index", load_vectors=False)
    assert loaded.clauses == contents.clauses and loaded.documents == contents.documents
    assert read_tokens(tmp_path / "index", manifest, len(contents.clauses)) == [
        list(t) for t in contents.tokens
    ]
    assert manifest["embedding"]["index_kind"] == "hnsw" and manifest["retrievers"] == ["bm25", "vector"]
    assert edited_in_place(manifest)
    dense = DenseIndex.load(tmp_path / "index")
    assert np.array_equal(dense.vectors(range(dense.size)), vectors)
    assert np.array_equal(dense.vectors([3, 0]), vectors[[3, 0]])


def test_files_beside_the_index_stay_only_when_asked(tmp_path, paragraph_documents):
    out = tmp_path / "index"
    _save_small(out, paragraph_documents[:1])
    (out / "fusion.json").write_text("{}", encoding="utf-8")  # written beside it, e.g. by calibration
    _save_small(out, paragraph_documents[:2], keep_beside=True)
    assert (out / "fusion.json").read_text(encoding="utf-8") == "{}"
    assert "fusion.json" not in load_index(out).manifest["files"]
    _save_small(out, paragraph_documents[:1])  # a new build: nothing of the old folder stays
    assert not (out / "fusion.json").exists()


def test_an_index_written_before_the_manifest_said_edited_is_judged_by_its_token_file():
    assert edited_in_place({"files": {"bm25_tokens.jsonl": {}}})
    assert not edited_in_place({"files": {"clauses.jsonl": {}}})
    assert not edited_in_place({"edited": False, "files": {"bm25_tokens.jsonl": {}}})


def test_damaged_sentence_vectors_are_an_index_error(tmp_path, vector_index_dir):
    copy = tmp_path / "index"
    shutil.copytree(vector_index_dir, copy)
    owner = np.load(copy / "sentence_owner.npy")
    np.save(copy / "sentence_owner.npy", owner[::-1].copy())  # same size, clause order broken
    with pytest.raises(IndexLoadError, match=r"sentence vectors .* unreadable"):
        load_index(copy, verify_checksums=False)
    with pytest.raises(IndexLoadError, match=r"sentence_owner\.npy .*checksum"):
        load_index(copy)


def test_an_index_without_sentence_vectors_searches_clauses_only(
    tmp_path, vector_index_dir, paragraph_clauses
):
    copy = tmp_path / "index"
    shutil.copytree(vector_index_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for name in SENTENCE_FILES:  # as an index written before sentences had vectors
        (copy / name).unlink()
        del manifest["files"][name]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_index(copy)
    assert loaded.sentences is None and loaded.retrievers == ("bm25", "vector")


def test_save_rejects_sentence_owners_out_of_clause_order(tmp_path, paragraph_documents):
    count = len(_contents(paragraph_documents[:1]).clauses)
    vectors = np.eye(count, 8, dtype=np.float32)
    for owner in ([1, 0], [0, count]):
        contents = _contents(
            paragraph_documents[:1],
            vectors=vectors,
            embed_model="m",
            sentence_vectors=vectors[:2],
            sentence_owner=np.asarray(owner),
        )
        with pytest.raises(ValueError, match="sentence owners"):
            save_index(tmp_path / "x", contents)
    assert SentenceVectors.build(vectors[:2], np.asarray([0, 0])).size == 2
