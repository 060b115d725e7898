"""Counting the SQL statements a piece of work sends: for tests that pin a path's statement
count, so an N+1 (a statement per program, per line, per person) shows as a failure."""

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements_sent(engine):
    """The SQL text of every statement sent through `engine` inside the block, in order."""
    sent: list[str] = []

    def count(_connection, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)
