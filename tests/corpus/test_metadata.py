"""The manifest of each document: what the text states, with the line it was read from."""

from __future__ import annotations

import pytest

from corpus.docnumber import normalize_doc_number
from corpus.metadata import doc_type_of, notice_parts, parse_date, region_of
from corpus.models import Document, DocumentMeta, Relation
from corpus.parse import parse_text

EXPECTED: dict[str, dict[str, tuple[str | None, int | None]]] = {
    "yuzhong-plan": {
        "title": ("重庆市渝中区儿童友好城市建设三年行动计划(2024—2026年)", 29),
        "issuer": ("重庆市渝中区人民政府办公室", 23),
        "doc_number": ("渝中府办〔2024〕7号", 3),
        "date_written": ("2024-03-14", 2),
        "date_published": ("2024-04-01", 2),
        "region": ("渝中区", 29),
        "type": ("行动计划", 29),
    },
    "yuzhong-interpretation": {
        "title": ("《重庆市渝中区儿童友好城市建设 三年行动计划(2024-2026年)》政策解读", 13),
        "issuer": ("渝中区政府办公室", 1),
        "doc_number": (None, None),  # the header prints "发文字号" with no value
        "date_written": ("2024-03-14", 2),
        "date_published": ("2024-04-02", 2),
        "region": ("渝中区", 13),
        "type": ("政策解读", 13),
    },
    "dadukou-plan": {
        "title": ("重庆市大渡口区儿童发展规划（2021-2030年）", 17),
        "issuer": ("重庆市大渡口区人民政府", 12),
        "doc_number": ("大渡口府发〔2023〕7号", 2),
        "date_written": ("2023-02-27", 14),
        "date_published": (None, None),
        "region": ("大渡口区", 17),
        "type": ("规划", 17),
    },
    "guangxi-plan": {
        "title": ("广西推进儿童友好城市建设实施方案", 4),
        "issuer": ("广西壮族自治区发展和改革委员会", 113),  # 文章来源
        "doc_number": (None, None),  # 发改社会〔2021〕1380号 in the opening paragraph is cited, not its own
        "date_written": (None, None),
        "date_published": ("2022-12-15", 5),
        "region": ("广西壮族自治区", 8),  # "广西" in the title, full name stated on line 8
        "type": ("实施方案", 4),
    },
    "changning-plan": {
        "title": ("上海市长宁区推进儿童友好城区建设行动计划", 15),
        "issuer": ("上海市长宁区人民政府办公室", 11),
        "doc_number": (None, None),  # 发改社会〔2021〕1380号 and 沪府办发〔2022〕17号 are cited documents
        "date_written": ("2024-03-27", 13),
        "date_published": (None, None),
        "region": ("长宁区", 15),
        "type": ("行动计划", 15),
    },
}
PARENTS = {
    "yuzhong-plan": ("重庆市",),
    "yuzhong-interpretation": ("重庆市",),
    "dadukou-plan": ("重庆市",),
    "guangxi-plan": (),
    "changning-plan": ("上海市",),
}


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_metadata_and_evidence(
    documents: dict[str, Document], source_lines: dict[str, list[str]], doc_id: str
) -> None:
    meta = documents[doc_id].meta
    for field, (value, line) in EXPECTED[doc_id].items():
        assert getattr(meta, field) == value, field
        assert meta.evidence.get(field) == line, field
        if field in ("issuer", "region") and value is not None and line is not None:
            assert value in source_lines[doc_id][line - 1], "the value is printed on its evidence line"
    assert meta.region_parents == PARENTS[doc_id]
    assert meta.source_file == f"{doc_id}.txt"
    assert len(meta.checksum) == 64


def test_interpretation_links_to_the_plan(documents: dict[str, Document]) -> None:
    assert documents["yuzhong-interpretation"].meta.relations == (Relation("interprets", "yuzhong-plan"),)
    assert documents["yuzhong-interpretation"].meta.evidence["relations"] == 13
    assert all(
        doc.meta.relations == () for doc_id, doc in documents.items() if doc_id != "yuzhong-interpretation"
    )


def test_manifest_round_trips(documents: dict[str, Document]) -> None:
    for doc in documents.values():
        data = doc.meta.to_dict()
        assert {"title", "issuer", "doc_number", "date_written", "date_published", "region", "type"} <= set(
            data
        )
        assert DocumentMeta.from_dict(data) == doc.meta


@pytest.mark.parametrize(
    "printed",
    [
        "渝中府办〔2024〕7号",
        "渝中府办[2024]7号",
        "渝中府办(2024)7号",
        "渝中府办（2024）7号",
        "渝中府办［2024］7号",
        "渝中府办〔2024〕 7 号",
    ],
)
def test_doc_number_bracket_variants(printed: str) -> None:
    assert normalize_doc_number(printed) == "渝中府办〔2024〕7号"


def test_doc_number_rejects_sentences() -> None:
    assert normalize_doc_number("根据《关于推进儿童友好城市建设的指导意见》(发改社会〔2021〕1380号)") is None


def test_header_number_with_square_brackets_is_read() -> None:
    text = (
        "索引号 X/2024-1 发布机构 某区政府办公室\n"
        "发文字号 某府办[2024]12号\n\n"
        "某区关于印发《某区儿童友好行动计划》的通知\n"
    )
    meta = parse_text(text, "demo").meta
    assert meta.doc_number == "某府办〔2024〕12号" and meta.evidence["doc_number"] == 2


def test_values_not_stated_stay_empty() -> None:
    meta = parse_text("一、总体要求\n（一）工作目标。到2025年建成。\n", "bare").meta
    assert meta.title == "bare"
    assert (meta.issuer, meta.doc_number, meta.date_written, meta.date_published, meta.region, meta.type) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert meta.evidence == {}


def test_cited_numbers_in_the_opening_paragraph_are_not_taken() -> None:
    text = (
        "某市儿童友好城市建设实施方案\n\n"
        "根据《关于推进儿童友好城市建设的指导意见》（发改社会〔2021〕1380号），制定本方案。\n\n"
        "一、总体要求\n"
    )
    assert parse_text(text, "demo").meta.doc_number is None


def test_rule_helpers() -> None:
    assert parse_date("2024年3月14日") == "2024-03-14"
    assert parse_date("成文日期 2024-03-14") == "2024-03-14"
    assert parse_date("无日期") is None
    assert notice_parts("重庆市渝中区人民政府办公室关于印发《渝中区行动计划》的通知") == (
        "重庆市渝中区人民政府办公室",
        "渝中区行动计划",
    )
    assert notice_parts("关于做好儿童工作的意见") is None
    assert doc_type_of("重庆市大渡口区儿童发展规划（2021-2030年）") == "规划"
    assert doc_type_of("《某某行动计划》政策解读") == "政策解读"
    assert region_of("重庆市渝中区儿童友好城市建设三年行动计划") == ("渝中区", ("重庆市",))
    assert region_of("广西推进儿童友好城市建设实施方案") == ("广西壮族自治区", ())
    assert region_of("推进儿童友好城市建设实施方案") is None
