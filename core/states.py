"""States stored as text: each kind of state is one StrEnum whose members carry their words
for people, and the database refuses any other value by one CHECK constraint.

A member compares equal to its stored text (`ClaimStatus.APPROVED == "approved"`), so rows,
JSON and templates keep the plain strings; code names the member, never the literal.
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint


class State(StrEnum):
    """A StrEnum whose members are declared as `NAME = "value", _l("Words")`."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The member in the reader's language (its value where it has no words)."""
        return str(self._label) if self._label is not None else self.value

    @classmethod
    def label_of(cls, value: str) -> str:
        """The words for a stored value; an unknown value (an old row) shows as it is."""
        try:
            return cls(value).label
        except ValueError:
            return value


def one_of(column: str, values, *, name: str | None = None) -> CheckConstraint:
    """The CHECK constraint that keeps `column` to the given values (a State or any strings)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or column)
