"""Low-level text helpers every corpus module shares: character-width folding and comparison keys.

Stored clause text is never normalised: `normalize` maps characters one to one (full-width ASCII to
half-width, ideographic/em spaces to a plain space) so positions found on the normalised line cut the
original line at the same place.
"""

from __future__ import annotations

_WIDTH_MAP = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH_MAP.update({0x3000: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x2009: 0x20, 0x00A0: 0x20, 0xFEFF: 0x20})


def normalize(text: str) -> str:
    """Map full-width ASCII to half-width and special spaces to " ", one character for one."""
    return text.translate(_WIDTH_MAP)


def compact(text: str) -> str:
    """Normalised text without any whitespace: the key used to compare lines and titles."""
    return "".join(normalize(text).split())
