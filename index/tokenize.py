"""Chinese tokenizer for BM25: NFKC + lower-case, protected patterns, jieba with a domain dictionary.

`ChineseTokenizer` is a plain callable `(text) -> list[str]`; scoring code receives it as an argument.
Its `settings()` go into the index manifest, and `ChineseTokenizer.from_settings` rebuilds the same
tokenizer at load time, so queries are cut exactly like the indexed clauses.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import jieba

from corpus.docnumber import DOC_NUMBER_PATTERN, doc_number_of

RESOURCES = Path(__file__).resolve().parent / "resources"
DOMAIN_DICT_PATH = RESOURCES / "domain_dict.txt"
STOPWORDS_PATH = RESOURCES / "stopwords.txt"

# Bump when the token stream changes for identical settings (new patterns, new normalisation).
# 2: the shared 发文字号 pattern (corpus.docnumber): spaces inside the number, issuer codes of up to 12.
# 3: "A(B)C" read as both AC and BC (read_alternatives: 暑(寒)托班 -> 暑托班, 寒托班).
# 4: 宝宝屋, 暑托班 and 寒托班 in the domain dictionary (jieba cut 宝宝/屋, and 寒托班开 as one word).
TOKENIZER_VERSION = 4

Mode = Literal["search", "precise"]

# Clause numbers as printed in the documents: (17), (一). Kept whole so "(17)" means clause 17.
_CLAUSE_NUMBER = r"\((?P<clause>\d{1,3}|[一二三四五六七八九十]{1,3})\)"
# A 发文字号 (any bracket variant, see corpus.docnumber) becomes one token written with 〔〕.
PROTECTED_RE = re.compile(f"{DOC_NUMBER_PATTERN}|{_CLAUSE_NUMBER}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# A token must contain a letter, digit or CJK character; pure punctuation is dropped.
_WORDLIKE = re.compile(r"[0-9a-z\u4e00-\u9fff]")

_jieba_silenced = False
# jieba's base dictionary (word -> frequency, total), read once per process: every tokenizer gets its
# own copy (about 30 ms) instead of re-reading it (about 0.7 s), which keeps index loading fast.
_base_dictionary: tuple[dict[str, int], int] | None = None
_base_lock = threading.Lock()


def _silence_jieba() -> None:
    # jieba logs "Building prefix dict..." at DEBUG on its own logger; keep stderr clean.
    global _jieba_silenced
    if not _jieba_silenced:
        jieba.setLogLevel(logging.WARNING)
        _jieba_silenced = True


def new_jieba_tokenizer() -> jieba.Tokenizer:
    """Return a private `jieba.Tokenizer` with jieba's base dictionary: words added to it stay in it."""
    global _base_dictionary
    _silence_jieba()
    with _base_lock:
        if _base_dictionary is None:
            base = jieba.Tokenizer()
            # jieba caches its parsed dictionary in the temp folder; a file of its own per user, so that
            # a service account and an administrator never trip over each other's (read-only) cache.
            base.cache_file = f"jieba.u{os.getuid()}.cache"
            base.initialize()
            _base_dictionary = (base.FREQ, base.total)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(_base_dictionary[0])
    tokenizer.total = _base_dictionary[1]
    tokenizer.initialized = True
    return tokenizer


# Official text writes two words that differ in one character as one: 爱心暑(寒)托班, 冬(夏)令营,
# 校(园)长负责制, 村(居)民. jieba cuts them apart (暑 / ( / 寒 / ) / 托班), so neither word is found.
_ALTERNATIVE = re.compile(r"([\u4e00-\u9fff])\(([\u4e00-\u9fff])\)([\u4e00-\u9fff]{1,3})")


def read_alternatives(text: str) -> str:
    """Return `text` with each "A(B)C" read as "AC", and "BC" added at the end (暑(寒)托班 -> 暑托班 …
    寒托班), so both words are terms; other brackets are left as they are."""
    extra: list[str] = []

    def first_reading(match: re.Match[str]) -> str:
        extra.append(match[2] + match[3])
        return match[1] + match[3]

    read = _ALTERNATIVE.sub(first_reading, text)
    return f"{read} {' '.join(extra)}" if extra else text


def normalize_text(text: str) -> str:
    """Return `text` with full-width forms folded (NFKC) and Latin letters lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


def read_word_list(path: Path) -> list[str]:
    """Return the first field of each non-empty, non-comment line of a resource file."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0])
    return words


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def doc_number_tokens(match: re.Match[str]) -> list[str]:
    """Tokens for a matched 发文字号: the full number (issuer prefix kept) and its bare 〔year〕serial号."""
    number = doc_number_of(match)
    return [str(number), number.core] if number.issuer else [number.core]


class ChineseTokenizer:
    """Callable tokenizer: text -> list of BM25 terms.

    Steps: NFKC + lower-case; 发文字号 and clause numbers ((17), (一)) become single tokens; the rest
    is cut by a private `jieba.Tokenizer` (the global one is left alone) that knows the domain
    dictionary plus `extra_terms`; in "search" mode every dictionary word inside a longer word is
    emitted too (普惠托育 -> 普惠, 托育, 普惠托育); stop words and punctuation are dropped; with
    `char_ngrams=n` the character n-grams of each CJK run are appended.
    """

    def __init__(
        self,
        extra_terms: Iterable[str] = (),
        *,
        mode: Mode = "search",
        hmm: bool = True,
        char_ngrams: int = 0,
    ) -> None:
        if mode not in ("search", "precise"):
            raise ValueError(f"mode must be 'search' or 'precise', not {mode!r}")
        if char_ngrams < 0:
            raise ValueError("char_ngrams must be >= 0")
        _silence_jieba()
        self.mode: Mode = mode
        self.hmm = hmm
        self.char_ngrams = char_ngrams
        domain_terms = [normalize_text(w) for w in read_word_list(DOMAIN_DICT_PATH)]
        # Sorted and de-duplicated so the same set of terms always gives the same dictionary:
        # jieba's suggested frequencies depend on the order words are added.
        self.extra_terms: tuple[str, ...] = tuple(
            sorted({normalize_text(t).strip() for t in extra_terms} - {""} - set(domain_terms))
        )
        self.stopwords: frozenset[str] = frozenset(normalize_text(w) for w in read_word_list(STOPWORDS_PATH))
        self._jieba = new_jieba_tokenizer()
        for term in [*domain_terms, *self.extra_terms]:
            self._jieba.add_word(term)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ChineseTokenizer:
        """Rebuild the tokenizer described by `settings()` (as stored in an index manifest)."""
        return cls(
            settings.get("extra_terms", ()),
            mode=settings.get("mode", "search"),
            hmm=bool(settings.get("hmm", True)),
            char_ngrams=int(settings.get("char_ngrams", 0)),
        )

    def settings(self) -> dict[str, Any]:
        """Return a JSON-ready description of everything that changes the token stream."""
        return {
            "kind": "jieba",
            "version": TOKENIZER_VERSION,
            "jieba_version": jieba.__version__,
            "normalize": "NFKC+lower",
            "mode": self.mode,
            "hmm": self.hmm,
            "char_ngrams": self.char_ngrams,
            "domain_dict_sha256": _file_sha256(DOMAIN_DICT_PATH),
            "stopwords_sha256": _file_sha256(STOPWORDS_PATH),
            "extra_terms": list(self.extra_terms),
        }

    def __call__(self, text: str) -> list[str]:
        """Return the BM25 terms of `text`, in text order."""
        return self._terms(text, ngrams=True)

    @property
    def dictionary(self) -> dict[str, int]:
        """The word frequencies of this tokenizer's jieba dictionary (jieba's base words plus ours)."""
        return self._jieba.FREQ

    def words(self, text: str, *, subwords: bool = False) -> list[str]:
        """Return the words of `text` as jieba cuts them, in order, without character n-grams; with
        `subwords`, also the dictionary words inside longer ones (as the index has them)."""
        return self._terms(text, ngrams=False, subwords=subwords)

    def _terms(self, text: str, *, ngrams: bool, subwords: bool = True) -> list[str]:
        text = read_alternatives(normalize_text(text))
        tokens: list[str] = []
        position = 0
        for match in PROTECTED_RE.finditer(text):
            self._cut_plain(text[position : match.start()], tokens, ngrams, subwords)
            if match["clause"] is not None:
                tokens.append(f"({match['clause']})")
            else:
                tokens.extend(doc_number_tokens(match))
            position = match.end()
        self._cut_plain(text[position:], tokens, ngrams, subwords)
        return tokens

    def _cut_plain(self, text: str, tokens: list[str], ngrams: bool = True, subwords: bool = True) -> None:
        if not text.strip():
            return
        for word in self._words(text, subwords):
            word = word.strip()
            if word and word not in self.stopwords and _WORDLIKE.search(word):
                tokens.append(word)
        if self.char_ngrams and ngrams:
            tokens.extend(self._char_ngrams(text))

    def _words(self, text: str, subwords: bool = True) -> Iterator[str]:
        freq = self._jieba.FREQ
        for word in self._jieba.cut(text, HMM=self.hmm):
            if subwords and self.mode == "search" and len(word) > 2:
                # jieba's own cut_for_search only looks at 2- and 3-grams; policy terms are longer.
                for size in range(2, len(word)):
                    for start in range(len(word) - size + 1):
                        gram = word[start : start + size]
                        if freq.get(gram):
                            yield gram
            yield word

    def _char_ngrams(self, text: str) -> Iterator[str]:
        size = self.char_ngrams
        for run in _CJK_RUN.findall(text):
            if len(run) < size:
                if run not in self.stopwords:
                    yield run
                continue
            for start in range(len(run) - size + 1):
                gram = run[start : start + size]
                if gram not in self.stopwords:
                    yield gram

    # A jieba.Tokenizer holds a lock and cannot be pickled; worker processes rebuild from settings.
    def __getstate__(self) -> dict[str, Any]:
        return self.settings()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state.get("extra_terms", ()),
            mode=state.get("mode", "search"),
            hmm=bool(state.get("hmm", True)),
            char_ngrams=int(state.get("char_ngrams", 0)),
        )

    def __repr__(self) -> str:
        return (
            f"ChineseTokenizer(mode={self.mode!r}, hmm={self.hmm}, char_ngrams={self.char_ngrams}, "
            f"extra_terms={len(self.extra_terms)})"
        )
