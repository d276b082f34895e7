"""Unit behaviour of the rag stage's small parts: numbers, references, fusion, normalisation, places."""

from __future__ import annotations

import jieba
import pytest

from corpus.models import Document, DocumentMeta
from corpus.numbering import cn_to_int
from index.build import harvest_terms
from rag.conversation import ConversationStore, MemoryStore, Turn
from rag.followup import NEXT, resolve_follow_up
from rag.fuse import RRF_K, reciprocal_rank_fusion, weighted_score_fusion
from rag.lookup import parse_reference, resolve_reference
from rag.normalize import expand_synonyms, normalize_question
from rag.numbers import NumberKey, heading_number, parse_number
from rag.places import PlaceIndex, PlaceMatch

BEICHUAN = DocumentMeta(id="bc", title="北川", region="北川羌族自治县", region_parents=("四川省",))
DOCS = [
    DocumentMeta(id="yz", title="渝中", region="渝中区", region_parents=("重庆市",)),
    DocumentMeta(id="ddk", title="大渡口", region="大渡口区", region_parents=("重庆市",)),
    DocumentMeta(id="gx", title="广西", region="广西壮族自治区"),
    DocumentMeta(id="cn", title="长宁", region="长宁区", region_parents=("上海市",)),
]


@pytest.fixture(scope="module")
def places() -> PlaceIndex:
    return PlaceIndex.from_documents(DOCS)


@pytest.mark.parametrize(
    ("numeral", "value"), [("17", 17), ("十七", 17), ("二十", 20), ("一百零三", 103), ("十", 10), ("两", 2)]
)
def test_cn_to_int(numeral: str, value: int) -> None:
    assert cn_to_int(numeral) == value


@pytest.mark.parametrize(
    ("printed", "key"),
    [
        ("(17)", NumberKey("arabic_paren", 17)),
        ("（17）", NumberKey("arabic_paren", 17)),
        ("17.", NumberKey("arabic_dot", 17)),
        ("1．", NumberKey("arabic_dot", 1)),
        ("（三）", NumberKey("cn_paren", 3)),
        ("三、", NumberKey("cn_comma", 3)),
        ("第三条", NumberKey("article", 3)),
        ("⑤", NumberKey("circled", 5)),
        ("专栏二", NumberKey("box", 2)),
    ],
)
def test_parse_number(printed: str, key: NumberKey) -> None:
    assert parse_number(printed) == key


def test_parse_number_rejects_non_numbers() -> None:
    assert parse_number(None) is None
    assert parse_number("——") is None
    assert parse_number("儿童") is None


def test_heading_number() -> None:
    assert heading_number("（四）推进儿童普惠福利体系建设。") == NumberKey("cn_paren", 4)
    assert heading_number("二、重点任务") == NumberKey("cn_comma", 2)
    assert heading_number("7.提升儿童教育卫生福利保障水平。") == NumberKey("arabic_dot", 7)
    assert heading_number("依法落实儿童法律保护体系。") is None


def test_parse_reference_forms() -> None:
    ref = parse_reference("长宁区行动计划第(20)条")
    assert ref is not None and ref.target == NumberKey("arabic_paren", 20) and not ref.any_style
    ref = parse_reference("广西方案第17条")
    assert ref is not None and ref.target == NumberKey("arabic_dot", 17) and ref.any_style
    ref = parse_reference("大渡口规划重点任务(四)第2条")
    assert ref is not None and ref.sections == (NumberKey("cn_paren", 4),) and ref.target.value == 2
    ref = parse_reference("渝中区三年行动计划第（44）项")
    assert ref is not None and ref.target == NumberKey("arabic_paren", 44)
    ref = parse_reference("渝中府办[2024]7号是什么文件")
    assert ref is not None and str(ref.doc_number) == "渝中府办〔2024〕7号" and ref.target is None
    assert parse_reference("孩子被欺负了怎么办") is None
    # a year or a count inside a sentence is not a clause reference
    assert parse_reference("到2025年每千人口托位多少个") is None


@pytest.fixture(scope="module")
def corpus_places(corpus_documents: tuple[Document, ...]) -> PlaceIndex:
    return PlaceIndex.from_documents(d.meta for d in corpus_documents)


def _resolve(question: str, corpus_documents: tuple[Document, ...], places: PlaceIndex) -> list[str]:
    clauses = [c for d in corpus_documents for c in d.clauses]
    found = resolve_reference(question, clauses, [d.meta for d in corpus_documents], places)
    return [f"{c.doc_id} {c.text[:16]}" for c in found]


@pytest.mark.parametrize(
    "question",
    [
        "渝中府办〔2024〕7号第(17)条",
        "渝中府办[2024]7号第17条",
        "渝中府办【2024】7号（17）",
        "渝中府办（2024）7号第（17）条",
        "渝中府办［2024］7号第十七条",
        "渝中府办(2024)7号第17项",
        "根据渝中府办〔2024〕7号第(17)条，托育服务怎么发展",
    ],
)
def test_doc_number_with_a_clause_number_resolves_to_that_clause(
    question: str, corpus_documents: tuple[Document, ...], corpus_places: PlaceIndex
) -> None:
    found = _resolve(question, corpus_documents, corpus_places)
    assert found and found[0].startswith("yuzhong-plan (17)加快婴幼儿照护服务发展"), found


def test_doc_number_alone_resolves_to_the_document_opening(
    corpus_documents: tuple[Document, ...], corpus_places: PlaceIndex
) -> None:
    for question in ("渝中府办【2024】7号是什么文件", "大渡口府发[2023]7号"):
        found = _resolve(question, corpus_documents, corpus_places)
        doc_id = "yuzhong-plan" if "渝中" in question else "dadukou-plan"
        assert found and all(line.startswith(doc_id) for line in found), found
    # A number the library does not hold (cited by the plans, not one of them) resolves to nothing.
    assert _resolve("发改社会〔2021〕1380号第(17)条", corpus_documents, corpus_places) == []
    assert _resolve("渝中府办〔2023〕7号第(17)条", corpus_documents, corpus_places) == []


def test_rrf_orders_by_summed_reciprocal_rank() -> None:
    fused = reciprocal_rank_fusion({"bm25": [1, 2, 3], "vector": [2, 3, 4]})
    assert [i for i, _, _ in fused][:2] == [2, 3]
    _, top_score, sources = fused[0]
    assert top_score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert sources == ("bm25", "vector")


def test_weighted_fusion_respects_weights() -> None:
    fused = weighted_score_fusion(
        {"bm25": [(1, 10.0), (2, 0.0)], "vector": [(2, 0.9), (1, 0.1)]}, {"bm25": 1, "vector": 0}
    )
    assert fused[0][0] == 1


def test_normalize_question_width_traditional_and_fillers() -> None:
    assert normalize_question("請問，孩子被欺負了怎麼辦呢？") == "孩子被欺负了怎么办"
    assert normalize_question("ＡＢＣ１２３") == "ABC123"
    assert normalize_question("   ") == ""


def test_a_question_word_at_the_end_keeps_its_last_character() -> None:
    assert normalize_question("渝中区到2025年的目标是什么？") == "渝中区到2025年的目标是什么"
    assert normalize_question("孩子被欺负了该怎么") == "孩子被欺负了该怎么"
    assert normalize_question("宝宝屋收费吗？") == "宝宝屋收费"


def test_expand_synonyms_appends_document_terms() -> None:
    expanded = expand_synonyms("看娃的地方")
    assert expanded.startswith("看娃的地方") and "托育" in expanded


def test_a_single_character_takes_only_whole_thesaurus_entries() -> None:
    from rag.coverage import expansions

    # 建 (建几个公园) is not 建议 -> 参与 意见; a whole two-character word still finds the entry it is in.
    assert "意见" not in expansions("建")
    assert "意见" in expansions("建议")
    # Terms come in the form clause tokens have: AED is indexed as aed.
    assert "aed" in expansions("除颤") and "AED" not in expansions("除颤")


def test_places_from_metadata(places: PlaceIndex) -> None:
    assert places.find("渝中区托育服务").covered == ("渝中区",)
    assert places.find("长宁宝宝屋").covered == ("长宁区",)
    assert places.find("广西的托位目标").covered == ("广西壮族自治区",)
    assert places.docs_for(places.find("重庆有哪些").covered) == {"yz", "ddk"}
    match = places.find("成都的托育补贴有多少")
    assert match.covered == () and match.uncovered == ("成都",)
    assert places.find("儿童友好社区建设").uncovered == ()


def test_places_for_new_region_come_from_metadata() -> None:
    index = PlaceIndex.from_documents(
        [*DOCS, DocumentMeta(id="hz", title="杭州", region="杭州市", region_parents=("浙江省",))]
    )
    assert index.find("杭州的托育").covered == ("杭州市",)
    assert index.docs_for(index.find("浙江").covered) == {"hz"}


def test_a_reload_without_a_document_forgets_its_place_words() -> None:
    loaded = PlaceIndex.from_documents([*DOCS, BEICHUAN])
    assert loaded.find("北川的托育补贴").covered == ("北川羌族自治县",)
    assert ("北川羌族自治县", "ns") in loaded.words("北川羌族自治县的托育补贴")
    reloaded = PlaceIndex.from_documents(DOCS)  # the library after the document was removed
    assert reloaded.find("北川的托育补贴").covered == ()
    # Still a place (the country's divisions are known), now one the library does not cover.
    assert reloaded.find("北川羌族自治县的托育补贴") == PlaceMatch((), ("北川羌族自治县",))
    assert "北川羌族自治县" not in jieba.dt.FREQ  # the process-wide dictionary never learnt it


def test_index_dictionary_and_place_finder_share_the_short_forms() -> None:
    places = PlaceIndex.from_documents([*DOCS, BEICHUAN])
    assert set(places.alias_to_place) <= set(harvest_terms([*DOCS, BEICHUAN]))
    assert places.alias_to_place["北川"] == "北川羌族自治县"
    assert places.alias_to_place["广西"] == "广西壮族自治区"


def test_a_new_short_question_after_a_refused_place_is_not_refused_again(places: PlaceIndex) -> None:
    refused = Turn("上海浦东有没有宝宝屋", ("浦东",), None, None)
    assert resolve_follow_up("娃儿打疫苗要钱不", refused, places) == ("娃儿打疫苗要钱不", 0)
    assert resolve_follow_up("那长宁呢", refused, places)[0] == "上海长宁区有没有宝宝屋"
    covered = Turn("渝中区宝宝屋有几个", ("渝中区",), "yz", "c1")
    assert resolve_follow_up("娃儿打疫苗要钱不", covered, places)[0] == "渝中区 娃儿打疫苗要钱不"


def test_follow_up_swaps_place(places: PlaceIndex) -> None:
    previous = Turn("渝中区托育服务有什么政策", ("渝中区",), "yz", "c1")
    question, step = resolve_follow_up("那长宁区呢？", previous, places)
    assert question == "长宁区托育服务有什么政策" and step == 0
    assert resolve_follow_up("长宁呢", previous, places)[0] == "长宁区托育服务有什么政策"
    assert resolve_follow_up("长宁区宝宝屋建设目标", previous, places)[0] == "长宁区宝宝屋建设目标"
    assert resolve_follow_up("下一条呢？", previous, places) == (previous.question, NEXT)
    assert resolve_follow_up("那长宁区呢？", None, places)[0] == "那长宁区呢？"


def test_conversation_store_round_trip_and_expiry() -> None:
    store = ConversationStore(MemoryStore(), ttl_seconds=60)
    turn = Turn("问题", ("渝中区",), "yz", "c1")
    store.remember("s1", turn)
    assert store.last_turn("s1") == turn
    assert store.last_turn("other") is None
    expired = ConversationStore(MemoryStore(), ttl_seconds=-1)
    expired.remember("s1", turn)
    assert expired.last_turn("s1") is None


def test_sentence_spans_keep_text_verbatim() -> None:
    from rag.sentences import sentence_spans

    text = "建立儿童参与机制。组织儿童常态化参与公共事务；到2026年建成1个基地。"
    sentences = [text[start:end] for start, end in sentence_spans(text)]
    assert sentences == ["建立儿童参与机制。", "组织儿童常态化参与公共事务；", "到2026年建成1个基地。"]
    assert "".join(sentences) == text


def test_dialect_words_become_standard_mandarin_for_retrieval() -> None:
    from rag.normalize import to_standard_mandarin

    assert to_standard_mandarin("屋头娃儿近视了，渝中有啥子办法") == "家里孩子近视了，渝中有什么办法"
    assert to_standard_mandarin("阿拉小囡礼拜天白相的地方") == "我们孩子周日玩的地方"
    # Words that only contain a dialect word's characters are left alone.
    assert to_standard_mandarin("遭受家庭暴力的儿童") == "遭受家庭暴力的儿童"
    assert to_standard_mandarin("托育服务") == "托育服务"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # inside a covered region: answered from that region's documents
        ("南宁市的托育政策", PlaceMatch(("广西壮族自治区",), (), (("南宁市", "广西壮族自治区"),))),
        ("柳州娃娃近视了怎么办", PlaceMatch(("广西壮族自治区",), (), (("柳州", "广西壮族自治区"),))),
        # beside the covered district in a named city: the question is about the uncovered district
        ("上海浦东有什么托育政策", PlaceMatch((), ("浦东",))),
        ("重庆江北区儿童友好", PlaceMatch((), ("江北区",))),
        # divisions jieba alone does not tag
        ("徐汇区托育补贴", PlaceMatch((), ("徐汇区",))),
        ("沙坪坝的娃娃打疫苗", PlaceMatch((), ("沙坪坝",))),
        # the named district says which of the city's documents
        ("重庆渝中区托育", PlaceMatch(("渝中区",))),
        ("上海长宁宝宝屋", PlaceMatch(("长宁区",))),
        ("重庆有哪些托育政策", PlaceMatch(("重庆市",))),
    ],
)
def test_what_encloses_what_decides_between_places(
    places: PlaceIndex, question: str, expected: PlaceMatch
) -> None:
    assert places.find(question) == expected
