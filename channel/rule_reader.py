"""Reading a rule's raw parameters (text from the editor, JSON from the database) into typed
values, collecting every problem, each with a code the interface words in the reader's language.

Pure Python, used by `channel.rule_params`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Problem:
    """Why a parameter is refused: a code the interface words in the reader's language."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **values) -> Problem:
        return cls(code, tuple((k, str(v)) for k, v in values.items()))


class RuleError(ValueError):
    """A rule's parameters are not valid; `errors` maps each parameter to its Problem."""

    def __init__(self, errors: dict[str, Problem]):
        super().__init__("; ".join(f"{k}: {v.code}" for k, v in errors.items()))
        self.errors = errors


class Reader:
    """Reads typed values out of a raw parameter dict, collecting every error."""

    def __init__(self, raw: dict):
        self.raw = raw or {}
        self.errors: dict[str, Problem] = {}

    def _present(self, name):
        value = self.raw.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def integer(self, name, *, required=False, minimum=None, default=None):
        value = self._present(name)
        if value is None:
            if required:
                self.errors[name] = Problem.of("required")
            return default
        if isinstance(value, bool):
            self.errors[name] = Problem.of("whole_number")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            self.errors[name] = Problem.of("whole_number")
            return default
        if minimum is not None and number < minimum:
            self.errors[name] = Problem.of("at_least", minimum=minimum)
        return number

    def decimal(self, name, *, required=False, above=None, at_most=None):
        value = self._present(name)
        if value is None:
            if required:
                self.errors[name] = Problem.of("required")
            return None
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            self.errors[name] = Problem.of("number")
            return None
        if not number.is_finite():
            self.errors[name] = Problem.of("number")
            return None
        if above is not None and number <= above:
            self.errors[name] = Problem.of("more_than", limit=above)
        elif at_most is not None and number > at_most:
            self.errors[name] = Problem.of("at_most", limit=at_most)
        return number

    def flag(self, name) -> bool:
        value = self._present(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on", "y")

    def text(self, name):
        value = self._present(name)
        return str(value).strip() if value is not None else None

    def moment(self, name):
        value = self._present(name)
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.errors[name] = Problem.of("datetime")
                return None
        if moment.tzinfo is None:
            self.errors[name] = Problem.of("needs_timezone")
            return None
        return moment
