"""The evaluation question set: records, loading, validation against the corpus, and dev/test splits.

A gold answer names a document and a verbatim snippet of the answering clause (plus the clause number
as printed, where the clause has one), so labels survive re-chunking: whatever the parser or the index
does, the clause that contains the snippet is the answer.

Each question expects one answer status: `found` (answerable: gold clauses state what was asked),
`partial` (the documents cover the topic but not the detail asked for, such as a fee, a time or a place;
`related` lists the clauses on the topic as reference) or `not_found` (the documents do not cover it).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.models import STATUS_FOUND, STATUS_NOT_FOUND, STATUS_PARTIAL

DEFAULT_QUESTIONS_PATH = Path(__file__).resolve().with_name("questions.jsonl")

KIND_COLLOQUIAL = "colloquial"
KIND_WECHAT_SHORT = "wechat_short"
KIND_STAFF_TERMS = "staff_terms"
KIND_NUMBERS_TARGETS = "numbers_targets"
KIND_TABLE_ROW = "table_row"
KIND_CLAUSE_REF = "clause_ref"
KIND_COMPARISON = "comparison"
KIND_FOLLOW_UP = "follow_up"
KIND_UNANSWERABLE = "unanswerable"
KIND_DETAIL = "detail"  # asks for a detail the documents do not state (expects `partial`)
KIND_DIALECT = "dialect"  # Chongqing or Shanghai dialect, or grandparents' phrasing (answerable)
KIND_TYPO = "typo"  # pinyin input-method typos (answerable; `intended` holds the text meant)
KINDS: tuple[str, ...] = (
    KIND_COLLOQUIAL,
    KIND_WECHAT_SHORT,
    KIND_STAFF_TERMS,
    KIND_NUMBERS_TARGETS,
    KIND_TABLE_ROW,
    KIND_CLAUSE_REF,
    KIND_COMPARISON,
    KIND_FOLLOW_UP,
    KIND_UNANSWERABLE,
    KIND_DETAIL,
    KIND_DIALECT,
    KIND_TYPO,
)

# The answer status a question expects (the same words as the answer contract's `status`).
EXPECT_FOUND = STATUS_FOUND
EXPECT_PARTIAL = STATUS_PARTIAL
EXPECT_NOT_FOUND = STATUS_NOT_FOUND
# Kinds that may expect `partial`: a detail asked directly, or in a follow-up ("那一个月多少钱").
PARTIAL_KINDS: tuple[str, ...] = (KIND_DETAIL, KIND_FOLLOW_UP)

# The kind of detail a partial question asks for and the documents do not state.
DETAIL_FEE = "fee"  # a price, fee, subsidy or other sum of money
DETAIL_AMOUNT = "amount"  # another quantity: days of leave, a ratio, a height
DETAIL_TIME = "time"  # a time, date, opening hours or deadline
DETAIL_PLACE = "place"  # a place, address or which institution
DETAIL_PROCEDURE = "procedure"  # how to apply, the materials to bring, the steps
DETAIL_CONTACT = "contact"  # a phone number, hotline number or website
DETAIL_LIST = "list"  # the names in a list ("which 10 hospitals")
DETAIL_ELIGIBILITY = "eligibility"  # who qualifies: age, conditions
DETAIL_SERVICE = "service"  # what a service provides (lunch, hours of care)
DETAIL_TYPES: tuple[str, ...] = (
    DETAIL_FEE,
    DETAIL_AMOUNT,
    DETAIL_TIME,
    DETAIL_PLACE,
    DETAIL_PROCEDURE,
    DETAIL_CONTACT,
    DETAIL_LIST,
    DETAIL_ELIGIBILITY,
    DETAIL_SERVICE,
)

SPLIT_DEV = "dev"
SPLIT_TEST = "test"
SPLITS: tuple[str, ...] = (SPLIT_DEV, SPLIT_TEST)

# Stratification key for questions without gold (unanswerable ones).
NO_DOC = "(none)"

# A snippet must be long enough to pin one clause and short enough to survive small edits of the text.
SNIPPET_MIN_CHARS = 10
SNIPPET_MAX_CHARS = 40
# WeChat-style messages are a few characters long ("托育").
WECHAT_MIN_CHARS = 2
WECHAT_MAX_CHARS = 8

_ID_PATTERN = re.compile(r"^q\d{3,}$")
_WHITESPACE = re.compile(r"\s+")


class LabelError(ValueError):
    """A malformed line in the question file (the message names the line)."""


@dataclass(frozen=True)
class GoldAnswer:
    """One answering clause: its document, a verbatim snippet of its text, its number as printed."""

    doc_id: str
    snippet: str
    number: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used in questions.jsonl."""
        return {"doc_id": self.doc_id, "snippet": self.snippet, "number": self.number}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GoldAnswer:
        """Inverse of `to_dict`."""
        return cls(doc_id=str(data["doc_id"]), snippet=str(data["snippet"]), number=data.get("number"))


@dataclass(frozen=True)
class TypoFix:
    """An input-method typo in a question: `wrong` as typed, `right` as meant (儿同 -> 儿童)."""

    wrong: str
    right: str

    def to_dict(self) -> dict[str, str]:
        """Return `{from, to}`, the form of the answer contract's `corrections`."""
        return {"from": self.wrong, "to": self.right}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TypoFix:
        """Inverse of `to_dict`."""
        return cls(wrong=str(data["from"]), right=str(data["to"]))


@dataclass(frozen=True)
class EvalQuestion:
    """One question of the evaluation set.

    `gold` is empty exactly when the corpus cannot answer the question. When a question names no
    place and several documents answer it, every answering clause is listed and any one counts.
    `context` holds the earlier turns of a follow-up, oldest first.

    A question with `expect == "partial"` asks for a `detail` (DETAIL_TYPES) that no document states;
    `related` lists the clauses on its topic, as reference (validated like gold). A typo question
    carries the text meant in `intended` and each typo in `typos`.
    """

    id: str
    question: str
    kind: str
    split: str
    answerable: bool
    gold: tuple[GoldAnswer, ...] = ()
    context: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    note: str | None = None
    expect: str | None = None
    related: tuple[GoldAnswer, ...] = ()
    detail: str | None = None
    intended: str | None = None
    typos: tuple[TypoFix, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def expected_status(self) -> str:
        """The answer status this question expects: found, partial or not_found."""
        if self.answerable:
            return EXPECT_FOUND
        return EXPECT_PARTIAL if self.expect == EXPECT_PARTIAL else EXPECT_NOT_FOUND

    @property
    def doc_ids(self) -> tuple[str, ...]:
        """Documents of the gold answers (of the related clauses when there is no gold), in order."""
        return tuple(dict.fromkeys(g.doc_id for g in self.gold or self.related))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object of one line of questions.jsonl (optional fields only when set)."""
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "kind": self.kind,
            "split": self.split,
            "answerable": self.answerable,
            "gold": [g.to_dict() for g in self.gold],
        }
        if self.context:
            data["context"] = list(self.context)
        if self.regions:
            data["regions"] = list(self.regions)
        if self.note:
            data["note"] = self.note
        if self.expect is not None:
            data["expect"] = self.expect
        if self.related:
            data["related"] = [r.to_dict() for r in self.related]
        if self.detail is not None:
            data["detail"] = self.detail
        if self.intended is not None:
            data["intended"] = self.intended
        if self.typos:
            data["typos"] = [t.to_dict() for t in self.typos]
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalQuestion:
        """Inverse of `to_dict`; unknown keys are kept in `extra` so a round trip loses nothing."""
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            kind=str(data["kind"]),
            split=str(data["split"]),
            answerable=bool(data["answerable"]),
            gold=tuple(GoldAnswer.from_dict(g) for g in data.get("gold", ())),
            context=tuple(str(c) for c in data.get("context", ())),
            regions=tuple(str(r) for r in data.get("regions", ())),
            note=data.get("note"),
            expect=data.get("expect"),
            related=tuple(GoldAnswer.from_dict(r) for r in data.get("related", ())),
            detail=data.get("detail"),
            intended=data.get("intended"),
            typos=tuple(TypoFix.from_dict(t) for t in data.get("typos", ())),
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
        )


_KNOWN_KEYS = frozenset(
    {
        "id",
        "question",
        "kind",
        "split",
        "answerable",
        "gold",
        "context",
        "regions",
        "note",
        "expect",
        "related",
        "detail",
        "intended",
        "typos",
    }
)


def load_questions(path: Path | str | None = None) -> list[EvalQuestion]:
    """Return the questions of a JSON-lines file (default: the bundled eval/questions.jsonl)."""
    source = Path(path) if path is not None else DEFAULT_QUESTIONS_PATH
    questions: list[EvalQuestion] = []
    with source.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                questions.append(EvalQuestion.from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise LabelError(f"{source}:{line_number}: {exc!r}") from exc
    return questions


def write_questions(questions: Iterable[EvalQuestion], path: Path | str) -> None:
    """Write questions as one compact JSON object per line (UTF-8, Chinese kept readable)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for question in questions:
            handle.write(json.dumps(question.to_dict(), ensure_ascii=False) + "\n")


def load_source_texts(corpus_dir: Path | str) -> dict[str, str]:
    """Return the raw text of each `<doc_id>.txt` in a corpus folder, keyed by doc id (the file stem)."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(Path(corpus_dir).glob("*.txt"))}


def strip_whitespace(text: str) -> str:
    """Return `text` without any whitespace: the form snippets and clause texts are compared in."""
    return _WHITESPACE.sub("", text)


def snippet_is_table_cell(snippet: str, source_text: str) -> bool:
    """True when the snippet is one whole line of the source (a table cell, e.g. an indicator name)."""
    return any(line.strip() == snippet for line in source_text.splitlines())


def validate_questions(
    questions: Sequence[EvalQuestion], sources: Mapping[str, str] | None = None
) -> list[str]:
    """Return every problem found in the set (empty when it is valid).

    Checks the schema rules and, when `sources` (doc id -> raw text) is given, that each snippet is a
    verbatim, single-line substring of its document occurring exactly once there.
    """
    problems: list[str] = []
    seen_ids: set[str] = set()
    for q in questions:
        where = f"{q.id}"
        if not _ID_PATTERN.match(q.id):
            problems.append(f"{where}: id must look like q001")
        if q.id in seen_ids:
            problems.append(f"{where}: duplicate id")
        seen_ids.add(q.id)
        if not q.question.strip():
            problems.append(f"{where}: empty question")
        if q.kind not in KINDS:
            problems.append(f"{where}: unknown kind {q.kind!r}")
        if q.split not in SPLITS:
            problems.append(f"{where}: unknown split {q.split!r}")
        if q.answerable != bool(q.gold):
            problems.append(f"{where}: answerable={q.answerable} but {len(q.gold)} gold answers")
        if q.kind == KIND_UNANSWERABLE and q.gold:
            problems.append(f"{where}: an unanswerable question has gold answers")
        problems.extend(_validate_expectation(where, q))
        problems.extend(_validate_typos(where, q))
        if q.context and q.kind != KIND_FOLLOW_UP:
            problems.append(f"{where}: only follow-ups carry context")
        if q.kind == KIND_FOLLOW_UP and not q.context:
            problems.append(f"{where}: a follow-up needs the earlier turns in context")
        if q.kind == KIND_WECHAT_SHORT and not WECHAT_MIN_CHARS <= len(q.question) <= WECHAT_MAX_CHARS:
            problems.append(f"{where}: WeChat message of {len(q.question)} characters")
        if q.kind == KIND_COMPARISON and len(q.doc_ids) < 2:
            problems.append(f"{where}: a comparison needs gold from two or more documents")
        if len(set(q.gold)) != len(q.gold):
            problems.append(f"{where}: repeated gold answer")
        if len(set(q.related)) != len(q.related):
            problems.append(f"{where}: repeated related clause")
        for gold in (*q.gold, *q.related):
            problems.extend(_validate_gold(where, gold, sources))
    return problems


def _validate_expectation(where: str, q: EvalQuestion) -> list[str]:
    """Rules tying `expect`, `related` and `detail` to the kind and the gold."""
    problems: list[str] = []
    if q.expect is None:
        if q.kind == KIND_DETAIL:
            problems.append(f"{where}: a detail question must expect 'partial'")
        if q.related or q.detail is not None:
            problems.append(f"{where}: related clauses and detail belong to partial questions only")
    elif q.expect != EXPECT_PARTIAL:
        problems.append(f"{where}: unknown expect {q.expect!r} (only 'partial' is written out)")
    else:
        if q.answerable or q.gold:
            problems.append(f"{where}: a partial question has no gold and answerable=false")
        if not q.related:
            problems.append(f"{where}: a partial question lists its related clauses")
        if q.detail not in DETAIL_TYPES:
            problems.append(f"{where}: unknown detail {q.detail!r}")
        if q.kind not in PARTIAL_KINDS:
            problems.append(f"{where}: kind {q.kind} cannot expect 'partial'")
    if q.kind in (KIND_DIALECT, KIND_TYPO) and not q.answerable:
        problems.append(f"{where}: a {q.kind} question must be answerable")
    return problems


def _validate_typos(where: str, q: EvalQuestion) -> list[str]:
    """A typo question says what was meant, and applying its typos to the question gives exactly that."""
    if q.kind == KIND_TYPO and (q.intended is None or not q.typos):
        return [f"{where}: a typo question needs 'intended' and 'typos'"]
    if (q.intended is None) != (not q.typos):
        return [f"{where}: 'intended' and 'typos' go together"]
    problems: list[str] = []
    corrected = q.question
    for typo in q.typos:
        if typo.wrong == typo.right or typo.wrong not in q.question:
            problems.append(
                f"{where}: typo {typo.wrong!r} -> {typo.right!r} must change a part of the question"
            )
        corrected = corrected.replace(typo.wrong, typo.right)
    if q.intended is not None and corrected != q.intended:
        problems.append(f"{where}: the typos turn the question into {corrected!r}, not {q.intended!r}")
    return problems


def _validate_gold(where: str, gold: GoldAnswer, sources: Mapping[str, str] | None) -> list[str]:
    problems: list[str] = []
    snippet = gold.snippet
    if "\n" in snippet or snippet != snippet.strip():
        problems.append(f"{where}: snippet must be one line without surrounding spaces: {snippet!r}")
    if sources is None:
        return problems
    text = sources.get(gold.doc_id)
    if text is None:
        return [*problems, f"{where}: unknown document {gold.doc_id!r}"]
    count = text.count(snippet)
    if count != 1:
        problems.append(f"{where}: snippet occurs {count} times in {gold.doc_id}: {snippet!r}")
    length_ok = SNIPPET_MIN_CHARS <= len(snippet) <= SNIPPET_MAX_CHARS
    # A short indicator name is acceptable when it is a whole table cell: nothing longer is on its line.
    if not length_ok and not (len(snippet) < SNIPPET_MIN_CHARS and snippet_is_table_cell(snippet, text)):
        problems.append(f"{where}: snippet of {len(snippet)} characters: {snippet!r}")
    return problems


def primary_doc(question: EvalQuestion) -> str:
    """The document a question is stratified by: its first gold (else related) document, or NO_DOC."""
    return question.doc_ids[0] if question.doc_ids else NO_DOC


def assign_splits(questions: Sequence[EvalQuestion]) -> dict[str, str]:
    """Return a deterministic dev/test split, question id -> split, stratified by kind and document.

    Within each kind, questions are grouped by primary document and alternate dev, test, dev...; the
    alternation carries over from one group to the next so odd-sized groups do not all lean to dev.
    """
    by_kind: dict[str, dict[str, list[EvalQuestion]]] = defaultdict(lambda: defaultdict(list))
    for q in questions:
        by_kind[q.kind][primary_doc(q)].append(q)
    splits: dict[str, str] = {}
    for kind in sorted(by_kind):
        turn = 0
        for doc in sorted(by_kind[kind]):
            for q in sorted(by_kind[kind][doc], key=lambda item: item.id):
                splits[q.id] = SPLITS[turn % 2]
                turn += 1
    return splits


def extend_splits(questions: Sequence[EvalQuestion], fixed: Mapping[str, str]) -> dict[str, str]:
    """Return question id -> split where the ids in `fixed` keep their split and the others get one.

    New questions are taken in order of kind, primary document and id; each goes to the split with
    fewer questions of its kind so far (fixed ones included), then, on a tie, to the split with fewer
    of its kind and document, then, on a second tie, to the split opposite its kind's previous new
    question (dev first). Adding questions never moves a fixed one, and the result does not depend
    on the order of `questions`.
    """
    splits: dict[str, str] = {}
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    per_doc: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    for q in questions:
        if q.id in fixed:
            split = fixed[q.id]
            splits[q.id] = split
            per_kind[q.kind][split] = per_kind[q.kind].get(split, 0) + 1
            per_doc[q.kind, primary_doc(q)][split] = per_doc[q.kind, primary_doc(q)].get(split, 0) + 1
    previous: dict[str, str] = {}
    new = sorted((q for q in questions if q.id not in fixed), key=lambda q: (q.kind, primary_doc(q), q.id))
    for q in new:
        kind_counts, doc_counts = per_kind[q.kind], per_doc[q.kind, primary_doc(q)]
        alternate = SPLIT_TEST if previous.get(q.kind) == SPLIT_DEV else SPLIT_DEV
        split = min(SPLITS, key=lambda s: (kind_counts[s], doc_counts[s], s != alternate))
        splits[q.id] = split
        kind_counts[split] += 1
        doc_counts[split] += 1
        previous[q.kind] = split
    return splits


def clauses_containing(gold: GoldAnswer, clauses: Iterable[Any]) -> list[Any]:
    """Return the clauses (objects with `doc_id` and `text`) of the gold document containing the snippet."""
    needle = strip_whitespace(gold.snippet)
    return [c for c in clauses if c.doc_id == gold.doc_id and needle in strip_whitespace(c.text)]
