"""Texts kept per (language, role) beside what they belong to (a campaign's variants, a
survey's titles): one row each, brought in line with a draft's texts."""

from collections.abc import Callable


def sync_variants(
    rows: list,
    wanted: dict[tuple[str, str], tuple],
    make: Callable[..., object],
    fill: Callable[..., None],
) -> None:
    """Leave `rows` with one row per key of `wanted`: rows of other keys are removed, missing
    ones made (`make(language=, role=)`) and appended, and each filled (`fill(row, *texts)`)."""
    for row in list(rows):
        if (row.language, row.role) not in wanted:
            rows.remove(row)
    existing = {(row.language, row.role): row for row in rows}
    for (language, role), texts in sorted(wanted.items()):
        row = existing.get((language, role))
        if row is None:
            row = make(language=language, role=role)
            rows.append(row)
        fill(row, *texts)
