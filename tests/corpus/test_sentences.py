"""Sentence ends: one set of marks for parsing (line joins, heading splits), highlighting and replies."""

from __future__ import annotations

import pytest

from corpus.sentences import FULL_STOPS, LINE_ENDS, SENTENCE_ENDS, ends_sentence, first_full_stop
from corpus.text import normalize
from tests.conftest import CORPUS_DIR


def test_each_set_of_marks_extends_the_previous_one() -> None:
    assert set(FULL_STOPS) < set(SENTENCE_ENDS) < set(LINE_ENDS)
    # Scraped pages mix full-width and half-width punctuation: both forms of every mark count.
    for marks in (FULL_STOPS, SENTENCE_ENDS, LINE_ENDS):
        assert all(normalize(mark) in marks for mark in marks), marks


@pytest.mark.parametrize(
    ("line", "complete"),
    [
        ("第一条　为了规范儿童福利机构管理，根据《中华人民共和国未成", False),  # broken at the page width
        ("年人保护法》，制定本办法。", True),
        ("（一）儿童利益最大化；", True),
        ("第三条　儿童福利机构应当遵循下列原则：", True),
        ("（二）依法保障儿童权利(试行)", True),
        ("一、总体要求", False),
        ("Is it complete?  ", True),
        ("", False),
    ],
)
def test_ends_sentence(line: str, complete: bool) -> None:
    assert ends_sentence(line) is complete


def test_real_paragraphs_end_a_sentence_and_headings_do_not() -> None:
    text = (CORPUS_DIR / "yuzhong-plan.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    headings = ["一、指导思想", "二、基本原则", "四、具体举措", "五、组织实施"]
    assert all(heading in lines and not ends_sentence(heading) for heading in headings)
    paragraphs = [line for line in lines if len(line) > 60]
    assert len(paragraphs) > 50 and all(ends_sentence(line) for line in paragraphs)


def test_first_full_stop_ignores_semicolons_and_colons() -> None:
    assert first_full_stop("加强组织领导。发挥党委领导作用；完善机制。") == 6
    assert first_full_stop("托育服务：普惠托位；家庭托育点") == -1
    assert first_full_stop("什么时候开始?下个月!") == 6
