"""How many SMS segments a text costs, counted as carriers count them.

GSM-7 (the default alphabet) fits 160 characters in one segment and 153 per segment when
split; characters of its extension table (€ [ ] { } \\ ~ ^ |, form feed) take two septets.
Anything outside GSM-7 — Hebrew, Persian, Cyrillic, emoji — sends the whole text as UCS-2:
70 UTF-16 code units in one segment, 67 per segment when split (an emoji is two units).
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7 = GSM7_BASIC | GSM7_EXTENSION


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) the text needs.
    units: int
    segments: int
    #: Units left in the last segment before one more is needed.
    remaining: int


def count_segments(text: str) -> SegmentCount:
    # Set and str.count run in C: campaigns count the segments of every message they write.
    if GSM7.issuperset(text):
        units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SegmentCount(encoding, units, 1 if units else 0, single - units)
    segments = -(-units // multi)  # ceiling division
    return SegmentCount(encoding, units, segments, segments * multi - units)
