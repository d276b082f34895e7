"""build_index: BM25-only fallback with one warning, the real dense path, the parsed corpus."""

from __future__ import annotations

import numpy as np
import pytest

import index.build as build_module
from corpus.models import Clause, Document, DocumentMeta
from index.build import build_index, harvest_terms, indexed_text, tokenize_texts
from index.store import load_index
from index.tokenize import ChineseTokenizer


def test_unloadable_model_builds_bm25_only_with_one_warning(tmp_path, paragraph_documents, capsys):
    missing = tmp_path / "no-such-model"
    report = build_index(paragraph_documents, tmp_path / "index", embed_model=str(missing), progress=False)
    captured = capsys.readouterr()
    assert report.retrievers == ("bm25",) and report.embed_model is None
    assert captured.out == ""
    warnings = [line for line in captured.err.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING: vector retrieval is off")
    assert str(missing) in warnings[0] and "POLICYQA_EMBED_MODEL" in warnings[0]
    assert report.warnings == (warnings[0],)
    # Serving that index repeats the warning (the manifest remembers why there are no vectors).
    loaded = load_index(tmp_path / "index")
    assert loaded.retrievers == ("bm25",)
    assert loaded.warnings == (warnings[0],)


def test_no_model_on_purpose_is_silent(tmp_path, paragraph_documents, capsys):
    report = build_index(paragraph_documents[:1], tmp_path / "index", embed_model=None, progress=False)
    assert report.retrievers == ("bm25",) and report.warnings == ()
    assert capsys.readouterr().err == ""
    assert load_index(tmp_path / "index").warnings == ()


def test_progress_goes_to_stderr(tmp_path, paragraph_documents, capsys):
    build_index(paragraph_documents[:1], tmp_path / "index", embed_model=None, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "tokenise" in captured.err


def test_dense_end_to_end_with_the_tiny_model(tmp_path, paragraph_documents, tiny_embed_model):
    report = build_index(
        paragraph_documents, tmp_path / "index", embed_model=str(tiny_embed_model), progress=False
    )
    assert report.retrievers == ("bm25", "vector")
    assert report.clause_count == sum(len(d.clauses) for d in paragraph_documents)
    assert report.document_count == 5 and report.seconds > 0
    assert {"tokenize", "embed", "save"} <= set(report.timings)  # save: BM25 and faiss assembled, written
    loaded = load_index(tmp_path / "index")
    assert loaded.retrievers == ("bm25", "vector")
    assert loaded.embedder is not None and loaded.dense is not None
    # The vectors are of section path + text: encoding the bare text does not reproduce them exactly.
    clause_index = next(i for i, c in enumerate(loaded.clauses) if c.path and "托育" in c.text)
    clause = loaded.clauses[clause_index]
    stored = loaded.dense.index.reconstruct(clause_index)
    assert np.allclose(stored, loaded.embedder.encode_passages([indexed_text(clause)])[0], atol=1e-5)
    assert not np.allclose(stored, loaded.embedder.encode_passages([clause.text])[0], atol=1e-3)


def test_indexed_text_is_path_then_verbatim_text():
    clause = Clause(
        "c1", "d", "(17)", ("四、具体举措", "7.提升儿童教育"), "(17)加快婴幼儿照护服务发展。", (1, 1)
    )
    assert indexed_text(clause) == "四、具体举措 7.提升儿童教育\n(17)加快婴幼儿照护服务发展。"
    assert indexed_text(Clause("c2", "d", None, (), "正文", (2, 2))) == "正文"


def test_duplicate_clause_ids_are_refused(tmp_path):
    meta = DocumentMeta(id="d", title="t")
    clause = Clause("same", "d", None, (), "文本", (1, 1))
    with pytest.raises(ValueError, match="duplicate clause id 'same'"):
        build_index([Document(meta, (clause, clause))], tmp_path / "index", embed_model=None, progress=False)


def test_place_names_are_harvested_from_metadata():
    metas = [
        DocumentMeta(id="a", title="t", region="南岸区", region_parents=("重庆市",), issuer="南岸区人民政府"),
        DocumentMeta(id="b", title="t", region="宁夏回族自治区"),
    ]
    assert harvest_terms(metas) == sorted(
        ["南岸区", "南岸", "重庆市", "重庆", "南岸区人民政府", "宁夏回族自治区", "宁夏"]
    )


def test_parallel_tokenisation_equals_serial(paragraph_clauses, monkeypatch):
    monkeypatch.setattr(build_module, "TOKENIZE_CHUNK", 64)
    tokenizer = ChineseTokenizer(["儿童用品流通基地"], char_ngrams=2)
    texts = [indexed_text(c) for c in paragraph_clauses]
    assert tokenize_texts(tokenizer, texts, workers=2) == tokenize_texts(tokenizer, texts, workers=1)


def test_parsed_corpus_builds_and_finds_clauses(tmp_path, parsed_documents):
    # Word tokens only (no character bigrams): this pins what the jieba dictionary alone finds.
    report = build_index(
        parsed_documents, tmp_path / "index", embed_model=None, progress=False, char_ngrams=0
    )
    loaded = load_index(tmp_path / "index")
    assert report.clause_count == len(loaded.clauses) == sum(len(d.clauses) for d in parsed_documents)
    # Places and issuers from the parsed metadata are in the dictionary.
    issuers = {d.meta.issuer for d in parsed_documents if d.meta.issuer}
    assert issuers and issuers <= set(loaded.tokenizer.settings()["extra_terms"])
    by_id = {c.id: c for c in loaded.clauses}
    cases = [
        ("普惠托育服务", "托育"),
        ("困境儿童分类保障", "困境儿童"),
        ("防治中小学生欺凌", "欺凌"),
        ("公共空间适儿化改造", "适儿化"),
    ]
    for query, expected_word in cases:
        ids, _ = loaded.bm25.top_k(loaded.tokenizer(query), 3)
        assert expected_word in by_id[loaded.clauses[ids[0]].id].text, query
    # A clause number plus its topic finds that clause of the plan.
    ids, _ = loaded.bm25.top_k(loaded.tokenizer("(17) 婴幼儿照护服务"), 1)
    top = loaded.clauses[ids[0]]
    assert top.doc_id == "yuzhong-plan" and top.number == "(17)"


def test_dense_kind_is_exact_for_small_indexes_and_hnsw_for_large() -> None:
    from index.build import EXACT_SEARCH_MAX_CLAUSES, choose_dense_kind

    assert choose_dense_kind(434) == "flat"
    assert choose_dense_kind(EXACT_SEARCH_MAX_CLAUSES) == "flat"
    assert choose_dense_kind(EXACT_SEARCH_MAX_CLAUSES + 1) == "hnsw"
