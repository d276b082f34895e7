"""Sentences with offsets and the answering sentence (rag/sentences.py), on the bundled documents."""

from __future__ import annotations

from corpus.models import Clause
from rag.detail import BY_NAME
from rag.sentences import answering_sentences, sentence_spans, split_sentences


def test_every_sentence_of_every_clause_is_verbatim_and_in_order(corpus_documents) -> None:
    for document in corpus_documents:
        for clause in document.clauses:
            spans = sentence_spans(clause.text)
            assert spans, clause.id
            previous_end = 0
            for start, end in spans:
                piece = clause.text[start:end]
                assert piece == piece.strip() and piece, (clause.id, piece)
                assert start >= previous_end
                previous_end = end
            # Nothing but whitespace falls between the sentences.
            covered = "".join(clause.text[s:e] for s, e in spans)
            assert "".join(clause.text.split()) == "".join(covered.split()), clause.id


def test_a_closing_quote_stays_with_its_sentence() -> None:
    text = "推进“儿童友好。”建设示范点。"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["推进“儿童友好。”", "建设示范点。"]


def _clause(text: str, number: str | None = "(24)") -> Clause:
    return Clause("c", "yuzhong-plan", number, ("四、具体举措",), text, (1, 1))


def _tokens(text: str) -> list[str]:
    return [ch for ch in text if "\u4e00" <= ch <= "\u9fff"] + [text[i : i + 2] for i in range(len(text) - 1)]


HPV = (
    "(24)加强儿童疫苗接种。开展适龄女童及家长宫颈癌防治知识健康教育及HPV疫苗接种宣传教育工作，"
    "为在校初中适龄女学生免费接种HPV疫苗。到2026年，渝中区适龄儿童免疫规划疫苗接种率≥90%。"
)


def test_the_sentence_stating_the_asked_detail_answers() -> None:
    clause = _clause(HPV)
    spans = answering_sentences(
        clause, split_sentences(HPV, _tokens), ["疫苗"], lambda w: 1.0, BY_NAME["free"]
    )
    assert spans[0].text.endswith("免费接种HPV疫苗。")
    for span in spans:
        assert HPV[span.start : span.end] == span.text


def test_the_clause_heading_gives_way_to_its_body() -> None:
    clause = _clause(HPV)
    spans = answering_sentences(clause, split_sentences(HPV, _tokens), ["接种"], lambda w: 1.0)
    assert spans and not spans[0].text.startswith("(24)")


def test_no_shared_word_means_no_answering_sentence() -> None:
    clause = _clause(HPV)
    assert answering_sentences(clause, split_sentences(HPV, _tokens), ["停车"], lambda w: 1.0) == ()
