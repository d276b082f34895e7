"""ChineseTokenizer on the real corpus text: domain terms, 发文字号 and clause numbers stay whole."""

from __future__ import annotations

import pickle
import re

import jieba
import pytest

from corpus.models import Clause
from index.tokenize import ChineseTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


def _clause_containing(clauses: list[Clause], text: str, *, avoid: str = "\0") -> Clause:
    for clause in clauses:
        if text in clause.text and avoid not in clause.text:
            return clause
    raise AssertionError(f"no clause of the corpus contains {text!r}")


def test_doc_numbers_of_the_corpus_are_single_tokens(tokenizer, paragraph_clauses):
    # Every 发文字号 printed in the corpus, found independently of the tokenizer's own pattern.
    printed = {
        m.group(0)
        for c in paragraph_clauses
        for m in re.finditer(r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2,6}〔\d{4}〕\d+号", c.text)
    }
    printed |= {
        m.group(1) for c in paragraph_clauses for m in re.finditer(r"发文字号\s*(\S+〔\d{4}〕\d+号)", c.text)
    }
    assert "渝中府办〔2024〕7号" in printed and "大渡口府发〔2023〕7号" in printed
    for number in printed:
        clause = _clause_containing(paragraph_clauses, number)
        assert number in tokenizer(clause.text), (number, clause.text)


def test_doc_number_variants_give_the_same_token(tokenizer):
    expected = "渝中府办〔2024〕7号"
    for typed in [
        "渝中府办〔2024〕7号",
        "渝中府办[2024]7号",
        "渝中府办（2024）7号",
        "渝中府办【2024】7号",
        "渝中府办［2024］7号",
        "渝中府办(2024)7号",
        "渝中府办【2024]7号",
        "渝中府办〔2024〕 7 号",
        "发文字号：渝中府办〔２０２４〕７号",
        "根据渝中府办〔2024〕7号",
    ]:
        tokens = tokenizer(typed)
        assert expected in tokens, (typed, tokens)
        assert "〔2024〕7号" in tokens  # the bare number matches however the issuer was written


def test_clause_numbers_are_single_tokens(tokenizer, paragraph_clauses):
    clause = _clause_containing(paragraph_clauses, "(17)加快婴幼儿照护服务发展")
    tokens = tokenizer(clause.text)
    assert tokens[0] == "(17)"
    assert "婴幼儿照护" in tokens
    assert tokenizer("（一）推进社会政策友好")[0] == "(一)"  # full-width brackets fold to ASCII
    assert "(17)" in tokenizer("渝中区三年行动计划第（17）项")


@pytest.mark.parametrize(
    "term",
    [
        "儿童友好",
        "托育",
        "普惠托育",
        "适儿化",
        "困境儿童",
        "留守儿童",
        "渝中区",
        "渝中",
        "大渡口",
        "大渡口区",
        "广西",
        "广西壮族自治区",
        "长宁",
        "长宁区",
        "社区儿童之家",
        "妇儿工委",
    ],
)
def test_domain_terms_stay_whole_in_real_clauses(tokenizer, paragraph_clauses, term):
    clause = _clause_containing(paragraph_clauses, term, avoid="〔")  # inside a 发文字号 it is one token
    assert term in tokenizer(clause.text), clause.text


def test_search_mode_also_emits_the_parts_of_long_terms(tokenizer):
    tokens = tokenizer("发展普惠托育服务体系")
    assert {"普惠托育", "托育", "普惠", "服务体系", "服务", "体系"} <= set(tokens)
    precise = ChineseTokenizer(mode="precise")("发展普惠托育服务体系")
    assert "普惠托育" in precise and "托育" not in precise


def test_stop_words_and_punctuation_are_dropped(tokenizer):
    tokens = tokenizer("孩子被欺负了怎么办？！")
    assert tokens == ["孩子", "欺负"]
    assert tokenizer("，。、；：“”") == []
    assert tokenizer("") == []


def test_full_width_and_case_are_folded(tokenizer):
    assert tokenizer("ＡＢＣ　１５分钟生活圈") == tokenizer("abc 15分钟生活圈")
    assert "15分钟生活圈" in tokenizer("打造１５分钟生活圈")
    assert "ip" in tokenizer("文化产品IP")


def test_char_ngrams_are_optional(tokenizer):
    plain = tokenizer("看娃有补贴吗")
    bigrams = ChineseTokenizer(char_ngrams=2)("看娃有补贴吗")
    assert "娃有" not in plain
    assert {"看娃", "娃有", "有补", "补贴", "贴吗"} <= set(bigrams)
    assert set(plain) <= set(bigrams)


def test_extra_terms_are_kept_whole_and_recorded():
    text = "建设朝天门儿童用品流通基地"
    assert "儿童用品流通基地" not in ChineseTokenizer(mode="precise")(text)
    custom = ChineseTokenizer(["儿童用品流通基地"], mode="precise")
    assert "儿童用品流通基地" in custom(text)
    assert custom.settings()["extra_terms"] == ["儿童用品流通基地"]


def test_settings_rebuild_an_identical_tokenizer(tokenizer, paragraph_clauses):
    custom = ChineseTokenizer(["儿童用品流通基地", "化龙桥未来新兴商圈"], char_ngrams=2, hmm=False)
    rebuilt = ChineseTokenizer.from_settings(custom.settings())
    unpickled = pickle.loads(pickle.dumps(custom))
    assert rebuilt.settings() == custom.settings() == unpickled.settings()
    for clause in paragraph_clauses[::7]:
        assert rebuilt(clause.text) == custom(clause.text) == unpickled(clause.text)


def test_tokenizer_is_deterministic_across_instances(tokenizer, paragraph_clauses):
    other = ChineseTokenizer()
    assert all(tokenizer(c.text) == other(c.text) for c in paragraph_clauses)
    assert other.settings() == tokenizer.settings()


def test_global_jieba_is_left_alone_and_silent(capfd):
    ChineseTokenizer(["全局词典不该有的词"])
    assert "全局词典不该有的词" not in jieba.dt.FREQ
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_word_and_its_one_character_alternative_are_both_terms() -> None:
    from index.tokenize import read_alternatives

    tokenizer = ChineseTokenizer()
    # The 长宁 plan's 爱心暑(寒)托班: residents ask for 暑托班 or 寒托班, never for 暑(寒)托班.
    terms = tokenizer("持续办好“爱心暑（寒）托班”")
    assert "暑托班" in terms and "寒托班" in terms
    assert read_alternatives("落实食品安全校(园)长负责制") == "落实食品安全校长负责制 园长负责"
    # A longer alternative is a word of its own already.
    assert read_alternatives("以镇(街道)为单位") == "以镇(街道)为单位"
    assert read_alternatives("第(17)条") == "第(17)条"
