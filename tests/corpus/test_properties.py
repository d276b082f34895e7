"""Property: the parser never raises and keeps its line accounting on arbitrary text."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.parse import parse_text

# Lines drawn from the building blocks of real documents, plus arbitrary text.
FRAGMENTS = st.sampled_from(
    [
        "一、总体要求",
        "（一）指导思想。坚持儿童优先。",
        "(二)基本原则",
        "1.加强组织领导",
        "1．",
        "(17)",
        "①",
        "——",
        "专栏一 主要指标",
        "专栏二  重点工程",
        "\t序号",
        "\t1",
        "\t",
        "儿",
        "提高",
        "儿童项目：内容（责任单位：区教委）",
        "第一章　总则",
        "第一条　内容。",
        "第十三条规定的情形除外。",
        "打印 打印",
        "分享到",
        "转载声明",
        "抄送：区委",
        "索引号 X 发布机构 Y",
        "发文字号 渝中府办〔2024〕7号",
        "关于印发《X》的通知",
        "区政府各部门,有关单位:",
        "2024年3月14日",
        "(此件公开发布)",
        "文件下载:",
        "",
        " ",
        "\u3000",
        "加强宣传。",
        "依法落实儿童法律保护体系。",
    ]
)
LINES = st.lists(st.one_of(FRAGMENTS, st.text(max_size=40)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_parse_text_never_raises_and_accounts_for_every_line(lines: list[str]) -> None:
    text = "\n".join(lines)
    doc = parse_text(text, "fuzz")
    source = text.split("\n")
    covered: Counter[int] = Counter()
    for clause in doc.clauses:
        first, last = clause.lines
        assert 1 <= first <= last <= len(source)
        covered.update(range(first, last + 1))
    dropped = {record.line for record in doc.dropped}
    for number, line in enumerate(source, start=1):
        if line.rstrip("\r").strip():
            assert covered[number] + (number in dropped) == 1, (number, line)
    assert len({c.id for c in doc.clauses}) == len(doc.clauses)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    doc = parse_text(text, "any")
    assert doc.meta.id == "any"
    assert parse_text(text, "any") == doc
