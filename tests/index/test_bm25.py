"""BM25Index agrees with rank_bm25's BM25Okapi on the real corpus, ranks, masks and round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from corpus.models import Clause
from index.bm25 import BM25Index
from index.build import indexed_text
from index.tokenize import ChineseTokenizer

QUERIES = [
    "普惠托育服务",
    "困境儿童分类保障",
    "渝中区 儿童友好医院建设",
    "防治中小学生欺凌",
    "孩子被欺负了怎么办",
    "打疫苗要钱吗",
    "渝中府办〔2024〕7号",
    "第(17)条 婴幼儿照护",
    "儿童 儿童 儿童 友好",  # repeated terms count once per occurrence
    "广西 留守儿童 关爱",
    "长宁区 15分钟生活圈",
    "完全不相干的词 quantum",
]


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


@pytest.fixture(scope="module")
def corpus_tokens(tokenizer, paragraph_clauses: list[Clause]) -> list[list[str]]:
    return [tokenizer(indexed_text(c)) for c in paragraph_clauses]


def compare_with_rank_bm25(token_lists, queries, tokenizer, **params) -> None:
    """Assert our scores equal BM25Okapi's for every query (model: bm25s tests/__init__.py)."""
    ours = BM25Index.build(token_lists, **params)
    reference = BM25Okapi(token_lists, **params)
    for query in queries:
        query_tokens = tokenizer(query)
        expected = reference.get_scores(query_tokens)
        got = ours.scores(query_tokens)
        assert got.shape == expected.shape
        assert np.allclose(got, expected), (query, np.abs(got - expected).max())


def test_scores_equal_bm25okapi_on_the_corpus(corpus_tokens, tokenizer):
    reference = BM25Okapi(corpus_tokens)
    # The corpus must exercise BM25Okapi's epsilon floor (terms in more than half of the clauses)
    # and give real non-zero scores, or the comparison proves little.
    assert any(idf == reference.average_idf * 0.25 for idf in reference.idf.values())
    assert reference.get_scores(tokenizer("普惠托育服务")).max() > 1.0
    compare_with_rank_bm25(corpus_tokens, QUERIES, tokenizer)


@pytest.mark.parametrize(
    "params", [{"k1": 1.2, "b": 0.75}, {"k1": 2.0, "b": 0.3, "epsilon": 0.5}, {"b": 1.0}]
)
def test_scores_equal_bm25okapi_with_other_parameters(corpus_tokens, tokenizer, params):
    compare_with_rank_bm25(corpus_tokens, QUERIES, tokenizer, **params)


def test_negative_idf_floor_matches_bm25okapi():
    # "common" is in 4 of 5 documents: negative idf, replaced by epsilon * average idf.
    docs = [["common", "a"], ["common", "b", "b"], ["common", "c"], ["common"], ["d", "e", "f"]]
    compare_with_rank_bm25(docs, ["common", "common b", "f d", "zzz"], str.split)


def test_top_k_follows_the_reference_ranking(corpus_tokens, tokenizer, paragraph_clauses):
    index = BM25Index.build(corpus_tokens)
    reference = BM25Okapi(corpus_tokens)
    for query in QUERIES[:-1]:
        query_tokens = tokenizer(query)
        expected_scores = reference.get_scores(query_tokens)
        ids, scores = index.top_k(query_tokens, 10)
        matching = sum(1 for tokens in corpus_tokens if set(tokens) & set(query_tokens))
        assert len(ids) == min(10, matching) > 0
        assert np.all(np.diff(scores) <= 0)
        # Same scores as the reference's 10 best (ties may be ordered differently by float noise).
        assert np.allclose(scores, np.sort(expected_scores)[::-1][: len(ids)])
    ids, _ = index.top_k(tokenizer("普惠托育"), 3)
    assert "托育" in paragraph_clauses[ids[0]].text


def test_top_k_returns_only_matching_documents():
    index = BM25Index.build([["托育", "服务"], ["教育"], ["托育"], [], ["服务"]])
    ids, scores = index.top_k(["托育"], 10)
    assert sorted(ids.tolist()) == [0, 2] and np.all(scores > 0)
    assert index.top_k(["不存在"], 5)[0].size == 0
    assert index.top_k([], 5)[0].size == 0
    assert index.top_k(["托育"], 0)[0].size == 0


def test_top_k_mask_restricts_candidates(corpus_tokens, tokenizer, paragraph_clauses):
    index = BM25Index.build(corpus_tokens)
    query = tokenizer("普惠托育服务")
    mask = np.array([c.doc_id == "guangxi-plan" for c in paragraph_clauses])
    ids, scores = index.top_k(query, 5, mask=mask)
    assert len(ids) == 5
    assert all(paragraph_clauses[i].doc_id == "guangxi-plan" for i in ids)
    full = index.scores(query)
    assert np.allclose(scores, np.sort(full[mask])[::-1][:5])
    with pytest.raises(ValueError, match="mask"):
        index.top_k(query, 5, mask=mask[:-1])


def test_ties_are_broken_by_document_order():
    index = BM25Index.build([["x"], ["y"], ["x"], ["x"], ["z"]])
    ids, _ = index.top_k(["x"], 2)
    assert ids.tolist() == [0, 2]


def test_save_load_round_trip(tmp_path, corpus_tokens, tokenizer):
    index = BM25Index.build(corpus_tokens, k1=1.2, b=0.7, epsilon=0.3)
    written = index.save(tmp_path)
    assert sorted(p.name for p in written) == ["bm25.json", "bm25.npz"]
    loaded = BM25Index.load(tmp_path)
    assert (loaded.k1, loaded.b, loaded.epsilon) == (1.2, 0.7, 0.3)
    assert loaded.vocabulary == index.vocabulary
    assert np.array_equal(loaded.doc_lengths, index.doc_lengths)
    for query in QUERIES:
        assert np.array_equal(loaded.scores(tokenizer(query)), index.scores(tokenizer(query)))


def test_build_is_deterministic(corpus_tokens):
    first, second = BM25Index.build(corpus_tokens), BM25Index.build(corpus_tokens)
    assert first.vocabulary == second.vocabulary
    assert (first.weights != second.weights).nnz == 0


def test_scores_equal_bm25okapi_on_parsed_clauses(parsed_documents, tokenizer):
    token_lists = [tokenizer(indexed_text(c)) for d in parsed_documents for c in d.clauses]
    compare_with_rank_bm25(token_lists, QUERIES, tokenizer)


def _exhaustive_top_k(index: BM25Index, query_tokens, k, mask=None):
    scores = index.scores(query_tokens)
    keep = scores != 0 if mask is None else (scores != 0) & mask
    candidates = np.flatnonzero(keep)
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    return candidates[order], scores[candidates][order]


def test_pruned_top_k_equals_exhaustive_scoring(corpus_tokens, paragraph_clauses, monkeypatch):
    import index.bm25 as bm25_module

    monkeypatch.setattr(bm25_module, "PRUNE_MIN_POSTINGS", 0)  # prune even on this small corpus
    index = BM25Index.build(corpus_tokens)
    proved = []
    original = BM25Index._top_k_pruned

    def spy(self, terms, k, mask, work_budget):
        result = original(self, terms, k, mask, work_budget=10**9)  # no budget: exercise the proof
        proved.append(result is not None)
        return result

    monkeypatch.setattr(BM25Index, "_top_k_pruned", spy)
    # Queries made of a rare and a common part, the shape pruning is for, plus clause lines themselves.
    queries = [[*tokens[:3], "儿童", "建设", "发展"] for tokens in corpus_tokens[::9] if tokens]
    masks = [None, np.array([c.doc_id != "dadukou-plan" for c in paragraph_clauses])]
    for query in queries:
        for mask in masks:
            for k in (1, 5, 20):
                got_ids, got_scores = index.top_k(query, k, mask=mask)
                want_ids, want_scores = _exhaustive_top_k(index, query, k, mask)
                assert np.array_equal(got_ids, want_ids), query
                assert np.array_equal(got_scores, want_scores), query
    assert sum(proved) > len(proved) // 4  # the pruned path really answered many of them
