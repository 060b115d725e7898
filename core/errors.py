"""The domain error every operation raises for bad input: all problems at once, keyed by field."""


class InvalidInput(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors
