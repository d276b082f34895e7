"""The sentences of a clause that best match a question, for highlighting and short replies."""

from __future__ import annotations

import re
from collections.abc import Callable

# Sentence ends in Chinese official text; the delimiter stays with its sentence.
_SENTENCE = re.compile(r"[^。；！？!?;\n]+[。；！？!?;]?")


def split_sentences(text: str) -> list[str]:
    """Split clause text into sentences (verbatim substrings, in order)."""
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def best_sentences(
    text: str, query_tokens: set[str], tokenize: Callable[[str], list[str]], limit: int = 2
) -> tuple[str, ...]:
    """Return up to `limit` sentences of `text` sharing the most query tokens, in text order."""
    if not query_tokens:
        return ()
    scored = []
    for position, sentence in enumerate(split_sentences(text)):
        overlap = len(query_tokens & set(tokenize(sentence)))
        if overlap:
            scored.append((overlap, position, sentence))
    top = sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]
    return tuple(s for _, _, s in sorted(top, key=lambda s: s[1]))
