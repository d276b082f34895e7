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
_CLAUSE_PARTICLE = re.compile(r"(?<=[\u4e00-\u9fff])(?<!步)[伐噻咧撒哇](?=[,，。.?？!！;；\s]|$)")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    text = _t2s().convert(text)
    return _SPACE.sub(" ", text).strip()


def strip_fillers(text: str) -> str:
    """Remove spoken filler phrases and trailing particles, keeping the content of the question."""
    for phrase in FILLER_PHRASES:
        text = text.replace(phrase, " ")
    text = _CLAUSE_PARTICLE.sub("", text)
    text = text.strip(" ,，。.!！?？~～、")
    while text and text[-1] in TRAILING_PARTICLES and len(text) > 2:
        text = text[:-1].rstrip(" ,，。.!！?？~～")
    return _SPACE.sub(" ", text).strip()


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
