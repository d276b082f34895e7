"""Reply texts built from real corpus clauses: verbatim, cut at sentence ends, within WeChat's size limit."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.wechat import reply
from api.wechat.reply import (
    ELLIPSIS,
    EXAMPLE_QUESTIONS,
    answer_text,
    chat_link,
    clause_excerpt,
    content_bytes,
    cut_verbatim,
    not_found_text,
    sentence_boundaries,
    short_citation,
    welcome_text,
)
from corpus.models import Clause, DocumentMeta
from rag.citation import format_citation
from rag.models import Answer, Hit
from tests.api.answers import found
from tests.conftest import CORPUS_DIR

PUBLIC_URL = "https://policy.example.gov.cn"
DOCS = {
    "yuzhong-plan": DocumentMeta(
        id="yuzhong-plan",
        title="重庆市渝中区儿童友好城市建设三年行动计划",
        issuer="渝中区政府办公室",
        doc_number="渝中府办〔2024〕7号",
        region="渝中区",
    ),
    "changning-plan": DocumentMeta(
        id="changning-plan", title="上海市长宁区推进儿童友好城区建设行动计划", region="长宁区"
    ),
}


def corpus_clause(
    doc_id: str, first_line: int, last_line: int, path: tuple[str, ...], number: str | None
) -> Clause:
    """A clause made of the non-blank source lines first..last of a corpus file, verbatim."""
    source = CORPUS_DIR / f"{doc_id}.txt"
    lines = source.read_text(encoding="utf-8").splitlines()[first_line - 1 : last_line]
    text = "\n".join(line.strip() for line in lines if line.strip())
    return Clause(f"{doc_id}:{first_line}", doc_id, number, path, text, (first_line, last_line))


def corpus_hit(clause: Clause, highlights: tuple[str, ...] = ()) -> Hit:
    doc = DOCS[clause.doc_id]
    citation = format_citation(clause, doc)
    return Hit(
        clause=clause, doc=doc, score=1.0, retrievers=("bm25",), citation=citation, highlights=highlights
    )


def tuoyu_hit() -> Hit:
    # 渝中 (17): heading line + body, lines 161-163 of yuzhong-plan.txt.
    return corpus_hit(
        corpus_clause("yuzhong-plan", 161, 163, ("四、主要任务", "(17)加快婴幼儿照护服务发展。"), "(17)")
    )


def principles_hit(highlights: tuple[str, ...] = ()) -> Hit:
    # 长宁 "(二)基本原则": four paragraphs, lines 25-33 of changning-plan.txt (over 2000 bytes).
    clause = corpus_clause("changning-plan", 25, 33, ("一、总体要求", "(二)基本原则"), "(二)")
    return corpus_hit(clause, highlights)


def test_corpus_clauses_are_what_the_tests_assume() -> None:
    assert tuoyu_hit().clause.text.startswith("(17)加快婴幼儿照护服务发展。\n制定实施本区托育服务")
    assert content_bytes(principles_hit().clause.text) > reply.MAX_REPLY_BYTES


def test_short_clause_is_quoted_whole_with_citation_and_link() -> None:
    hit = tuoyu_hit()
    text = answer_text(found("渝中区托育服务有什么目标", hit), PUBLIC_URL, 1800)
    assert text.startswith(hit.clause.text)
    assert "渝中府办〔2024〕7号" in text and "(17)" in text
    link = text.rsplit("完整回答：", 1)[1]
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}" == PUBLIC_URL and parsed.path == "/"
    assert parse_qs(parsed.query)["q"] == ["渝中区托育服务有什么目标"]


def test_long_clause_is_cut_at_a_sentence_end_and_fits() -> None:
    hit = principles_hit()
    text = answer_text(found("长宁区建设儿童友好城区的基本原则", hit), PUBLIC_URL, 1700)
    assert content_bytes(text) <= 1700
    excerpt = text.split("\n\n出处：", 1)[0]
    assert excerpt.endswith(ELLIPSIS)
    kept = excerpt.removesuffix(ELLIPSIS)
    assert hit.clause.text.startswith(kept)  # verbatim prefix
    assert kept[-1] in "。；！？" or hit.clause.text[len(kept)] == "\n"
    assert content_bytes(kept) > 1000  # the budget is used, not wasted


def test_excerpt_moves_to_the_best_sentence_when_it_is_past_the_cut() -> None:
    text = principles_hit().clause.text
    late = next(s for s in text.split("。") if "多元参与" in s) + "。"
    late = late[late.index("——多元参与") :]
    excerpt = clause_excerpt(principles_hit(highlights=(late,)), 900)
    assert excerpt.startswith(ELLIPSIS + "——多元参与")
    assert text.find(excerpt.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)) > 0


def test_other_hits_are_announced() -> None:
    text = answer_text(found("托育", tuoyu_hit(), principles_hit()), PUBLIC_URL, 1800)
    assert "另有1条相关条款" in text


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.text(min_size=0, max_size=80))
def test_answer_always_fits_its_budget(budget: int, question: str) -> None:
    text = answer_text(found(question or "问题", principles_hit()), PUBLIC_URL, budget)
    assert content_bytes(text) <= max(budget, 0)


def test_cdata_terminators_count_against_the_budget() -> None:
    text = "第一句]]>。" * 200
    cut = cut_verbatim(text, 500)
    assert content_bytes(cut) <= 500 and cut.endswith("。" + ELLIPSIS)


def test_sentence_boundaries_keep_closing_quotes() -> None:
    text = "他说“开展100个儿童友好城市示范。”随后；结束！\n下一段"
    ends = sentence_boundaries(text)
    assert text[: ends[0]].endswith("。”")
    assert "\n" not in text[: ends[-1]] or ends[-1] == text.index("\n")


def test_first_sentence_longer_than_budget_falls_back_to_a_comma() -> None:
    text = "一二三四五，六七八九十，" * 20 + "。"
    cut = cut_verbatim(text, 100)
    assert cut.endswith("，" + ELLIPSIS) and content_bytes(cut) <= 100


def test_overlong_citation_falls_back_to_title_and_doc_number() -> None:
    hit = tuoyu_hit()
    assert short_citation(hit) == hit.citation  # the usual case: the engine's citation, as is
    long_hit = replace(hit, citation=hit.citation + " " + "第一章" * 100)
    assert short_citation(long_hit) == "《重庆市渝中区儿童友好城市建设三年行动计划》(渝中府办〔2024〕7号)"
    titled = DocumentMeta(id="x", title="《某行动计划》政策解读")
    assert short_citation(replace(hit, doc=titled, citation="x" * 400)) == "《某行动计划》政策解读"


def test_chat_link_encodes_and_caps_the_question() -> None:
    link = chat_link(PUBLIC_URL + "/", "托育 & 幼儿园?" + "长" * 200)
    query = parse_qs(urlparse(link).query)["q"][0]
    assert query.startswith("托育 & 幼儿园?") and len(query) == reply.LINK_QUESTION_MAX_CHARS
    assert chat_link(PUBLIC_URL, "  ") == PUBLIC_URL + "/"


def test_not_found_lists_topics_and_examples() -> None:
    answer = Answer(
        status="not_found",
        question="火星移民政策",
        hits=(),
        regions=(),
        message="抱歉，没有找到。",
        suggestions=("托育服务", "母婴设施"),
    )
    text = not_found_text(answer, 1800)
    assert text.startswith("抱歉，没有找到。") and "托育服务、母婴设施" in text
    assert all(q in text for q in EXAMPLE_QUESTIONS)
    assert content_bytes(not_found_text(answer, 80)) <= 80


def test_found_without_hits_is_a_refusal() -> None:
    assert answer_text(found("托育"), PUBLIC_URL, 1800).startswith(reply.NOT_FOUND_MESSAGE)


@pytest.mark.parametrize("make", [welcome_text, reply.unsupported_text, reply.empty_question_text])
def test_fixed_messages_offer_example_questions(make: object) -> None:
    text = make()  # type: ignore[operator]
    assert "您可以这样问" in text and EXAMPLE_QUESTIONS[0] in text


def test_a_partial_answer_says_what_is_not_stated_first_then_the_related_clause() -> None:
    from rag.models import ROLE_RELATED, STATUS_PARTIAL, Detail

    related = replace(tuoyu_hit(), role=ROLE_RELATED)
    message = "收录的政策文件没有写明宝宝屋的具体收费或金额。以下是相关条款，供参考："
    answer = Answer(
        status=STATUS_PARTIAL,
        question="宝宝屋一个月多少钱",
        hits=(related,),
        regions=("长宁区",),
        message=message,
        detail=Detail(type="fee", label="具体收费或金额"),
    )
    text = answer_text(answer, PUBLIC_URL, 1800)
    assert text.startswith(message)
    assert related.clause.text.splitlines()[0][:20] in text  # the related clause follows, verbatim
    assert "出处：" in text and content_bytes(text) <= 1800


def test_a_found_answer_leads_with_its_answering_sentence() -> None:
    from dataclasses import replace

    from rag.models import Span

    hit = tuoyu_hit()
    text_of = hit.clause.text
    sentence = next(s for s in text_of.split("。") if "托育" in s and len(s) > 10) + "。"
    start = text_of.index(sentence)
    hit = replace(hit, answer_sentences=(Span(sentence, start, start + len(sentence)),))
    reply_text = answer_text(found("托育", hit), PUBLIC_URL, 1800)
    assert reply_text.startswith(sentence) and "条款原文：" in reply_text


def test_a_found_answers_note_leads_the_reply() -> None:
    # A question about 南宁市 is answered from the Guangxi plan, and says so first.
    note = "南宁市属于广西壮族自治区，以下是广西壮族自治区的政策原文。"
    answer = replace(found("南宁市托育服务", tuoyu_hit()), message=note)
    text = answer_text(answer, PUBLIC_URL, 1800)
    assert text.startswith(note + "\n")
    assert not answer_text(found("托育服务", tuoyu_hit()), PUBLIC_URL, 1800).startswith("\n")
