"""Citations in 公文 style and clause labels: hand-made clauses, and every clause of the bundled corpus."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from corpus.models import KIND_INDICATOR, KIND_PROJECT, Clause, Document, DocumentMeta
from rag.citation import clause_label, format_citation

YUZHONG = DocumentMeta(
    id="yz",
    title="重庆市渝中区儿童友好城市建设三年行动计划(2024—2026年)",
    doc_number="渝中府办〔2024〕7号",
    issuer="重庆市渝中区人民政府办公室",
    date_written="2024-03-14",
    date_published="2024-04-01",
)
HALF_WIDTH_BRACKETS = re.compile(r"[()\[\]]")


@pytest.fixture(scope="module")
def documents(corpus_documents: tuple[Document, ...]) -> list[Document]:
    return list(corpus_documents)


def _clause(
    number: str | None, path: tuple[str, ...], text: str = "正文。", kind: str = "clause", **fields: str
) -> Clause:
    return Clause("c", "yz", number, path, text, (1, 1), kind, dict(fields))


def test_citation_has_title_number_path_in_words_item_issuer_and_date() -> None:
    clause = _clause(
        "(17)", ("四、具体举措", "(三)推进公共服务友好,整合全社会资源", "7.提升儿童教育卫生福利保障水平。")
    )
    assert format_citation(clause, YUZHONG) == (
        "《重庆市渝中区儿童友好城市建设三年行动计划（2024—2026年）》（渝中府办〔2024〕7号）"
        "“四、具体举措”“（三）推进公共服务友好，整合全社会资源”“7.提升儿童教育卫生福利保障水平”"
        "第（17）项（重庆市渝中区人民政府办公室，2024年3月14日）"
    )
    assert clause_label(clause) == "第（17）项"
    short = format_citation(clause, YUZHONG, with_source=False)
    assert short.endswith("第（17）项") and "办公室" not in short


def test_item_four_of_a_section_is_named_as_the_document_numbers_it() -> None:
    clause = _clause("4．", ("二、重点任务", "（二）完善多维立体儿童安全防护网络。"))
    citation = format_citation(clause, YUZHONG)
    assert citation.endswith(
        "“（二）完善多维立体儿童安全防护网络”第4项（重庆市渝中区人民政府办公室，2024年3月14日）"
    )
    assert "．" not in citation and "4." not in citation
    assert clause_label(clause) == "（二）第4项"


def test_table_row_is_a_row_of_its_box_never_an_article() -> None:
    row = _clause(
        "34",
        ("一、总体思路", "（三）主要目标。", "专栏一 2021—2030年大渡口区儿童发展主要指标"),
        "类别：儿童与环境；序号：34；指标名称（单位）：农村水质达标率（%）",
        KIND_INDICATOR,
        indicator="农村水质达标率（%）",
    )
    assert clause_label(row) == "专栏一第34行"
    citation = format_citation(row, YUZHONG)
    assert "“专栏一 2021—2030年大渡口区儿童发展主要指标”第34行“农村水质达标率（%）”" in citation
    assert "条" not in citation


def test_project_and_lead_items_are_named_by_their_words() -> None:
    project = _clause(
        None,
        ("二、重点任务", "专栏三  儿童安全提升重点工程"),
        "儿童伤害监测系统建设项目：加强……",
        KIND_PROJECT,
        name="儿童伤害监测系统建设项目",
    )
    assert clause_label(project) == "专栏三“儿童伤害监测系统建设项目”"
    assert (
        format_citation(project, YUZHONG).count("“专栏三 儿童安全提升重点工程”“儿童伤害监测系统建设项目”")
        == 1
    )
    lead = _clause(
        None, ("一、总体要求", "(二)基本原则"), "——儿童优先,普惠共享。坚持……", heading="——儿童优先,普惠共享。"
    )
    assert clause_label(lead) == "“——儿童优先，普惠共享”"


def test_statute_numbers_keep_their_units() -> None:
    article = _clause("第五条", ("第二章　政府职责",))
    assert clause_label(article) == "第五条"
    item = _clause("（一）", ("第二章　政府职责", "第五条"))
    assert clause_label(item) == "第五条第（一）项"
    assert format_citation(item, YUZHONG).count("“第二章 政府职责”“第五条”第（一）项") == 1


def test_every_clause_of_the_bundled_corpus_has_a_citation_of_its_own(documents: list[Document]) -> None:
    citations: Counter[str] = Counter()
    for document in documents:
        for clause in document.clauses:
            citation = format_citation(clause, document.meta)
            citations[citation] += 1
            assert not HALF_WIDTH_BRACKETS.search(citation), citation
            assert "．" not in citation, citation
            assert (
                citation.startswith("《")
                and "".join(document.meta.title.split("(")[0].split()).strip("《") in citation
            )
            if document.meta.doc_number:
                assert f"（{document.meta.doc_number}）" in citation
            if document.meta.issuer:
                assert document.meta.issuer in citation
            if document.meta.date_written or document.meta.date_published:
                assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日）$", citation), citation
    repeated = [c for c, n in citations.items() if n > 1]
    assert repeated == []
    assert sum(citations.values()) > 400


def test_no_label_of_the_bundled_corpus_calls_a_row_or_item_an_article(documents: list[Document]) -> None:
    labels = [(clause, clause_label(clause)) for document in documents for clause in document.clauses]
    assert all("条" not in label for _, label in labels)  # the bundled plans have no 第X条 articles
    rows = [label for clause, label in labels if clause.kind == KIND_INDICATOR]
    assert rows and all(re.fullmatch(r"专栏一第\d+行", label) for label in rows)
    assert "专栏一第34行" in rows
    dadukou = next(d for d in documents if d.meta.id == "dadukou-plan")
    assert "（二）第4项" in {clause_label(c) for c in dadukou.clauses}
