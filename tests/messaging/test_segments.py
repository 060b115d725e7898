"""SMS segments counted as carriers count them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.segments import GSM7_BASIC, count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("Your code is 123456", "GSM-7", 19, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # each extension character takes two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("Price [x] " + "a" * 148, "GSM-7", 160, 1),
        ("Ūdens sildītājs", "UCS-2", 15, 1),  # Latvian ū, ī are not GSM-7
        ("ä ö ñ ü à é", "GSM-7", 11, 1),
        ("ש" * 70, "UCS-2", 70, 1),
        ("ש" * 71, "UCS-2", 71, 2),
        ("س" * 134, "UCS-2", 134, 2),
        ("س" * 135, "UCS-2", 135, 3),
        ("Привет", "UCS-2", 6, 1),
        ("👍" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("👍" * 36, "UCS-2", 72, 2),
        ("a" * 69 + "€ш", "UCS-2", 71, 2),  # one non-GSM character turns the whole text UCS-2
    ],
)
def test_known_texts(text, encoding, units, segments):
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=700))
def test_plain_gsm_text_fills_160_then_153_per_segment(text):
    counted = count_segments(text)
    n = len(text)
    expected = 0 if n == 0 else 1 if n <= 160 else -(-n // 153)
    assert counted.segments == expected and counted.remaining >= 0
