"""What every view that runs one operation does the same way: commit and say so, or report."""

from flask import flash, render_template, request
from flask_babel import gettext as _

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


def refuse_nul_characters():
    """Before every page: a NUL character in a field or the query cannot be stored (PostgreSQL
    refuses it mid-operation), so the whole request is refused first and nothing is written.

    The API (its schemas refuse NUL per field) and Twilio's webhooks (which clean what the
    carrier sends) answer for themselves.
    """
    if request.path.startswith("/api/") or request.blueprint == "webhooks":
        return None
    values = [*request.args.values(), *request.form.values()]
    values += [upload.filename or "" for upload in request.files.values()]
    if not any("\x00" in value for value in values):
        return None
    message = _(
        "The form holds an invisible NUL character, which cannot be saved. Nothing was "
        "saved: type the text again instead of pasting it, and send the form once more."
    )
    return render_template("errors/error.html", code=400, error=None, message=message), 400
