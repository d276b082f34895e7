"""Where a sentence ends in Chinese official text: the marks that parsing, highlighting and replies share."""

from __future__ import annotations

import re

from corpus.text import normalize

# End a sentence whatever the text is used for (full-width, and the half-width forms scraped pages carry).
FULL_STOPS = "。！？!?"
# Where clause text is split or cut for display, ；also ends a sentence: a clause lists its measures
# separated by ；, and each is shown on its own.
SENTENCE_ENDS = FULL_STOPS + "；;"
# A line ending in one of these is complete; a line ending in anything else was broken inside a
# sentence (a PDF's page width), so the next line continues it.
LINE_ENDS = SENTENCE_ENDS + "：:）)”…"
# Closing quotes and brackets belong to the sentence they close: 。” is one end.
CLOSING_MARKS = "”’）」』》】)\"'"
# A sentence runs to its end mark (kept with it) or to a line break.
_SENTENCE = re.compile(f"[^{SENTENCE_ENDS}\n]+[{SENTENCE_ENDS}]?")


def ends_sentence(line: str) -> bool:
    """Whether a line ends where a sentence or parenthesised note ends (not a PDF line break)."""
    stripped = normalize(line).rstrip()
    return bool(stripped) and stripped[-1] in LINE_ENDS


def first_full_stop(text: str) -> int:
    """Return the index of the first full stop (。！？!?) in `text`, -1 when there is none."""
    positions = [text.find(mark) for mark in FULL_STOPS if mark in text]
    return min(positions) if positions else -1


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each sentence of `text`, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while end < len(text) and text[end] in CLOSING_MARKS:
            end += 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    # A closing mark consumed by the previous sentence must not start the next one.
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            start = merged[-1][1]
            while start < end and (text[start].isspace() or text[start] in CLOSING_MARKS):
                start += 1
            if start >= end:
                continue
        merged.append((start, end))
    return merged
