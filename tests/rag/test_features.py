"""Per-clause features (rag/features.py) on the bundled documents: words, not character pairs; sentences
verbatim; the headings above a clause count for it; computed once and kept."""

from __future__ import annotations

from rag.engine import Engine

BAOBAOWU = "全面推进社区托育“宝宝屋”建设"  # changning-plan (20)


def _position(engine: Engine, text: str) -> int:
    return next(i for i, c in enumerate(engine.clauses) if text in c.text)


def test_sentences_are_verbatim_pieces_of_the_clause(engine: Engine) -> None:
    position = _position(engine, BAOBAOWU)
    text = engine.clauses[position].text
    sentences = engine.features.sentences(position)
    assert sentences and all(text[s.start : s.end] == s.text for s in sentences)
    assert engine.features.sentences(position) is sentences  # kept, not cut again


def test_coverage_counts_words_and_the_headings_above(engine: Engine) -> None:
    position = _position(engine, BAOBAOWU)
    words = engine.coverage.topic_words("长宁区宝宝屋")
    assert engine.features.topic_coverage(words, position) == 1.0
    assert {"幼有", "善育"} <= engine.features.heading_tokens(position)  # 6.高质量推进幼有善育, above it
    # A word is covered by a word, not by two characters that happen to stand together.
    caring = _position(engine, "艺术护照")
    assert "护照" in engine.features.tokens(caring)
    assert engine.features.topic_coverage(["护照"], _position(engine, BAOBAOWU)) == 0.0
