"""Question normalisation: full/half width, traditional -> simplified, spoken filler words, synonyms."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc

RESOURCES = Path(__file__).resolve().parent / "resources"

# Politeness and filler of spoken questions; removed only at the edges or as whole phrases so that
# content words are never cut. Ordered longest first.
FILLER_PHRASES = (
    "我想咨询一下",
    "我想了解一下",
    "想咨询一下",
    "想了解一下",
    "我想问一下",
    "我想问问",
    "想问一下",
    "请问一下",
    "麻烦问一下",
    "请教一下",
    "打扰一下",
    "你好",
    "您好",
    "请问",
    "谢谢",
    "麻烦",
    "我想问",
    "想问",
    "问一下",
    "咨询一下",
    "了解一下",
)
TRAILING_PARTICLES = "呢吗嘛吧啊呀哈哦噢么伐噻咧撒哇"
# Dialect question particles (上海话 伐, 重庆话 噻/撒) end a clause of the question, also mid-sentence.
DIALECT_PARTICLES = "伐噻咧撒哇"
_CLAUSE_PARTICLE = re.compile(rf"(?<=[\u4e00-\u9fff])(?<!步)[{DIALECT_PARTICLES}](?=[,，。.?？!！;；\s]|$)")
_SPACE = re.compile(r"\s+")
# A last character that completes a word is no particle: 是什么, 该怎么, 干嘛.
_ENDS_A_WORD = re.compile(r"(?:[什怎那这多要]么|干嘛)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# --- characters that are not what they look like: one rule for every channel (API, WeChat, CLI) ------
# Each constant is the body of a regex character class, written so that Python's `re`, the Rust regex
# of pydantic-core and ECMA-262 (with the u flag, as JSON Schema validators use it) read it alike: BMP
# code points as \uXXXX escapes, the few astral ones as literal characters. api/schemas.py publishes
# the same classes as the OpenAPI `pattern` of question fields.
#
# REFUSED (the request gets a 4xx): characters that make text display as something it is not, or that
# are not text at all -- C0/C1 controls other than tab/newline/CR, line and paragraph separators (they
# forge line breaks in logs), bidirectional embeddings/overrides/isolates/marks (U+202E shows "abc" as
# "cba"), and lone UTF-16 surrogates (a JSON "\ud800" escape: no UTF-8 encoding exists).
CONTROL_CHARS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029"
BIDI_CHARS = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
SURROGATE_CHARS = r"\ud800-\udfff"
REFUSED_CHARS = CONTROL_CHARS + BIDI_CHARS + SURROGATE_CHARS
# REMOVED (silently): invisible characters that change neither order nor meaning and that input methods,
# web pages and copy-paste insert -- zero-width space and joiners, word joiner and invisible operators,
# BOM, soft hyphen, Mongolian vowel separator, Hangul fillers, interlinear annotation marks, deprecated
# format controls, shorthand and musical format controls, and tag characters (which can smuggle hidden
# ASCII). Every other Unicode format character (Cf) is a visible mark of its script and is kept.
INVISIBLE_CHARS = (
    r"\u00ad\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# Whitespace stripped from the ends of a question: Python's str.isspace() less what is refused above.
WHITESPACE_CHARS = r"\t\n\r\u0020\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_REFUSED = re.compile(f"[{REFUSED_CHARS}]")
_BIDI = re.compile(f"[{BIDI_CHARS}]")
_SURROGATE = re.compile(f"[{SURROGATE_CHARS}]")
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
_EDGE_SPACE = re.compile(f"^[{WHITESPACE_CHARS}]+|[{WHITESPACE_CHARS}]+$")


def first_refused_char(text: str) -> tuple[str, str] | None:
    """Return (kind, character) of the first refused character -- kind "control", "bidi" or
    "surrogate" -- or None when `text` has none."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    kind = "surrogate" if _SURROGATE.match(char) else "bidi" if _BIDI.match(char) else "control"
    return kind, char


def remove_invisible(text: str) -> str:
    """Return `text` without the invisible characters of INVISIBLE_CHARS."""
    return _INVISIBLE.sub("", text)


def strip_whitespace(text: str) -> str:
    """Return `text` without WHITESPACE_CHARS at either end."""
    return _EDGE_SPACE.sub("", text)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def load_synonyms() -> tuple[tuple[str, str], ...]:
    """Return (colloquial, document term) pairs from resources/synonyms.tsv, longest colloquial first."""
    pairs: list[tuple[str, str]] = []
    path = RESOURCES / "synonyms.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spoken, _, terms = line.partition("\t")
        if spoken and terms:
            pairs.append((spoken.strip(), terms.strip()))
    pairs.sort(key=lambda p: -len(p[0]))
    return tuple(pairs)


def to_matching_form(text: str) -> str:
    """Return `text` in the form used for matching: NFKC width-folded, simplified, single-spaced."""
    # Direction controls, lone surrogates and invisible characters go before anything encodes the text
    # (opencc encodes to UTF-8 and fails on a surrogate); the API refuses the first two kinds anyway.
    text = _INVISIBLE.sub("", _SURROGATE.sub("", _BIDI.sub("", text)))
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    text = _t2s().convert(text)
    return _SPACE.sub(" ", text).strip()


def strip_fillers(text: str) -> str:
    """Remove spoken filler phrases and trailing particles, keeping the content of the question."""
    for phrase in FILLER_PHRASES:
        text = text.replace(phrase, " ")
    text = _CLAUSE_PARTICLE.sub("", text)
    text = text.strip(" ,，。.!！?？~～、")
    while text and text[-1] in TRAILING_PARTICLES and len(text) > 2 and not _ENDS_A_WORD.search(text):
        text = text[:-1].rstrip(" ,，。.!！?？~～")
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=1)
def load_dialect() -> tuple[tuple[str, str], ...]:
    """Return (dialect word, standard Mandarin) pairs from resources/dialect.tsv, longest first."""
    pairs: list[tuple[str, str]] = []
    for line in (RESOURCES / "dialect.tsv").read_text(encoding="utf-8").splitlines():
        spoken, _, standard = line.strip().partition("\t")
        if spoken and standard and not spoken.startswith("#"):
            pairs.append((spoken.strip(), standard.strip()))
    pairs.sort(key=lambda p: -len(p[0]))
    return tuple(pairs)


def to_standard_mandarin(text: str) -> str:
    """Return the question with dialect and old people's words in standard Mandarin (娃儿 -> 孩子,
    小囡 -> 孩子, 屋里厢 -> 家里), for retrieval; the user's own words are what the answer shows."""
    pairs = load_dialect()
    out: list[str] = []
    position = 0
    while position < len(text):
        for spoken, standard in pairs:
            if text.startswith(spoken, position):
                out.append(standard)
                position += len(spoken)
                break
        else:
            out.append(text[position])
            position += 1
    return "".join(out)


def expand_synonyms(text: str) -> str:
    """Append document terms for colloquial phrases found in `text` (query expansion, never replacement)."""
    extra: list[str] = []
    for spoken, terms in load_synonyms():
        if spoken in text:
            extra.extend(t for t in terms.split() if t not in text and t not in extra)
    return text if not extra else f"{text} {' '.join(extra)}"


def normalize_question(question: str) -> str:
    """Return the question ready for retrieval: matching form without fillers (no synonym expansion)."""
    return strip_fillers(to_matching_form(question)) or to_matching_form(question)
