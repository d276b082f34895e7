"""Where a sentence ends in Chinese official text: the marks that parsing, highlighting and replies share."""

from __future__ import annotations

from corpus.text import normalize

# End a sentence whatever the text is used for (full-width, and the half-width forms scraped pages carry).
FULL_STOPS = "。！？!?"
# Where clause text is split or cut for display, ；also ends a sentence: a clause lists its measures
# separated by ；, and each is shown on its own.
SENTENCE_ENDS = FULL_STOPS + "；;"
# A line ending in one of these is complete; a line ending in anything else was broken inside a
# sentence (a PDF's page width), so the next line continues it.
LINE_ENDS = SENTENCE_ENDS + "：:）)”…"


def ends_sentence(line: str) -> bool:
    """Whether a line ends where a sentence or parenthesised note ends (not a PDF line break)."""
    stripped = normalize(line).rstrip()
    return bool(stripped) and stripped[-1] in LINE_ENDS


def first_full_stop(text: str) -> int:
    """Return the index of the first full stop (。！？!?) in `text`, -1 when there is none."""
    positions = [text.find(mark) for mark in FULL_STOPS if mark in text]
    return min(positions) if positions else -1
