"""What every view that runs one operation does the same way: commit and say so, or report."""

from flask import flash

from core.db import get_session
from core.errors import InvalidInput


def attempt(action, *, done: str | None = None) -> bool:
    """Run `action(session)`; commit and flash `done`, or roll back and flash every problem."""
    session = get_session()
    try:
        action(session)
    except InvalidInput as invalid:
        session.rollback()
        for message in invalid.errors.values():
            flash(str(message), "error")
        return False
    session.commit()
    if done:
        flash(done, "success")
    return True
