"""Small constructed documents for layouts the bundled five do not show (or show only once)."""

from __future__ import annotations

from corpus.models import KIND_HEADING, KIND_PREAMBLE, Clause, Document
from corpus.parse import parse_text


def numbered(doc: Document) -> list[tuple[str | None, tuple[str, ...], tuple[int, int]]]:
    return [(c.number, c.path, c.lines) for c in doc.clauses if c.kind != KIND_PREAMBLE]


def by_number(doc: Document, number: str) -> Clause:
    found = [c for c in doc.clauses if c.number == number]
    assert len(found) == 1, found
    return found[0]


STATUTE = """某市儿童福利机构管理办法

第一章　总则

第一条　为了规范儿童福利机构管理，保障儿童合法权益，根据《中华人民共和国未成
年人保护法》等法律法规，制定本办法。
第二条　本办法适用于本市行政区域内的儿童福利机构。但是，依照本办法
第十三条规定的情形除外。
第三条　儿童福利机构应当遵循下列原则：
（一）儿童利益最大化；
（二）依法保障儿童权利。
第二章　职责
第一节　政府职责
第四条 民政部门负责儿童福利机构的监督管理。
第五条　有下列情形之一的，应当报告：
1.发现儿童受到伤害的；
2.发现儿童失踪的。
第二节　机构职责
第六条　儿童福利机构应当建立档案。
第三章　附则
第十三条　本办法自2024年1月1日起施行。
"""


def test_chapter_and_article_document() -> None:
    doc = parse_text(STATUTE, "statute")
    ch1, ch2, ch3 = "第一章　总则", "第二章　职责", "第三章　附则"
    assert numbered(doc) == [
        (None, (), (1, 1)),
        ("第一章", (), (3, 3)),
        ("第一条", (ch1,), (5, 6)),
        ("第二条", (ch1,), (7, 8)),
        ("第三条", (ch1,), (9, 9)),
        ("（一）", (ch1, "第三条"), (10, 10)),
        ("（二）", (ch1, "第三条"), (11, 11)),
        ("第二章", (), (12, 12)),
        ("第一节", (ch2,), (13, 13)),
        ("第四条", (ch2, "第一节　政府职责"), (14, 14)),
        ("第五条", (ch2, "第一节　政府职责"), (15, 15)),
        ("1.", (ch2, "第一节　政府职责", "第五条"), (16, 16)),
        ("2.", (ch2, "第一节　政府职责", "第五条"), (17, 17)),
        ("第二节", (ch2,), (18, 18)),
        ("第六条", (ch2, "第二节　机构职责"), (19, 19)),
        ("第三章", (), (20, 20)),
        ("第十三条", (ch3,), (21, 21)),
    ]
    assert by_number(doc, "第一章").kind == KIND_HEADING
    assert by_number(doc, "第三条").kind != KIND_HEADING, "an article with its own text is a clause"
    assert doc.meta.type == "管理办法"


def test_cross_reference_at_a_line_start_is_not_a_heading() -> None:
    doc = parse_text(STATUTE, "statute")
    article = by_number(doc, "第二条")
    assert article.text.endswith("依照本办法\n第十三条规定的情形除外。")
    assert [c.number for c in doc.clauses].count("第十三条") == 1


def test_cross_reference_inside_a_sentence() -> None:
    text = "第一条　本条适用于儿童。\n第二条　符合第十三条规定的，依照第五条办理。\n"
    doc = parse_text(text, "x")
    assert [c.number for c in doc.clauses] == ["第一条", "第二条"]


def test_pdf_broken_lines_are_rejoined_into_one_clause() -> None:
    text = (
        "一、总体要求\n"
        "（一）工作目标。到2025年，全市儿童友好城市建设取得明显成效，儿童友好理念深入人心，儿童\n"
        "友好政策体系更加完善，各区\n"
        "1个以上社区建成儿童友好社区。\n"
        "（二）基本原则。坚持儿童优先，在制定政策时优先考虑儿童需求，让广大儿童享有公平\n"
        "2.5倍于以往的服务。\n"
    )
    doc = parse_text(text, "pdf")
    goal = by_number(doc, "（一）")
    assert goal.lines == (2, 4)
    assert goal.text.endswith("各区\n1个以上社区建成儿童友好社区。")
    assert by_number(doc, "（二）").lines == (5, 6)


def test_number_at_a_wrapped_line_start_is_text_when_out_of_sequence() -> None:
    text = (
        "一、任务\n"
        "1.加强托育服务。到2025年每千人口拥有3岁以下婴幼儿托位数达到\n"
        "4.5个，普惠托位占比超过60%。\n"
        "2.加强学前教育。学前三年毛入园率达到97%。\n"
    )
    doc = parse_text(text, "wrap")
    assert [(c.number, c.lines) for c in doc.clauses] == [("一、", (1, 1)), ("1.", (2, 3)), ("2.", (4, 4))]


def test_every_numbering_level_in_one_document() -> None:
    text = (
        "一、总体要求\n"
        "（一）主要任务\n"
        "1．加强组织领导\n"
        "（1）建立工作机制。\n"
        "①明确牵头部门；\n"
        "②明确配合部门。\n"
        "（2）完善考核办法。\n"
        "2、强化资金保障。\n"
        "——加大投入。\n"
        "——规范使用。\n"
        "(二)保障措施。加强督查。\n"
        "二、组织实施\n"
    )
    doc = parse_text(text, "levels")
    a, b, c1, d = "一、总体要求", "（一）主要任务", "1．加强组织领导", "（1）建立工作机制。"
    assert [(c.number, c.path) for c in doc.clauses] == [
        ("一、", ()),
        ("（一）", (a,)),
        ("1．", (a, b)),
        ("（1）", (a, b, c1)),
        ("①", (a, b, c1, d)),
        ("②", (a, b, c1, d)),
        ("（2）", (a, b, c1)),
        ("2、", (a, b)),
        (None, (a, b, "2、强化资金保障。")),
        (None, (a, b, "2、强化资金保障。")),
        ("(二)", (a,)),
        ("二、", ()),
    ]
    assert [c.fields.get("marker") for c in doc.clauses if c.number is None] == ["——", "——"]


def test_full_width_and_half_width_numbers_are_one_level() -> None:
    text = "一、任务\n（一）甲。内容。\n(二)乙。内容。\n（三）丙。内容。\n1.子项。内容。\n２．子项。内容。\n"
    doc = parse_text(text, "width")
    assert [(c.number, len(c.path)) for c in doc.clauses] == [
        ("一、", 0),
        ("（一）", 1),
        ("(二)", 1),
        ("（三）", 1),
        ("1.", 2),
        ("２．", 2),
    ]


def test_em_space_indentation_is_kept_verbatim() -> None:
    text = "\u3000\u3000一、总体要求\n\n\u3000\u3000（一）指导思想\n\n\u3000\u3000坚持儿童优先。\n"
    doc = parse_text(text, "indent")
    clause = by_number(doc, "（一）")
    assert clause.text == "\u3000\u3000（一）指导思想\n\n\u3000\u3000坚持儿童优先。"
    assert clause.path == ("一、总体要求",)


def test_lost_item_number_in_a_sequence() -> None:
    text = (
        "一、任务\n\n1.加强统筹。建立机制。\n\n2.完善政策。出台办法。\n\n3.强化保障。加大投入。\n\n"
        "加强宣传引导。营造良好氛围。\n\n5.开展评估。年度监测。\n"
    )
    doc = parse_text(text, "lost")
    lost = [c for c in doc.clauses if "inferred_number" in c.fields]
    assert [(c.number, c.path, c.fields["inferred_number"], c.lines) for c in lost] == [
        (None, ("一、任务",), "4.", (9, 9))
    ]


def test_paragraph_after_an_item_without_a_gap_continues_it() -> None:
    text = "一、任务\n\n1.加强统筹。建立机制。\n\n统筹机制由区政府负责。\n\n2.完善政策。出台办法。\n"
    doc = parse_text(text, "continue")
    assert by_number(doc, "1.").lines == (3, 5)


def test_numbered_list_restarting_under_a_lost_heading() -> None:
    text = (
        "一、任务\n\n（一）健全服务体系。\n\n1.甲。内容。\n\n2.乙。内容。\n\n3.丙。内容。\n\n"
        "完善法律保护体系。\n\n保障民事权益。内容。\n\n2.落实监护制度。内容。\n\n二、保障\n"
    )
    doc = parse_text(text, "restart")
    heading = next(c for c in doc.clauses if c.text == "完善法律保护体系。")
    assert heading.path == ("一、任务",) and heading.fields["inferred_number"] == "（二）"
    under = [
        (c.number, c.fields.get("inferred_number"))
        for c in doc.clauses
        if c.path == ("一、任务", "完善法律保护体系。")
    ]
    assert under == [(None, "1."), ("2.", None)]


def test_clutter_between_heading_and_body_splits_the_clause() -> None:
    text = "一、任务\n（一）加强领导\n打印 打印\n成立工作专班。\n（二）强化保障\n"
    doc = parse_text(text, "split")
    assert [(c.number, c.lines) for c in doc.clauses] == [
        ("一、", (1, 1)),
        ("（一）", (2, 2)),
        (None, (4, 4)),
        ("（二）", (5, 5)),
    ]
    assert doc.clauses[2].path == ("一、任务", "（一）加强领导")
    assert [(d.line, d.reason) for d in doc.dropped] == [(3, "clutter")]


def test_text_without_any_heading_is_preamble() -> None:
    doc = parse_text("儿童是国家的未来。\n\n我们要关心儿童。\n", "plain")
    assert [(c.kind, c.lines) for c in doc.clauses] == [(KIND_PREAMBLE, (1, 1)), (KIND_PREAMBLE, (3, 3))]


def test_empty_text() -> None:
    doc = parse_text("", "empty")
    assert doc.clauses == () and doc.dropped == () and doc.meta.title == "empty"


def test_windows_line_endings_do_not_leak_into_text() -> None:
    doc = parse_text("一、任务\r\n（一）加强领导。成立专班。\r\n", "crlf")
    assert [c.text for c in doc.clauses] == ["一、任务", "（一）加强领导。成立专班。"]
