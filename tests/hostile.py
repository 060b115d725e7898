"""Hostile input for the fuzz tests: strategies for what people and machines may send, and a
cheap snapshot of every table to prove that a refused request wrote nothing."""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.db import Base


def fuzz(max_examples: int) -> settings:
    """Settings for a fuzz test: reproducible in CI (derandomized, no example database), as
    many examples as given unless FUZZ_EXAMPLES asks for more while hunting locally."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", max_examples)),
        deadline=None,
        derandomize=True,
        database=None,
        # The fixtures (a database transaction, a signed-in client) are shared on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


_SCRIPTS = "Aa Ωω Жж ĀāŅņ ŁłŹź אבג ابپ ١٢٣ ۱۲۳ 漢字 😀 \u200f\u202e\u200b\ufeff"
HOSTILE_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(st.sampled_from(_SCRIPTS + "\x00\r\n\t<>&\"'%;=|"), max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "1e309",
            "-1e309",
            "-0",
            "NaN",
            "Infinity",
            "-1",
            "0",
            "-999999999",
            "99999999999999999999999",
            "9223372036854775808",
            "2147483648",
            "0.000000001",
            "1,5",
            "1_000",
            "²",
            "１２",
            "0000000000000000000000000000000000000021610",
            "١٢",
            "۴۲",
            "2026-02-30",
            "2026-13-01",
            "0000-01-01",
            "9999-12-31",
            "10000-01-01",
            "1900-01-01",
            "31.12.2026",
            "=cmd|' /C calc'!A0",
            "<script>alert(1)</script>",
            "{{ 7*7 }}",
            "%(points)s",
            "'; DROP TABLE people; --",
            "../../etc/passwd",
            "+371 2000 0003",
            "+99999999999999999",
            "x" * 70_000,
            "\u202e" * 3000,
        ]
    ),
)


def table_counts(db) -> dict[str, int]:
    tables = Base.metadata.sorted_tables
    row = db.execute(
        select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    ).one()
    return dict(zip((t.name for t in tables), row, strict=True))
