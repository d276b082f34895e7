"""Pinyin input-method typos corrected against the corpus vocabulary (儿同 -> 儿童, 依保 -> 医保).

Residents type on phones with pinyin IMEs and pick the wrong homophone. A window of the question that
is not a known word, shares at least one character (at the same position) with a corpus word and has
the same toneless pinyin as that word at every other position becomes that word. Common IME
confusions (z/zh, c/ch, s/sh, n/l, an/ang, en/eng, in/ing) count as "nearly equal" and are tried
only on windows of three or more characters, after exact homophones.

The key risk is changing a question that was typed correctly, so a window is left alone when it is a
corpus term or a common word (jieba's dictionary frequencies), when a dictionary word crosses its
edge (一学 in 一学期: 学期 is a word), when it is a word plus a character the documents use on its own
(工作时), when it touches a protected span (a 发文字号, a clause reference such as 第(17)条, an A-not-A
form such as 帮不帮, a covered place name); Latin letters and digits are never looked at. Usage:

    corrector = TypoCorrector.from_index(index)    # once, at start-up (~0.1 s; pypinyin import ~0.4 s)
    corrected = corrector.correct(normalized)      # per question (~0.1-0.3 ms)
    corrected.text, corrected.corrections          # "儿童医院在哪", (Correction("儿同", "儿童"),)
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from corpus.numbering import NUMERAL
from corpus.placenames import place_names
from index.store import LoadedIndex
from index.tokenize import DOMAIN_DICT_PATH, PROTECTED_RE, normalize_text, read_word_list
from rag.models import Correction
from rag.normalize import DIALECT_PARTICLES, load_dialect, normalize_question

MIN_WORD_CHARS = 2
MAX_WORD_CHARS = 8
# A window that jieba's dictionary knows at least this often is a word the user meant (事实, 心里, 近似),
# never a typo. Junk entries sit below it (the dictionary lists 幼儿圆 with frequency 3).
COMMON_WORD_FREQ = 20
# A word found in one clause only is too weak a reason to overrule what was typed (每人, 天上, 各市 each
# occur once); longer terms the documents put in quotation marks ("宝宝屋") are named things and count.
MIN_DOC_FREQ = 2
# Near-homophones (z/zh, n/l, an/ang...) only on windows this long: on two characters they would turn
# too many correct pairs into some other corpus word.
MIN_FUZZY_CHARS = 3
# Clause references and section numbers: 第(17)条, 第二项, (四), 三、 (发文字号: index.tokenize).
_REFERENCE_RE = re.compile(
    rf"第\s*\(?\s*{NUMERAL}\s*\)?\s*(?:条|项|款|点|部分|章|节)|\(\s*{NUMERAL}\s*\)|{NUMERAL}、"
)
# Spoken A-not-A and A-one-A forms (帮不帮, 多不多, 比一比): two words each, never a typo.
_REDUPLICATION_RE = re.compile(r"([\u4e00-\u9fff])[不没一了]\1")
# What the question asks with (打几折, 几针, 多少钱): 打几 sounds like 打击, but 几 asks; never a typo.
# Nor are the dialect question particles (长宁有伐…: 伐给 sounds like 发给).
_QUESTION_WORD_RE = re.compile(rf"几[\u4e00-\u9fff]?|多少|什么|怎么|哪[里儿些个]?|[{DIALECT_PARTICLES}]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Full-width brackets and digits folded one character for one, for the reference patterns above (the
# engine passes NFKC-normalised questions; a caller may not).
_WIDTH_FOLD = str.maketrans("（）［］０１２３４５６７８９", "()[]0123456789")
_QUOTED_TERM = re.compile(r"[“\"‘「『]([\u4e00-\u9fff]{2,8})[”\"’」』]")
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))


def _min_target_freq(word: str) -> int:
    return COMMON_WORD_FREQ if len(word) <= MIN_WORD_CHARS else 1


# Structural particles: typed for what they are (的, 地 and 得 all read de, and have rarer readings).
_PARTICLES = frozenset("的地得了着")


@lru_cache(maxsize=200_000)
def toneless_pinyin(text: str) -> tuple[str, ...]:
    """Return the toneless syllables of `text`, read in context (重庆 -> chong qing); memoised, so an
    engine rebuilt over a grown index computes only the new words."""
    # pypinyin loads its dictionaries on import (about 0.5 s): only processes that correct typos pay it.
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


def fuzzy_syllable(syllable: str) -> str:
    """Return the toneless syllable with the common IME confusions folded (zhang -> zan, ning -> lin)."""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long) and syllable != "ng":
            syllable = short + syllable[len(long) :]
            break
    if syllable.endswith(("ang", "eng", "ing")):
        syllable = syllable[:-1]
    return syllable


@dataclass(frozen=True)
class Corrected:
    """A question after typo correction: `text` as it should be searched and what was changed."""

    text: str
    corrections: tuple[Correction, ...] = ()

    @property
    def changed(self) -> bool:
        """True when at least one typo was corrected."""
        return bool(self.corrections)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    word: str
    fuzzy: bool
    changed: tuple[int, ...]  # positions in the window whose character is replaced
    doc_freq: int

    def rank(self) -> tuple[int, int, int, int, str]:
        # Longer words first, then exact homophones, fewer changed characters, more documents.
        return (-(self.end - self.start), self.fuzzy, len(self.changed), -self.doc_freq, self.word)


class TypoCorrector:
    """Corrects pinyin-IME homophone typos in questions against a vocabulary of corpus words."""

    def __init__(
        self,
        words: Iterable[tuple[str, int]],
        *,
        dictionary: Mapping[str, int] | None = None,
        known: Collection[str] = (),
        protected: Iterable[str] = (),
    ) -> None:
        """Index `words`, the (word, document frequency) pairs a typo may be corrected to.

        `dictionary` maps general words to their frequency (jieba's): common ones are never corrected
        and no correction may cut through one. `known` are further terms left as typed (the index's
        whole vocabulary, character bigrams included); `protected` are words never changed nor
        crossed (place names).
        """
        self._doc_freq: dict[str, int] = {}
        for word, doc_freq in words:
            if MIN_WORD_CHARS <= len(word) <= MAX_WORD_CHARS and _CJK_RUN.fullmatch(word):
                self._doc_freq[word] = max(doc_freq, self._doc_freq.get(word, 0))
        self._dictionary: Mapping[str, int] = dictionary or {}
        self._known = known
        self._protected = tuple(sorted({p for p in protected if p}, key=len, reverse=True))
        # Homophones are looked up by toneless syllables: exact, and (3+ characters) with the common
        # IME confusions folded. A character's readings are its usual one plus those it has in the
        # corpus words (长 is chang in 长宁, zhang in 成长); rare dictionary readings (前 as jian, 儿 as
        # ren) would make unrelated characters homophones.
        self._by_syllables: dict[tuple[str, ...], list[str]] = {}
        self._by_fuzzy: dict[tuple[str, ...], list[str]] = {}
        self._corpus_readings: dict[str, set[str]] = {}
        # character -> (word length, position) where some word has it.
        self._placed: dict[str, set[tuple[int, int]]] = {}
        for word in self._doc_freq:
            syllables = toneless_pinyin(word)
            if len(syllables) != len(word):
                continue  # a character without a reading: nothing to compare
            self._by_syllables.setdefault(syllables, []).append(word)
            if len(word) >= MIN_FUZZY_CHARS:
                self._by_fuzzy.setdefault(tuple(map(fuzzy_syllable, syllables)), []).append(word)
            for position, (char, syllable) in enumerate(zip(word, syllables, strict=True)):
                self._corpus_readings.setdefault(char, set()).add(syllable)
                self._placed.setdefault(char, set()).add((len(word), position))
        self._readings: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    @property
    def word_count(self) -> int:
        """How many corpus words a typo may be corrected to."""
        return len(self._doc_freq)

    @classmethod
    def from_index(cls, index: LoadedIndex) -> TypoCorrector:
        """Return a corrector over a loaded index's vocabulary (about 0.1 s for the bundled corpus).

        Targets are the index's domain terms, and its Chinese terms found in at least `MIN_DOC_FREQ`
        clauses that are words of jieba's dictionary (two-character ones common there: the rare ones
        are mostly fragments that search-mode cutting emits, 生儿 of 新生儿, 家儿 of 国家儿童), plus
        the terms of three or more characters the documents put in quotation marks ("宝宝屋").
        Character bigrams are left as typed but never become corrections.
        """
        vocabulary = index.bm25.vocabulary
        doc_freq = np.diff(index.bm25.weights.indptr)
        # The tokenizer's own jieba dictionary (base words + domain terms), already in memory.
        dictionary: Mapping[str, int] = index.tokenizer.dictionary
        domain_terms = {normalize_text(t) for t in read_word_list(DOMAIN_DICT_PATH)} | set(
            index.tokenizer.extra_terms
        )
        # A domain term is a curated concept, not a fragment: one clause holding it is enough (暑托班).
        words = [
            (term, int(doc_freq[column]))
            for term, column in vocabulary.items()
            if (term in domain_terms and doc_freq[column] >= 1)
            or (doc_freq[column] >= MIN_DOC_FREQ and dictionary.get(term, 0) >= _min_target_freq(term))
        ]
        quoted: dict[str, int] = {}
        for clause in index.clauses:
            for term in set(_QUOTED_TERM.findall(normalize_text(clause.text))):
                quoted[term] = quoted.get(term, 0) + 1
        places = {
            alias
            for doc in index.documents
            for place in (doc.region, *doc.region_parents)
            if place
            for alias in place_names(place)
        }
        # A two-character name quoted once (微芯, 清朗) is as weak as any other word found once.
        words += [(t, n) for t, n in quoted.items() if len(t) > MIN_WORD_CHARS or n >= MIN_DOC_FREQ]
        # Dialect words are meant as typed (有小囡 is not 有效囡); the dialect table reads them next.
        dialect = {spoken for spoken, _ in load_dialect()}
        return cls(words, dictionary=dictionary, known=vocabulary, protected=places | dialect)

    # ----------------------------------------------------------------------------------------------
    def correct(self, text: str) -> Corrected:
        """Return `text` with homophone typos replaced by corpus words, and the corrections made.

        Only runs of Chinese characters are looked at; a question typed correctly comes back as is.
        """
        blocked = self._protected_mask(text)
        chosen: list[_Candidate] = []
        for run in _CJK_RUN.finditer(text):
            if run.end() - run.start() < MIN_WORD_CHARS:
                continue
            taken: list[_Candidate] = []
            for candidate in sorted(
                self._candidates(text, run.start(), run.end(), blocked), key=_Candidate.rank
            ):
                if all(candidate.end <= t.start or t.end <= candidate.start for t in taken):
                    taken.append(candidate)
            chosen.extend(taken)
        if not chosen:
            return Corrected(text)
        chosen.sort(key=lambda c: c.start)
        pieces: list[str] = []
        position = 0
        for candidate in chosen:
            pieces += [text[position : candidate.start], candidate.word]
            position = candidate.end
        pieces.append(text[position:])
        return Corrected("".join(pieces), tuple(self._shown(text[c.start : c.end], c.word) for c in chosen))

    # ----------------------------------------------------------------------------------------------
    def _is_known(self, text: str) -> bool:
        """A term of the corpus (a word or a character bigram) or a common word: never corrected."""
        return (
            text in self._known or text in self._doc_freq or self._dictionary.get(text, 0) >= COMMON_WORD_FREQ
        )

    def _is_word(self, text: str) -> bool:
        """A corpus word or any dictionary word (rare place names among them): never cut through."""
        return text in self._doc_freq or self._dictionary.get(text, 0) > 0

    def _protected_mask(self, text: str) -> list[bool]:
        """Mark the characters no correction may touch: references, 发文字号, A-not-A forms, places."""
        blocked = [False] * len(text)
        folded = text.translate(_WIDTH_FOLD)  # same length, so spans carry over to `text`
        spans = [m.span() for m in PROTECTED_RE.finditer(folded)]
        spans += [m.span() for m in _REFERENCE_RE.finditer(folded)]
        spans += [m.span() for m in _REDUPLICATION_RE.finditer(folded)]
        spans += [m.span() for m in _QUESTION_WORD_RE.finditer(folded)]
        for place in self._protected:
            start = text.find(place)
            while start >= 0:
                spans.append((start, start + len(place)))
                start = text.find(place, start + 1)
        for start, end in spans:
            blocked[start:end] = [True] * (end - start)
        return blocked

    def _candidates(self, text: str, run_start: int, run_end: int, blocked: list[bool]) -> list[_Candidate]:
        # Only windows that share a character, at the same place, with some corpus word can be typos.
        windows: set[tuple[int, int]] = set()
        for position in range(run_start, run_end):
            for size, offset in self._placed.get(text[position], ()):
                start = position - offset
                if start >= run_start and start + size <= run_end:
                    windows.add((start, start + size))
        found: list[_Candidate] = []
        words: list[tuple[int, int]] | None = None
        for start, end in sorted(windows):
            window = text[start:end]
            if any(blocked[start:end]) or self._is_known(window):
                continue
            matches = self._matches(window, start)
            if not matches:
                continue
            if words is None:
                # Words of the question: a correction that cuts through one is a chance homophone
                # across two words (一学期: 一学 sounds like 医学, but 学期 is a word).
                words = [
                    (s, e)
                    for s in range(run_start, run_end - 1)
                    for e in range(s + MIN_WORD_CHARS, min(run_end, s + MAX_WORD_CHARS) + 1)
                    if self._is_word(text[s:e])
                ]
            crossing = [(s, e) for s, e in words if s < start < e or s < end < e]
            found += [
                m
                for m in matches
                if not any(self._cuts(m, s, e) for s, e in crossing) and not self._reads_as_typed(m, window)
            ]
        return found

    def _reads_as_typed(self, candidate: _Candidate, window: str) -> bool:
        """Whether the window is a word plus a character the documents use on its own, at either end.

        工作时 is 工作 + 时 ("when"), not a typo of 工作室; 普惠型 is 普惠 + 型. A character the corpus
        never has as a word of its own (圆 in 幼儿圆, 物 in 宝宝物) is still taken for a typo.
        """
        size = len(window)
        if size <= MIN_WORD_CHARS or len(candidate.changed) != 1 or candidate.changed[0] not in (0, size - 1):
            return False
        edge = candidate.changed[0]
        rest = window[1:] if edge == 0 else window[:-1]
        return window[edge] in self._known and self._is_word(rest)

    @staticmethod
    def _cuts(candidate: _Candidate, word_start: int, word_end: int) -> bool:
        """Whether a word of the question crossing the window's edge rules the candidate out.

        On two characters any crossing word does; on longer windows, where several characters
        already agree, only one that takes in a character the correction would change
        (儿同友好: 家儿 in 国家儿 crosses, but 儿 stays).
        """
        if candidate.end - candidate.start <= MIN_WORD_CHARS:
            return True
        return any(word_start <= candidate.start + i < word_end for i in candidate.changed)

    def _matches(self, window: str, start: int) -> list[_Candidate]:
        size = len(window)
        max_changed = max(1, size // 2)
        readings = [self._readings_of(char) for char in window]
        if not all(exact for exact, _ in readings):
            return []
        matches: list[_Candidate] = []
        seen: set[str] = set()
        lookups: list[tuple[dict[tuple[str, ...], list[str]], list[tuple[str, ...]], bool]] = [
            (self._by_syllables, [exact for exact, _ in readings], False)
        ]
        if size >= MIN_FUZZY_CHARS:
            lookups.append((self._by_fuzzy, [fuzzy for _, fuzzy in readings], True))
        for table, options, is_fuzzy in lookups:
            for key in product(*options):
                for word in table.get(key, ()):
                    if word in seen:
                        continue
                    seen.add(word)
                    changed = tuple(i for i in range(size) if word[i] != window[i])
                    # A typo keeps at least one character of the word it stands for; a structural
                    # particle is meant as typed, whatever its rarer readings (年的 is not 年底: 的 as dǐ).
                    if 1 <= len(changed) <= max_changed and not any(window[i] in _PARTICLES for i in changed):
                        candidate = _Candidate(
                            start, start + size, word, is_fuzzy, changed, self._doc_freq[word]
                        )
                        matches.append(candidate)
        return matches

    def _readings_of(self, char: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return a character's readings, exact and with the IME confusions folded (cached)."""
        readings = self._readings.get(char)
        if readings is None:
            usual = toneless_pinyin(char)
            exact = tuple(dict.fromkeys([*usual, *sorted(self._corpus_readings.get(char, ()))]))
            readings = (exact, tuple(dict.fromkeys(map(fuzzy_syllable, exact))))
            self._readings[char] = readings  # one dict store: safe across threads, at worst done twice
        return readings

    def _shown(self, typed: str, word: str) -> Correction:
        """The correction as shown to the user: agreeing words at either end trimmed (儿同友好 -> 儿同)."""
        for size in range(len(typed) - MIN_WORD_CHARS, MIN_WORD_CHARS - 1, -1):
            if typed[-size:] == word[-size:] and self._is_known(word[-size:]):
                typed, word = typed[:-size], word[:-size]
                break
        for size in range(len(typed) - MIN_WORD_CHARS, MIN_WORD_CHARS - 1, -1):
            if typed[:size] == word[:size] and self._is_known(word[:size]):
                typed, word = typed[size:], word[size:]
                break
        return Correction(typed, word)


# --- measurement: python -m rag.typos [--index DIR] ---------------------------------------------------

TYPO_KIND = "typo"  # eval questions of this kind carry typos on purpose


@dataclass(frozen=True)
class Measurement:
    """What `measure_corrections` found: fully corrected typo questions and changed correct questions."""

    typo_cases: int
    fully_corrected: int
    correct_questions: int
    changed: int
    microseconds_per_question: float
    misses: tuple[tuple[str, str, str], ...]  # (typed, intended, what came back)
    false_corrections: tuple[tuple[str, str], ...]  # (correct question, what came back)


def read_typo_cases(path: Path) -> list[tuple[str, str]]:
    """Return the (typo'd question, intended question) rows of a tab-separated file (# comments)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            typed, intended = line.split("\t")
            rows.append((typed.strip(), intended.strip()))
    return rows


def read_correct_questions(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the correctly typed questions of eval records: each question and its context turns,
    except those of kind "typo" (written with typos on purpose)."""
    questions: list[str] = []
    for record in records:
        if record.get("kind") != TYPO_KIND:
            questions += [*record.get("context", ()), record["question"]]
    return questions


def measure_corrections(
    corrector: TypoCorrector,
    typo_cases: Sequence[tuple[str, str]],
    correct_questions: Sequence[str],
    repeats: int = 5,
) -> Measurement:
    """Return the share of typo cases fully corrected and of correct questions changed at all.

    Questions are normalised as the engine does before correction (`normalize_question`); a typo
    case counts as corrected when its correction equals the normalised intended question exactly.
    The cost per question is the median over `repeats` timed passes over the correct questions.
    """
    misses = []
    for typed, intended in typo_cases:
        got = corrector.correct(normalize_question(typed)).text
        if got != normalize_question(intended):
            misses.append((typed, intended, got))
    questions = [normalize_question(q) for q in correct_questions]
    results = [corrector.correct(q) for q in questions]
    seconds = []
    for _ in range(repeats):  # the first pass above filled the per-character cache, as serving does
        started = time.perf_counter()
        for question in questions:
            corrector.correct(question)
        seconds.append(time.perf_counter() - started)
    elapsed = statistics.median(seconds) if seconds else 0.0
    false = tuple((q, r.text) for q, r in zip(correct_questions, results, strict=True) if r.changed)
    return Measurement(
        len(typo_cases),
        len(typo_cases) - len(misses),
        len(questions),
        len(false),
        elapsed / max(1, len(questions)) * 1e6,
        tuple(misses),
        false,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the build time and the typo measurement over an index (built from the corpus if absent)."""
    import argparse
    import json
    import tempfile

    from index.store import index_exists, load_index

    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(prog="python -m rag.typos", description=main.__doc__)
    parser.add_argument("--index", type=Path, default=root / "var" / "index")
    parser.add_argument("--cases", type=Path, default=root / "tests" / "rag" / "typo_cases.tsv")
    parser.add_argument("--questions", type=Path, default=root / "eval" / "questions.jsonl")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the questions")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        index_dir = args.index
        if not index_exists(index_dir):
            from corpus.load import load_corpus
            from index.build import build_index

            index_dir = Path(scratch) / "index"
            build_index(load_corpus(root / "corpus" / "data"), index_dir, embed_model=None, progress=False)
        index = load_index(index_dir, load_vectors=False)
    started = time.perf_counter()
    toneless_pinyin("儿童")
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    corrector = TypoCorrector.from_index(index)
    build_seconds = time.perf_counter() - started
    records = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    questions = read_correct_questions(records)
    result = measure_corrections(corrector, read_typo_cases(args.cases), questions, repeats=args.repeats)
    print(f"pypinyin loaded in {import_seconds * 1000:.0f} ms (once per process)")
    print(f"corrector built in {build_seconds * 1000:.0f} ms ({corrector.word_count} corpus words)")
    print(
        f"typo questions fully corrected: {result.fully_corrected}/{result.typo_cases} "
        f"({result.fully_corrected / max(1, result.typo_cases):.1%})"
    )
    print(
        f"correct questions changed:      {result.changed}/{result.correct_questions} "
        f"({result.changed / max(1, result.correct_questions):.1%})"
    )
    print(f"cost: {result.microseconds_per_question:.0f} µs per question (median of {args.repeats} passes)")
    typo_records = [r["question"] for r in records if r.get("kind") == TYPO_KIND]
    if typo_records:
        changed = sum(corrector.correct(normalize_question(q)).changed for q in typo_records)
        print(f"eval questions of kind {TYPO_KIND!r} corrected at all: {changed}/{len(typo_records)}")
    for typed, intended, got in result.misses:
        print(f"  missed: {typed} -> {got} (intended {intended})")
    for question, got in result.false_corrections:
        print(f"  changed: {question} -> {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
