"""Page clutter and duplicated scraped blocks are dropped, each with its reason."""

from __future__ import annotations

from corpus.clean import classify_lines
from corpus.models import Document

# Every dropped line of the bundled documents: (line, reason, how the line starts).
DROPPED: dict[str, list[tuple[int, str, str | None]]] = {
    "yuzhong-plan": [
        *[(n, "metadata", None) for n in (1, 2, 3)],
        *[(n, "duplicate", None) for n in range(4, 12)],  # the same header printed again, one field per line
        (15, "clutter", "打印"),
        (16, "clutter", "纠错"),
        (17, "clutter", "分享到"),
        (305, "clutter", "文件下载"),
        (307, "clutter", "重庆市渝中区人民政府办公室关于印发"),
        (309, "clutter", "部门解读"),
        (311, "clutter", "《重庆市渝中区"),
        (313, "clutter", "一图读懂"),
        (315, "clutter", "媒体视角"),
        (317, "clutter", "《重庆市渝中区"),
        (319, "clutter", "扫一扫在手机打开当前页"),
    ],
    "yuzhong-interpretation": [
        *[(n, "metadata", None) for n in (1, 2, 3)],
        *[(n, "duplicate", None) for n in range(4, 12)],
        (15, "clutter", "打印"),
        (16, "clutter", "纠错"),
        (17, "clutter", "分享到"),
        (61, "clutter", "文件下载"),
        (63, "clutter", "《重庆市"),
        (65, "clutter", "政策原文"),
        (67, "clutter", "重庆市渝中区人民政府办公室关于印发"),
        (69, "clutter", "扫一扫"),
    ],
    "dadukou-plan": [(600, "clutter", "抄送"), (602, "clutter", "区检察院")],
    "guangxi-plan": [
        (1, "clutter", "业务动态"),
        (2, "clutter", "视频点播更多>>"),
        (3, "clutter", "当前位置"),
        (5, "metadata", "发布日期"),
        (109, "clutter", "转载声明"),
        (111, "clutter", "未获得授权"),
        (113, "metadata", "文章来源"),
        (115, "clutter", "Produced By"),
    ],
    "changning-plan": [
        (3, "clutter", "字号"),
        (5, "duplicate", "上海市长宁区人民政府办公室关于印发"),
        (303, "clutter", "分享"),
    ],
}


def test_dropped_lines_with_reasons(documents: dict[str, Document]) -> None:
    for doc_id, expected in DROPPED.items():
        dropped = documents[doc_id].dropped
        assert [(d.line, d.reason) for d in dropped] == [(line, reason) for line, reason, _ in expected], (
            doc_id
        )
        for record, (_, _, start) in zip(dropped, expected, strict=True):
            assert start is None or record.text.strip().startswith(start), record


def test_no_clause_carries_clutter(documents: dict[str, Document]) -> None:
    markers = (
        "打印",
        "纠错",
        "分享到",
        "字号:",
        "扫一扫",
        "转载声明",
        "Produced By",
        "文件下载",
        "浏览次数",
        "抄送",
    )
    for doc in documents.values():
        for clause in doc.clauses:
            assert not any(marker in clause.text for marker in markers), clause


def test_metadata_header_printed_twice_is_kept_once(documents: dict[str, Document]) -> None:
    doc = documents["yuzhong-plan"]
    kept = [d.line for d in doc.dropped if d.reason == "metadata"]
    assert kept == [1, 2, 3]
    assert all(
        value <= 3 for key, value in doc.meta.evidence.items() if key in ("doc_number", "date_written")
    )


def test_repeated_title_is_kept_once(documents: dict[str, Document]) -> None:
    titles = [c for c in documents["changning-plan"].clauses if "关于印发" in c.text and c.kind == "heading"]
    assert [c.lines for c in titles] == [(1, 1)]


def test_issuer_in_title_and_signature_is_not_a_duplicate(documents: dict[str, Document]) -> None:
    # 大渡口: "重庆市大渡口区人民政府" opens the title (line 3) and signs the notice (line 12).
    assert all(d.line != 12 for d in documents["dadukou-plan"].dropped)


def test_clutter_in_the_middle_of_a_document() -> None:
    lines = [
        "一、总体要求",
        "打印 打印",
        "（一）目标。到2025年建成。",
        "分享到",
        "当前位置:",
        "（二）原则。坚持儿童优先。",
    ]
    assert classify_lines(lines, 0) == {1: "clutter", 3: "clutter", 4: "clutter"}


def test_long_repeated_paragraph_is_a_duplicate() -> None:
    paragraph = "坚持以习近平新时代中国特色社会主义思想为指导，坚持以人民为中心的发展思想，落实儿童优先原则。"
    lines = ["一、指导思想", paragraph, "", paragraph, "（一）短句重复。", "（二）短句重复。"]
    assert classify_lines(lines, 0) == {3: "duplicate"}
