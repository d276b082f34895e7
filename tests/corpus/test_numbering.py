"""One-pass recognition of every numbering level on a line."""

from __future__ import annotations

import pytest

from corpus.numbering import (
    STYLE_ARABIC_DOT,
    STYLE_ARABIC_PAREN,
    STYLE_ARTICLE,
    STYLE_BOX,
    STYLE_CHAPTER,
    STYLE_CIRCLED,
    STYLE_CN_COMMA,
    STYLE_CN_PAREN,
    STYLE_DASH,
    STYLE_PARAGRAPH,
    STYLE_PART,
    STYLE_SECTION,
    cn_to_int,
    format_number,
    match_numbering,
    split_glued_heading,
    split_heading,
)


@pytest.mark.parametrize(
    ("line", "style", "printed", "value"),
    [
        ("第一编 总则", STYLE_PART, "第一编", 1),
        ("第十二章　附则", STYLE_CHAPTER, "第十二章", 12),
        ("第三节 机构职责", STYLE_SECTION, "第三节", 3),
        ("第一百零一条　本法自公布之日起施行。", STYLE_ARTICLE, "第一百零一条", 101),
        ("第2款 规定", STYLE_PARAGRAPH, "第2款", 2),
        ("四、具体举措", STYLE_CN_COMMA, "四、", 4),
        ("（十三）推进", STYLE_CN_PAREN, "（十三）", 13),
        ("(二)重点方向。", STYLE_CN_PAREN, "(二)", 2),
        ("17.加快", STYLE_ARABIC_DOT, "17.", 17),
        ("1．儿童健康", STYLE_ARABIC_DOT, "1．", 1),
        ("2、强化", STYLE_ARABIC_DOT, "2、", 2),
        ("１．全角数字", STYLE_ARABIC_DOT, "１．", 1),
        ("(17)加快婴幼儿照护服务发展。", STYLE_ARABIC_PAREN, "(17)", 17),
        ("（1）编制", STYLE_ARABIC_PAREN, "（1）", 1),
        ("③明确", STYLE_CIRCLED, "③", 3),
        ("——形成“社区友好”的城市生态。", STYLE_DASH, "——", None),
        ("专栏二  儿童健康提升重点工程", STYLE_BOX, "专栏二", 2),
        ("  \u3000(1)缩进", STYLE_ARABIC_PAREN, "(1)", 1),
    ],
)
def test_levels(line: str, style: str, printed: str, value: int | None) -> None:
    found = match_numbering(line)
    assert found is not None
    assert (found.style, found.printed, found.value) == (style, printed, value)


@pytest.mark.parametrize(
    "line",
    [
        "2024年3月14日",
        "1.5倍于以往",
        "(此件公开发布)",
        "(2024—2026年)",
        "12348公共法律服务热线",
        "加强儿童校外活动场所建设和管理。",
        "专栏作家",
        "第二个五年",
    ],
)
def test_not_numbering(line: str) -> None:
    assert match_numbering(line) is None


def test_article_reference_is_marked_unseparated() -> None:
    found = match_numbering("第十三条规定的情形除外。")
    assert found is not None and not found.separated
    heading = match_numbering("第十三条　本办法自公布之日起施行。")
    assert heading is not None and heading.separated


def test_numerals() -> None:
    assert [cn_to_int(t) for t in ("一", "十", "十一", "二十", "九十九", "一百零一", "两", "12", "甲")] == [
        1,
        10,
        11,
        20,
        99,
        101,
        2,
        12,
        None,
    ]
    assert format_number(STYLE_CN_PAREN, 7, "（六）") == "（七）"
    assert format_number(STYLE_CN_PAREN, 7, "(六)") == "(七)"
    assert format_number(STYLE_ARABIC_DOT, 4, "3．") == "4．"
    assert format_number(STYLE_ARTICLE, 21) == "第二十一条"


def test_heading_split() -> None:
    def parts(line: str) -> tuple[str, bool]:
        numbering = match_numbering(line)
        assert numbering is not None
        found = split_heading(line, numbering)
        return found.title, found.inline_body

    assert parts("1．优化儿童公共卫生服务和管理。落实统一的平台建设。") == (
        "1．优化儿童公共卫生服务和管理。",
        True,
    )
    assert parts("(17)加快婴幼儿照护服务发展。") == ("(17)加快婴幼儿照护服务发展。", False)
    assert parts("(一)为什么要制定《重庆市渝中区儿童友好城市建设三年行动计划(2024-2026年)》?")[1] is False
    assert parts("第五条　有下列情形之一的，应当报告：") == ("第五条", True)


def test_glued_heading_split() -> None:
    assert split_glued_heading("加强儿童健康保障体系建设关注生命早期1000天健康保障，落实") == len(
        "加强儿童健康保障体系建设"
    )
    assert split_glued_heading("加强组织领导发挥党委领导、政府主导作用") == len("加强组织领导")
    assert split_glued_heading("区青少年科创中心、上海国际体操中心等计划于2025年竣工。") is None
