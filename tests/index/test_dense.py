"""Dense path: the real sentence-transformers loader on a tiny local model, faiss search, fast failure."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from index.build import indexed_text
from index.dense import (
    BGE_ZH_QUERY_INSTRUCTION,
    DenseIndex,
    Embedder,
    SentenceTransformerEmbedder,
    default_query_instruction,
    load_embedder,
)

FAILED_LOAD_BUDGET_S = 10.0  # an unloadable model must never stall build or serve for long


@pytest.fixture(scope="module")
def embedder(tiny_embed_model) -> Embedder:
    loaded, reason = load_embedder(str(tiny_embed_model))
    assert loaded is not None, reason
    return loaded


@pytest.fixture(scope="module")
def clause_texts(paragraph_clauses) -> list[str]:
    return [indexed_text(c) for c in paragraph_clauses]


@pytest.fixture(scope="module")
def vectors(embedder, clause_texts) -> np.ndarray:
    return embedder.encode_passages(clause_texts)


def test_tiny_model_loads_through_load_embedder(embedder, tiny_embed_model):
    assert isinstance(embedder, Embedder)
    assert embedder.name == str(tiny_embed_model)
    assert embedder.dimension == 32


def test_passage_vectors_are_unit_float32(vectors, clause_texts):
    assert vectors.shape == (len(clause_texts), 32)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_query_instruction_applies_to_queries_only(tiny_embed_model):
    instructed = SentenceTransformerEmbedder(
        str(tiny_embed_model), query_instruction=BGE_ZH_QUERY_INSTRUCTION
    )
    query = "看娃有补贴吗"
    with_instruction = instructed.encode_passages([BGE_ZH_QUERY_INSTRUCTION + query])[0]
    assert np.allclose(instructed.encode_query(query), with_instruction, atol=1e-5)
    assert not np.allclose(instructed.encode_query(query), instructed.encode_passages([query])[0], atol=1e-3)
    plain = SentenceTransformerEmbedder(str(tiny_embed_model))
    assert plain.query_instruction is None
    assert np.allclose(plain.encode_query(query), plain.encode_passages([query])[0], atol=1e-5)


def test_bge_zh_models_get_their_instruction_automatically():
    assert default_query_instruction("BAAI/bge-small-zh-v1.5") == BGE_ZH_QUERY_INSTRUCTION
    assert default_query_instruction("/models/bge-large-zh/") == BGE_ZH_QUERY_INSTRUCTION
    assert default_query_instruction("BAAI/bge-small-en-v1.5") is None
    assert default_query_instruction("sentence-transformers/all-MiniLM-L6-v2") is None


def test_unreachable_hub_model_fails_fast(monkeypatch, tmp_path):
    # An empty cache and a hub endpoint nobody listens on: the loader must give up quickly.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    started = time.monotonic()
    embedder, reason = load_embedder("BAAI/bge-small-zh-v1.5")
    elapsed = time.monotonic() - started
    assert embedder is None and reason is not None
    assert "BAAI/bge-small-zh-v1.5" in reason and "unreachable" in reason
    assert elapsed < FAILED_LOAD_BUDGET_S


def test_offline_mode_is_respected(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    embedder, reason = load_embedder("BAAI/bge-small-zh-v1.5")
    assert embedder is None and "HF_HUB_OFFLINE" in str(reason)
    assert time.monotonic() - started < FAILED_LOAD_BUDGET_S


@pytest.mark.parametrize("name", ["", "   ", None])
def test_no_model_configured(name):
    assert load_embedder(name) == (None, "no embedding model configured")


def test_bad_local_paths_give_reasons(tmp_path):
    embedder, reason = load_embedder(str(tmp_path / "missing-model"))
    assert embedder is None and "does not exist" in str(reason)
    a_file = tmp_path / "model.bin"
    a_file.write_bytes(b"not a model")
    embedder, reason = load_embedder(str(a_file))
    assert embedder is None and "not a sentence-transformers model folder" in str(reason)
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "modules.json").write_text("{not json", encoding="utf-8")
    embedder, reason = load_embedder(str(broken))
    assert embedder is None and str(reason).startswith(f"loading {broken} failed")


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_each_clause_finds_itself_first(embedder, vectors, clause_texts, kind):
    index = DenseIndex.build(vectors, kind)
    assert (index.size, index.dimension, index.kind) == (len(clause_texts), 32, kind)
    # Distinct texts only: identical lines (e.g. repeated headings) have identical vectors.
    first_of_text: dict[str, int] = {}
    for i, text in enumerate(clause_texts):
        first_of_text.setdefault(text, i)
    for text, position in list(first_of_text.items())[::25]:
        ids, scores = index.search(embedder.encode_query(text), 3)
        # The random model scores near-identical lines (＜1.3 / ＜2.3) within float noise of each other.
        assert position in ids.tolist()
        assert scores[ids.tolist().index(position)] == pytest.approx(1.0, abs=1e-4)
        assert scores[0] == pytest.approx(1.0, abs=1e-4)
        assert np.all(np.diff(scores) <= 1e-6)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_mask_restricts_search(embedder, vectors, paragraph_clauses, kind):
    index = DenseIndex.build(vectors, kind)
    mask = np.array([c.doc_id == "changning-plan" for c in paragraph_clauses])
    ids, scores = index.search(embedder.encode_query("普惠托育服务"), 10, mask=mask)
    assert len(ids) == 10
    assert all(paragraph_clauses[i].doc_id == "changning-plan" for i in ids)
    if kind == "flat":  # exact search: the best 10 of the masked clauses, nothing missed
        expected = np.sort(vectors[mask] @ embedder.encode_query("普惠托育服务"))[::-1][:10]
        assert np.allclose(scores, expected, atol=1e-5)
    few = np.zeros(len(paragraph_clauses), dtype=bool)
    few[[3, 7]] = True
    ids, _ = index.search(embedder.encode_query("托育"), 10, mask=few)
    assert sorted(ids.tolist()) == [3, 7]


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_dense_save_load_round_trip(tmp_path, embedder, vectors, kind):
    index = DenseIndex.build(vectors, kind)
    index.save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert (loaded.kind, loaded.size, loaded.dimension) == (kind, index.size, index.dimension)
    query = embedder.encode_query("困境儿童分类保障")
    for got, expected in zip(loaded.search(query, 5), index.search(query, 5), strict=True):
        assert np.array_equal(got, expected)


def test_bad_inputs_are_rejected(vectors):
    with pytest.raises(ValueError, match="kind"):
        DenseIndex.build(vectors, "ivf")  # type: ignore[arg-type]
    index = DenseIndex.build(vectors)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(8, dtype=np.float32), 3)
    with pytest.raises(ValueError, match="mask"):
        index.search(vectors[0], 3, mask=np.ones(3, dtype=bool))
    empty = DenseIndex.build(np.zeros((0, 32), dtype=np.float32))
    assert empty.search(vectors[0], 5)[0].size == 0


def test_a_search_runs_on_one_thread_and_leaves_the_callers_setting(vectors):
    import faiss

    index = DenseIndex.build(vectors, "flat")
    faiss.omp_set_num_threads(2)
    seen = []
    original = index.index.search

    def spying_search(*args, **kwargs):
        seen.append(faiss.omp_get_max_threads())
        return original(*args, **kwargs)

    index.index.search = spying_search
    try:
        index.search(vectors[0], 3)
        assert seen == [1]
        assert faiss.omp_get_max_threads() == 2  # a build in this thread after a search keeps both cores
    finally:
        faiss.omp_set_num_threads(os.cpu_count() or 1)
