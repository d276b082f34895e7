"""The 发文字号 (document number) of an official document, e.g. 渝中府办〔2024〕7号.

Documents print the year in 〔〕; scraped pages and residents write it with 【】, [], （）, (), ［］, in any
pairing, sometimes with spaces. This one pattern is what the parser reads in headers, what the tokenizer
keeps as one BM25 token and what clause lookup resolves, so the three always agree on the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.text import compact, normalize

OPEN_BRACKETS = "〔【[（(［"
CLOSE_BRACKETS = "〕】]）)］"
# The issuer's code (机关代字: 渝中府办, 发改社会), the year in brackets, the serial number, 号.
# The code may be missing ("〔2024〕7号"). Named groups: issuer, year, serial.
DOC_NUMBER_PATTERN = (
    r"(?P<issuer>[\u4e00-\u9fff]{0,12})\s*"
    rf"[{re.escape(OPEN_BRACKETS)}]\s*(?P<year>(?:19|20)\d{{2}})\s*[{re.escape(CLOSE_BRACKETS)}]"
    r"\s*(?P<serial>\d{1,5})\s*号"
)
DOC_NUMBER_RE = re.compile(DOC_NUMBER_PATTERN)
# Words that introduce a 发文字号 in running text and get glued to the issuer's code
# ("根据渝中府办〔2024〕7号", "发文字号渝中府办〔2024〕7号"): everything up to the last of them is dropped.
_LEAD_IN = re.compile(r"^.*(?:号|根据|依据|按照|印发|参照|见|的|和|与|及)")


@dataclass(frozen=True)
class DocNumber:
    """A 发文字号 as (issuer code, year, serial); `str()` gives the standard form 渝中府办〔2024〕7号."""

    issuer: str  # "" when only 〔2024〕7号 was written
    year: int
    serial: int

    @property
    def core(self) -> str:
        """The number without its issuer: 〔2024〕7号."""
        return f"〔{self.year}〕{self.serial}号"

    def __str__(self) -> str:
        return self.issuer + self.core

    def names(self, document_number: DocNumber) -> bool:
        """Whether this number, as a user typed it, names the document numbered `document_number`.

        The typed issuer code may still carry words written before it, so it has to end with the
        document's code; a typed number without a code names nothing.
        """
        return (
            bool(self.issuer and document_number.issuer)
            and self.issuer.endswith(document_number.issuer)
            and (self.year, self.serial) == (document_number.year, document_number.serial)
        )


def doc_number_of(match: re.Match[str]) -> DocNumber:
    """Return the 发文字号 of a `DOC_NUMBER_PATTERN` match in running text (lead-in words dropped)."""
    issuer = _LEAD_IN.sub("", match["issuer"] or "")
    return DocNumber(issuer, int(match["year"]), int(match["serial"]))


def find_doc_number(text: str) -> tuple[DocNumber, tuple[int, int]] | None:
    """Return the first 发文字号 with an issuer code written in `text` and its span, or None."""
    for match in DOC_NUMBER_RE.finditer(normalize(text)):
        number = doc_number_of(match)
        if number.issuer:
            return number, match.span()
    return None


def parse_doc_number(text: str) -> DocNumber | None:
    """Return the 发文字号 that `text` is, whole (a header value, a line of its own), or None."""
    found = DOC_NUMBER_RE.fullmatch(compact(text))
    if not found or not found["issuer"]:
        return None
    return DocNumber(found["issuer"], int(found["year"]), int(found["serial"]))


def normalize_doc_number(text: str) -> str | None:
    """Return the 发文字号 that `text` is in the standard form 渝中府办〔2024〕7号, else None."""
    number = parse_doc_number(text)
    return str(number) if number else None
