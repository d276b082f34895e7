"""The bundled question set checked against the real corpus texts and the parsed clauses."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import Any

import pytest

from eval.labels import (
    KIND_COLLOQUIAL,
    KIND_COMPARISON,
    KIND_FOLLOW_UP,
    KIND_UNANSWERABLE,
    KIND_WECHAT_SHORT,
    KINDS,
    NO_DOC,
    SPLIT_DEV,
    SPLIT_TEST,
    EvalQuestion,
    GoldAnswer,
    LabelError,
    assign_splits,
    clauses_containing,
    load_questions,
    load_source_texts,
    primary_doc,
    validate_questions,
    write_questions,
)
from eval.metrics import is_gold_hit
from tests.conftest import CORPUS_DIR

# Where each bundled document applies; used to check that a question naming one of these places has
# gold from that place only. (The product reads places from document metadata; this is test data.)
DOC_REGION = {
    "yuzhong-plan": "渝中区",
    "yuzhong-interpretation": "渝中区",
    "dadukou-plan": "大渡口区",
    "guangxi-plan": "广西壮族自治区",
    "changning-plan": "长宁区",
}


@pytest.fixture(scope="module")
def questions() -> list[EvalQuestion]:
    return load_questions()


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return load_source_texts(CORPUS_DIR)


def test_the_set_is_valid_against_the_corpus(questions, sources):
    assert validate_questions(questions, sources) == []


def test_every_snippet_occurs_verbatim_in_its_document(questions, sources):
    missing = [
        (q.id, g.doc_id, g.snippet)
        for q in questions
        for g in q.gold
        if g.doc_id not in sources or g.snippet not in sources[g.doc_id]
    ]
    assert missing == []
    assert set(sources) == set(DOC_REGION), "every bundled document has a region entry in this test"


def test_ids_are_unique_and_kinds_and_splits_are_known(questions):
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids))
    assert {q.kind for q in questions} == set(KINDS), "every kind is represented"
    assert {q.split for q in questions} == {SPLIT_DEV, SPLIT_TEST}


def test_counts_meet_the_issue_minimums(questions):
    total = len(questions)
    kinds = Counter(q.kind for q in questions)
    assert total >= 200
    assert kinds[KIND_COLLOQUIAL] / total >= 0.40
    assert sum(not q.answerable for q in questions) / total >= 0.10
    assert all(kinds[kind] >= 10 for kind in KINDS), kinds
    assert all(q.gold == () for q in questions if q.kind == KIND_UNANSWERABLE)


def test_every_document_is_asked_about_in_both_splits(questions, sources):
    for split in (SPLIT_DEV, SPLIT_TEST):
        covered = {d for q in questions if q.split == split for d in q.doc_ids}
        assert covered == set(sources), split


def test_splits_are_balanced_by_kind_and_document(questions):
    splits = Counter(q.split for q in questions)
    assert abs(splits[SPLIT_DEV] - splits[SPLIT_TEST]) <= len(KINDS)
    for kind in KINDS:
        per_kind = Counter(q.split for q in questions if q.kind == kind)
        assert abs(per_kind[SPLIT_DEV] - per_kind[SPLIT_TEST]) <= 1, kind
    for doc in {primary_doc(q) for q in questions}:
        per_doc = Counter(q.split for q in questions if primary_doc(q) == doc)
        if sum(per_doc.values()) >= 10:
            assert min(per_doc[SPLIT_DEV], per_doc[SPLIT_TEST]) >= 0.4 * sum(per_doc.values()), doc


def test_a_named_place_limits_gold_to_that_place(questions):
    covered = set(DOC_REGION.values())
    for q in questions:
        named = covered.intersection(q.regions)
        if not named or q.kind == KIND_COMPARISON:
            continue
        assert {DOC_REGION[d] for d in q.doc_ids} <= named, q.id


def test_comparisons_span_documents_and_follow_ups_carry_context(questions):
    for q in questions:
        if q.kind == KIND_COMPARISON:
            assert len(q.doc_ids) >= 2, q.id
        if q.kind == KIND_FOLLOW_UP:
            assert q.context, q.id
        if q.kind == KIND_WECHAT_SHORT:
            assert 3 <= len(q.question) <= 8, q.id


def _bigrams(text: str) -> set[str]:
    for place in ("渝中区", "渝中", "大渡口区", "大渡口", "广西", "长宁区", "长宁", "重庆"):
        text = text.replace(place, "")
    text = re.sub(r"[^\w]", "", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def test_colloquial_questions_share_little_wording_with_their_clause(questions, sources):
    # Share of a question's character bigrams (place names aside) found in its best gold clause line.
    overlaps = []
    for q in questions:
        if q.kind != KIND_COLLOQUIAL:
            continue
        words = _bigrams(q.question)
        best = 0.0
        for g in q.gold:
            line = next(line for line in sources[g.doc_id].splitlines() if g.snippet in line)
            best = max(best, len(words & _bigrams(line)) / len(words))
        overlaps.append((best, q.id))
    assert statistics.mean(o for o, _ in overlaps) <= 0.25
    assert [qid for o, qid in overlaps if o > 0.7] == []


# --- the validator and loader catch what they should ----------------------------------------------


def _question(**changes: Any) -> EvalQuestion:
    base: dict[str, Any] = {
        "id": "q001",
        "question": "长宁宝宝屋",
        "kind": KIND_WECHAT_SHORT,
        "split": SPLIT_DEV,
        "answerable": True,
        "gold": (GoldAnswer("changning-plan", "全面推进社区托育“宝宝屋”建设", "(20)"),),
    }
    base.update(changes)
    return EvalQuestion(**base)


def test_validator_accepts_a_good_question(sources):
    assert validate_questions([_question()], sources) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"gold": (GoldAnswer("changning-plan", "全面推进社区托育“宝宝屋”建設", "(20)"),)}, "occurs 0 times"),
        ({"gold": (GoldAnswer("changning-plan", '全面推进社区托育"宝宝屋"建设', "(20)"),)}, "occurs 0 times"),
        ({"gold": (GoldAnswer("changning-plan", "儿童友好", None),)}, "occurs"),
        ({"gold": (GoldAnswer("no-such-doc", "全面推进社区托育“宝宝屋”建设", None),)}, "unknown document"),
        ({"gold": (GoldAnswer("changning-plan", "宝宝屋", None),)}, "snippet of 3 characters"),
        ({"kind": "casual"}, "unknown kind"),
        ({"split": "train"}, "unknown split"),
        ({"answerable": False}, "answerable=False"),
        ({"question": "长宁区社区托育宝宝屋建设覆盖率"}, "WeChat message"),
        ({"kind": KIND_COMPARISON, "question": "长宁和渝中比较"}, "two or more documents"),
        ({"kind": KIND_FOLLOW_UP, "question": "那长宁呢"}, "earlier turns"),
        ({"context": ("渝中呢",)}, "only follow-ups"),
        ({"id": "Q1"}, "id must look like"),
    ],
)
def test_validator_reports_bad_labels(sources, changes, expected):
    problems = validate_questions([_question(**changes)], sources)
    assert any(expected in p for p in problems), problems


def test_validator_reports_duplicate_ids(sources):
    problems = validate_questions([_question(), _question()], sources)
    assert any("duplicate id" in p for p in problems)


def test_a_whole_table_cell_may_be_shorter_than_ten_characters(sources):
    cell = _question(gold=(GoldAnswer("dadukou-plan", "新生儿死亡率（‰）", None),))
    assert validate_questions([cell], sources) == []


def test_round_trip_through_a_file(tmp_path, questions):
    path = tmp_path / "set.jsonl"
    write_questions(questions, path)
    assert load_questions(path) == questions
    assert [q.to_dict() for q in load_questions(path)] == [q.to_dict() for q in questions]


def test_a_malformed_line_names_its_line_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "q001"}\n', encoding="utf-8")
    with pytest.raises(LabelError, match=r"bad\.jsonl:1"):
        load_questions(path)


def test_assign_splits_is_deterministic_and_alternates_within_kind():
    gold = (GoldAnswer("guangxi-plan", "推行“医育结合”模式", "5."),)
    items = [_question(id=f"q{i:03d}", kind=KIND_COLLOQUIAL, question="问题", gold=gold) for i in range(1, 8)]
    items += [
        _question(id=f"q{i:03d}", kind=KIND_UNANSWERABLE, answerable=False, gold=()) for i in range(8, 12)
    ]
    first = assign_splits(items)
    assert first == assign_splits(list(reversed(items)))
    colloquial = Counter(first[q.id] for q in items if q.kind == KIND_COLLOQUIAL)
    assert colloquial == {SPLIT_DEV: 4, SPLIT_TEST: 3}
    assert Counter(first[q.id] for q in items if q.kind == KIND_UNANSWERABLE) == {SPLIT_DEV: 2, SPLIT_TEST: 2}
    assert primary_doc(items[-1]) == NO_DOC


# --- against the parser ------------------------------------------------------------------------------


def test_each_gold_entry_names_exactly_one_parsed_clause(questions, corpus_documents):
    clauses = [clause for document in corpus_documents for clause in document.clauses]
    problems: list[tuple[str, ...]] = []
    for q in questions:
        matched: list[str] = []
        for g in q.gold:
            found = clauses_containing(g, clauses)
            if len(found) != 1:
                problems.append((q.id, g.doc_id, g.snippet, f"{len(found)} clauses contain the snippet"))
            elif not is_gold_hit(found[0], g):
                problems.append(
                    (q.id, g.doc_id, g.snippet, f"clause number {found[0].number!r} != {g.number!r}")
                )
            matched.extend(c.id for c in found)
        if len(matched) != len(set(matched)):
            problems.append((q.id, "two gold entries name the same clause"))
    assert problems == []
