"""Responses whose body is read from the database while the client downloads it (CSV exports).

A streamed body runs after its view has returned, when the request's own session is already
closed. It reads in a `read_session` of its own, opened at the first chunk and closed after the
last or when the client goes away (the server closes the body, which closes the generator), so
a slow or vanished client never holds a lock or a transaction. Never wrap the body in Flask's
`stream_with_context`: the stream would go on using the request's session after its close,
which opens a new transaction that nothing ever ends.
"""

from collections.abc import Callable, Iterable

from flask import Response, current_app
from sqlalchemy.orm import Session

from core.db import read_session, read_sessionmaker


def streamed_response(
    produce: Callable[[Session], Iterable[str | bytes]], **response_args
) -> Response:
    """A response whose body is `produce(session)`, read in a session of its own; the rest
    of the arguments are Response's (mimetype, headers)."""
    factory = read_sessionmaker()

    def body():
        with read_session(factory) as session:
            yield from produce(session)

    return current_app.response_class(body(), **response_args)
