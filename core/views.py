"""What every view that runs one operation does the same way: commit and say so, or report."""

from flask import flash, g, render_template, request
from flask_babel import gettext as _

from core.db import CHANGE_SAVED, get_session
from core.errors import InvalidInput
from core.tables import UnreadableFile


class Attempt:
    """What `attempt` did: true when the action ran and was committed; `result` is its value."""

    def __init__(self, ok: bool, result=None):
        self.ok = ok
        self.result = result

    def __bool__(self) -> bool:
        return self.ok


def attempt(action, *, done: str | None = None, form=None) -> Attempt:
    """Run `action(session)`; commit and flash `done`, or roll back and report every problem.

    A problem keyed by one of `form`'s fields is shown at that field; any other is flashed.
    An uploaded file that cannot be read at all is a problem of the form's `file` field.
    """
    session = get_session()
    try:
        result = action(session)
    except InvalidInput as invalid:
        session.rollback()
        report(invalid, form)
        return Attempt(False)
    except UnreadableFile as unreadable:
        session.rollback()
        report(InvalidInput({"file": unreadable.args[0]}), form)
        return Attempt(False)
    session.commit()
    # A connection lost from here on must not say "nothing saved" (unless the request writes
    # again: `core.db._watch_writes`).
    setattr(g, CHANGE_SAVED, True)
    if done:
        flash(done, "success")
    return Attempt(True, result)


def report(invalid: InvalidInput, form=None) -> None:
    """Show a refusal: at the form's field it names, else as a flashed message."""
    for name, message in invalid.errors.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, str(message)]
        else:
            flash(str(message), "error")


#: Far beyond any list's last page, and small enough that its offset stays a 64-bit integer.
MAX_PAGE = 100_000
#: The largest id an integer column holds.
MAX_ID = 2**31 - 1


def page_number() -> int:
    """The `page` of the query, from 1 to MAX_PAGE (a page past the end is simply empty)."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def id_argument(name: str) -> int | None:
    """An object's id from the query, or None when it names none that could exist."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def refuse_nul_characters():
    """Before every page: a NUL character in a field or the query cannot be stored (PostgreSQL
    refuses it mid-operation), so the whole request is refused first and nothing is written.

    The API (its schemas refuse NUL per field) and Twilio's webhooks (which clean what the
    carrier sends) answer for themselves.
    """
    if request.path.startswith("/api/") or request.blueprint == "webhooks":
        return None
    # Every value of a repeated field too (checkboxes, lists), not only the first.
    values = [value for _, value in request.args.items(multi=True)]
    values += [value for _, value in request.form.items(multi=True)]
    values += [upload.filename or "" for _, upload in request.files.items(multi=True)]
    if not any("\x00" in value for value in values):
        return None
    message = _(
        "The form holds an invisible NUL character, which cannot be saved. Nothing was "
        "saved: type the text again instead of pasting it, and send the form once more."
    )
    return render_template("errors/error.html", code=400, error=None, message=message), 400
