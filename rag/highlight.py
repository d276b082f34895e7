"""The sentences of a clause that best match a question, for highlighting and short replies."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from corpus.sentences import SENTENCE_ENDS

# A sentence runs to its end mark (kept with it) or to a line break.
_SENTENCE = re.compile(f"[^{SENTENCE_ENDS}\n]+[{SENTENCE_ENDS}]?")

TokenizedSentence = tuple[str, frozenset[str]]


def split_sentences(text: str) -> list[str]:
    """Split clause text into sentences (verbatim substrings, in order)."""
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def tokenize_sentences(text: str, tokenize: Callable[[str], list[str]]) -> tuple[TokenizedSentence, ...]:
    """Return each sentence of `text` with its set of tokens (computed once per clause by the caller)."""
    return tuple((sentence, frozenset(tokenize(sentence))) for sentence in split_sentences(text))


def best_sentences(
    sentences: Sequence[TokenizedSentence], query_tokens: AbstractSet[str], limit: int = 2
) -> tuple[str, ...]:
    """Return up to `limit` sentences sharing the most query tokens, in text order."""
    if not query_tokens:
        return ()
    scored = []
    for position, (sentence, tokens) in enumerate(sentences):
        overlap = len(query_tokens & tokens)
        if overlap:
            scored.append((overlap, position, sentence))
    top = sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]
    return tuple(s for _, _, s in sorted(top, key=lambda s: s[1]))
