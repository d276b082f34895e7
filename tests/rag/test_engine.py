"""The engine on the bundled corpus: what a user of the chat or the staff page would notice."""

from __future__ import annotations

import uuid

import pytest

from rag.engine import Engine
from rag.models import (
    REWRITE_TYPO,
    ROLE_ANSWER,
    ROLE_RELATED,
    STATUS_FOUND,
    STATUS_NOT_FOUND,
    STATUS_PARTIAL,
)
from rag.render import render_answer


def _session() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    ("question", "doc_id", "snippet"),
    [
        ("孩子在渝中区的学校被欺负了怎么办", "yuzhong-plan", "防治中小学校学生欺凌"),
        ("渝中区看娃的地方有哪些政策", "yuzhong-plan", "托育"),
        ("大渡口小孩近视的目标", "dadukou-plan", "近视"),
        ("长宁宝宝屋", "changning-plan", "宝宝屋"),
        ("广西每千人口托位数到2025年是多少", "guangxi-plan", "4.5个"),
    ],
)
def test_colloquial_questions_hit_their_clause(
    engine: Engine, question: str, doc_id: str, snippet: str
) -> None:
    answer = engine.ask(question)
    assert answer.status == STATUS_FOUND
    top = answer.hits[0]
    assert top.clause.doc_id.startswith(doc_id.split("-")[0])  # the plan or its 政策解读
    assert any(snippet in h.clause.text for h in answer.hits[:3] if h.clause.doc_id == doc_id)


def test_answer_is_verbatim_with_provenance(engine: Engine, built_index) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("渝中区婴幼儿照护服务")
    hit = answer.hits[0]
    from config import DEFAULT_CORPUS

    lines = (
        (DEFAULT_CORPUS / hit.doc.source_file).read_text(encoding="utf-8").splitlines()
        if hit.doc.source_file
        else []
    )
    if lines:
        first, last = hit.clause.lines
        text_lines = hit.clause.text.splitlines()
        assert text_lines[0] in lines[first - 1] and text_lines[-1] in lines[last - 1]
    full_width_title = hit.doc.title.translate(
        str.maketrans("()", "（）")
    )  # citations use full-width brackets
    assert hit.citation.startswith("《") and full_width_title in hit.citation
    assert hit.doc.doc_number and hit.doc.doc_number in hit.citation
    assert hit.highlights and all(h in hit.clause.text for h in hit.highlights)


def test_naming_a_place_ranks_that_place_first(engine: Engine) -> None:
    for place, doc_id in (
        ("渝中区", "yuzhong"),
        ("大渡口", "dadukou"),
        ("广西", "guangxi"),
        ("长宁", "changning"),
    ):
        answer = engine.ask(f"{place}困境儿童保障")
        assert answer.status == STATUS_FOUND
        assert all(h.clause.doc_id.startswith(doc_id) for h in answer.hits), place


def test_uncovered_place_is_told_which_places_are_covered(engine: Engine) -> None:
    answer = engine.ask("成都的托育补贴有多少")
    assert answer.status == STATUS_NOT_FOUND and not answer.hits
    assert "成都" in answer.message
    for region in ("渝中区", "大渡口区", "长宁区"):
        assert region in answer.message


@pytest.mark.parametrize(
    ("reference", "doc_id", "number", "start"),
    [
        ("长宁区行动计划第(20)条", "changning-plan", "(20)", "全面推进社区托育“宝宝屋”建设"),
        ("广西方案第17条", "guangxi-plan", "17.", "17.改善儿童安全出行体验"),
        ("渝中区三年行动计划第(44)项", "yuzhong-plan", "(44)", "(44)打造儿童用品流通基地"),
    ],
)
def test_clause_references_resolve_by_lookup(
    engine: Engine, reference: str, doc_id: str, number: str, start: str
) -> None:
    answer = engine.ask(reference)
    assert answer.status == STATUS_FOUND
    top = answer.hits[0]
    assert (top.clause.doc_id, top.retrievers) == (doc_id, ("lookup",))
    assert top.clause.number.replace("（", "(").replace("）", ")") == number
    assert start in top.clause.text


@pytest.mark.parametrize(
    ("reference", "start"),
    [
        ("大渡口规划重点任务(四)第2条", "2. 发展普惠托育服务体系"),
        ("大渡口规划重点任务（二）第4条", "4．预防和遏制儿童暴力伤害"),
        ("广西实施方案 实施保障(二)", "(二)完善要素保障"),
        ("大渡口规划组织实施（四）", "（四）加大经费支持"),
        ("长宁行动计划(82)", "(82)区政府履行建设主体责任"),
    ],
)
def test_section_qualified_reference(engine: Engine, reference: str, start: str) -> None:
    answer = engine.ask(reference)
    assert len(answer.hits) == 1 and answer.hits[0].retrievers == ("lookup",)
    assert answer.hits[0].clause.text.strip().startswith(start)


def test_bare_bracket_number_without_a_document_is_not_a_reference(engine: Engine) -> None:
    answer = engine.ask("托育(3)个")
    assert answer.hits and "lookup" not in answer.hits[0].retrievers


def test_doc_number_resolves_to_the_document(engine: Engine) -> None:
    answer = engine.ask("渝中府办〔2024〕7号")
    assert answer.status == STATUS_FOUND and answer.hits[0].clause.doc_id == "yuzhong-plan"
    assert engine.ask("沪府办发〔2099〕1号全文").status == STATUS_NOT_FOUND


def test_missing_clause_reference_is_refused(engine: Engine) -> None:
    answer = engine.ask("广西方案第35条")
    assert answer.status == STATUS_NOT_FOUND and "没有找到" in answer.message


@pytest.mark.parametrize(
    "question", ["公积金贷款额度怎么算", "上海落户积分怎么算", "婚假有几天", "奶粉补贴怎么领"]
)
def test_unanswerable_questions_are_refused(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.status == STATUS_NOT_FOUND
    assert answer.message and not answer.hits
    assert answer.suggestions and all(s.endswith("？") for s in answer.suggestions)


@pytest.mark.parametrize(
    ("question", "topic", "detail", "label"),
    [
        ("托育补贴每月多少钱", "托育补贴", "fee", "收费或金额"),
        ("托育补贴怎么申请", "托育补贴", "procedure", "办理流程或所需材料"),
        ("打HPV疫苗要带什么证件", "HPV疫苗", "procedure", "办理流程或所需材料"),
        ("长宁区儿童之家几点开门", "儿童之家", "hours", "开放时间"),
        ("渝中区那10所儿童友好医院具体是哪10所", "儿童友好医院", "list", "具体名单"),
    ],
)
def test_a_detail_the_documents_do_not_state_is_a_partial_answer(
    engine: Engine, question: str, topic: str, detail: str, label: str
) -> None:
    answer = engine.ask(question)
    assert answer.status == STATUS_PARTIAL
    assert (
        answer.message.startswith("收录的政策文件没有写明")
        and topic in answer.message
        and label in answer.message
    )
    assert answer.detail is not None and answer.detail.type == detail
    assert answer.hits and all(h.role == ROLE_RELATED and not h.answer_sentences for h in answer.hits)
    # Nothing is invented: every digit the message shows comes from the question itself.
    assert all(ch in question for ch in answer.message if ch.isdigit())


@pytest.mark.parametrize(
    ("question", "doc_id", "number", "in_sentence"),
    [
        ("长宁困境儿童文化福利补贴每人多少钱", "changning-plan", "(49)", "300元"),
        ("小孩打疫苗要钱吗", "yuzhong-plan", "(24)", "免费接种HPV疫苗"),
        ("广西残疾儿童康复救助标准每月多少钱", "guangxi-plan", None, "2200元"),
    ],
)
def test_a_stated_detail_is_found_and_its_sentence_leads(
    engine: Engine, question: str, doc_id: str, number: str | None, in_sentence: str
) -> None:
    answer = engine.ask(question)
    assert answer.status == STATUS_FOUND
    top = answer.hits[0]
    assert top.clause.doc_id == doc_id and (number is None or top.clause.number == number)
    assert top.role == ROLE_ANSWER and any(in_sentence in s.text for s in top.answer_sentences)
    for span in top.answer_sentences:
        assert top.clause.text[span.start : span.end] == span.text


def test_every_found_hit_carries_its_answering_sentence_verbatim(engine: Engine) -> None:
    for question in ("渝中区托育服务有什么政策", "孩子近视了怎么办", "大渡口区家庭教育指导服务有哪些措施"):
        answer = engine.ask(question)
        assert answer.status == STATUS_FOUND
        assert answer.hits[0].answer_sentences, question
        for hit in answer.hits:
            for span in hit.answer_sentences:
                assert hit.clause.text[span.start : span.end] == span.text


def test_a_typo_is_corrected_and_said(engine: Engine) -> None:
    answer = engine.ask("儿同近是怎么防控")
    assert REWRITE_TYPO in answer.rewrites
    assert {(c.wrong, c.right) for c in answer.corrections} >= {("儿同", "儿童"), ("近是", "近视")}
    assert "近视" in answer.resolved_question and answer.status == STATUS_FOUND
    assert engine.ask("儿童近视怎么防控").rewrites == ()


def test_follow_up_swaps_place_and_next_clause(engine: Engine) -> None:
    session = _session()
    first = engine.ask("渝中区托育服务有什么政策", session_id=session)
    assert first.hits[0].clause.doc_id == "yuzhong-plan"
    second = engine.ask("那长宁区呢？", session_id=session)
    assert second.status == STATUS_FOUND and second.resolved_question.startswith("长宁区")
    assert second.hits[0].clause.doc_id == "changning-plan"
    ref = engine.ask("广西方案第17条", session_id=session)
    following = engine.ask("第18条呢", session_id=session)
    assert following.hits[0].clause.doc_id == "guangxi-plan" and following.hits[0].clause.number.startswith(
        "18"
    )
    after = engine.ask("下一条呢", session_id=session)
    assert after.hits[0].clause.lines[0] > following.hits[0].clause.lines[0]
    assert ref.hits[0].clause.doc_id == "guangxi-plan"


def test_search_modes_and_filters(engine: Engine) -> None:
    result = engine.search("托育", top_k=5, mode="bm25", region="长宁")
    assert result.hits and all(h.clause.doc_id == "changning-plan" for h in result.hits)
    result = engine.search("托育", top_k=3, doc_id="guangxi-plan")
    assert result.hits and {h.clause.doc_id for h in result.hits} == {"guangxi-plan"}
    assert engine.search("托育", mode="vector").retrievers == ("bm25",)
    assert engine.search("托育", mode="vector").hits == ()


def test_bm25_only_is_announced(engine: Engine) -> None:
    assert engine.retrievers == ("bm25",)
    assert engine.ask("托育").retrievers == ("bm25",)


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("上海浦东有什么托育政策", "浦东"),
        ("徐汇区托育补贴", "徐汇区"),
        ("杨浦区托班", "杨浦区"),
        ("沙坪坝的娃娃打疫苗", "沙坪坝"),
    ],
)
def test_a_district_the_library_does_not_cover_is_refused_by_name(
    engine: Engine, question: str, named: str
) -> None:
    answer = engine.ask(question)
    assert answer.status == STATUS_NOT_FOUND and not answer.hits
    assert answer.message.startswith(f"目前收录的政策文件不涉及{named}。") and "长宁区" in answer.message


def test_a_city_inside_a_covered_region_is_answered_from_the_regions_plan(engine: Engine) -> None:
    answer = engine.ask("南宁市儿童友好社区建设")
    assert answer.status == STATUS_FOUND and answer.regions == ("广西壮族自治区",)
    assert answer.message == "南宁市属于广西壮族自治区，以下是广西壮族自治区的政策原文。"
    assert answer.message in render_answer(answer)
    assert engine.ask("广西儿童友好社区建设").message == ""  # the region itself needs no note
    assert answer.hits and all(h.clause.doc_id == "guangxi-plan" for h in answer.hits)
    answer = engine.ask("重庆渝中区的托育服务")
    assert answer.hits and all(h.clause.doc_id.startswith("yuzhong") for h in answer.hits)


def test_a_partial_answer_names_the_documents_term_whole(engine: Engine) -> None:
    # jieba cuts 宝宝屋有午饭吗 as 宝宝 / 屋有 ...: the message still names 宝宝屋, as the clauses do.
    answer = engine.ask("长宁区宝宝屋有午饭吗")
    assert answer.status == STATUS_PARTIAL
    assert answer.message.startswith("收录的政策文件没有写明宝宝屋关于“午饭”的安排。")
    # ... and stops where the term does: at its closing quote mark, not past it.
    for question, topic in (
        ("广西“阳光助学”计划怎么申请", "阳光助学"),
        ("“家庭教育成长营”怎么报名", "家庭教育成长营"),
    ):
        answer = engine.ask(question)
        assert answer.status == STATUS_PARTIAL
        assert answer.message.startswith(f"收录的政策文件没有写明{topic}的办理流程或所需材料。"), (
            answer.message
        )
