"""The 发文字号 rule: every bracket variant people write reads as the same number, in headers and in text."""

from __future__ import annotations

import re

import pytest

from corpus.docnumber import DocNumber, find_doc_number, normalize_doc_number, parse_doc_number
from corpus.models import Document

YUZHONG = DocNumber("渝中府办", 2024, 7)
# The number of the bundled 渝中区 plan, written every way a scraped page or a resident writes it.
VARIANTS = [
    "渝中府办〔2024〕7号",
    "渝中府办【2024】7号",
    "渝中府办[2024]7号",
    "渝中府办（2024）7号",
    "渝中府办(2024)7号",
    "渝中府办［2024］7号",
    "渝中府办【2024]7号",  # mismatched pair, as typed on a phone
    "渝中府办〔２０２４〕７号",  # full-width digits
    "渝中府办〔2024〕 7 号",
    "渝中府办 (2024) 7号",
]


@pytest.mark.parametrize("written", VARIANTS)
def test_every_bracket_variant_is_the_same_number(written: str) -> None:
    assert parse_doc_number(written) == YUZHONG
    assert normalize_doc_number(written) == "渝中府办〔2024〕7号"
    found = find_doc_number(f"《{written}》第(17)条讲什么")
    assert found is not None and found[0] == YUZHONG
    # Glued to the words before it, the code carries them; it still names the document.
    found = find_doc_number(f"请问{written}第(17)条讲什么")
    assert found is not None and found[0].names(YUZHONG)


def test_a_number_inside_a_sentence_is_not_a_header_value() -> None:
    cited = "根据《关于推进儿童友好城市建设的指导意见》(发改社会〔2021〕1380号)"
    assert parse_doc_number(cited) is None
    found = find_doc_number(cited)
    assert found is not None and found[0] == DocNumber("发改社会", 2021, 1380)
    start, end = found[1]
    assert cited[start:end] == "发改社会〔2021〕1380号"


@pytest.mark.parametrize(
    ("question", "issuer"),
    [
        ("根据渝中府办〔2024〕7号", "渝中府办"),
        ("发文字号渝中府办〔2024〕7号是哪个文件", "渝中府办"),
        ("按照渝中府办[2024]7号的要求", "渝中府办"),
    ],
)
def test_words_before_the_issuer_code_are_not_part_of_it(question: str, issuer: str) -> None:
    found = find_doc_number(question)
    assert found is not None and found[0].issuer == issuer


def test_a_number_without_issuer_code_is_not_a_document_reference() -> None:
    assert parse_doc_number("〔2024〕7号") is None
    assert find_doc_number("〔2024〕7号是什么文件") is None
    assert find_doc_number("到2025年每千人口托位多少个") is None


def test_a_typed_number_names_a_document_only_with_the_same_code_year_and_serial() -> None:
    assert DocNumber("根据渝中府办", 2024, 7).names(YUZHONG)
    assert not DocNumber("大渡口府发", 2024, 7).names(YUZHONG)
    assert not DocNumber("渝中府办", 2023, 7).names(YUZHONG)
    assert not DocNumber("渝中府办", 2024, 8).names(YUZHONG)
    assert not DocNumber("", 2024, 7).names(YUZHONG)
    assert str(YUZHONG) == "渝中府办〔2024〕7号" and YUZHONG.core == "〔2024〕7号"


def test_every_number_printed_in_the_corpus_is_found(corpus_documents: tuple[Document, ...]) -> None:
    # Found independently of the rule: a CJK run right before 〔year〕N号.
    printed = re.compile(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2,6})〔(\d{4})〕(\d+)号")
    seen = set()
    for document in corpus_documents:
        for clause in document.clauses:
            for match in printed.finditer(clause.text):
                expected = DocNumber(match[1], int(match[2]), int(match[3]))
                found = find_doc_number(clause.text[match.start() :])
                assert found is not None and found[0] == expected, (clause.id, match[0])
                seen.add(str(expected))
    assert {"发改社会〔2021〕1380号", "沪府办发〔2022〕17号", "渝发改社会〔2022〕546号"} <= seen
    numbers = {d.meta.id: d.meta.doc_number for d in corpus_documents if d.meta.doc_number}
    assert numbers == {"dadukou-plan": "大渡口府发〔2023〕7号", "yuzhong-plan": "渝中府办〔2024〕7号"}
    assert all(normalize_doc_number(number) == number for number in numbers.values())
