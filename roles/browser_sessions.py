"""The browser's side of sign-in sessions: the token in Flask's session cookie, and the
flask-login loader that lets a request in only while the token's session lives."""

import logging

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import Session

from core.db import get_session, utcnow
from roles.models import Person
from roles.sign_in_sessions import (
    end_sign_in_session,
    live_session,
    record_seen,
    session_policy,
    start_sign_in_session,
)

log = logging.getLogger(__name__)

#: The session key holding the sign-in session's token (flask-login's `_user_id` holds the
#: person's id, as before).
TOKEN_KEY = "sign_in_session"  # noqa: S105 - a key name, not a secret


def sign_in_browser(db: Session, person: Person, reason: str) -> None:
    """Start a new sign-in session for `person` in this browser and commit it.

    A fresh cookie session every time: nothing from before it carries over (no fixation).
    """
    session.clear()
    token = start_sign_in_session(db, person, session_policy(current_app.config), utcnow())
    db.commit()
    login_user(person)
    session[TOKEN_KEY] = token
    log.info("sign-in person=%s method=%s", person.id, reason)


def sign_out_browser(db: Session) -> None:
    """End this browser's session on the server, then forget it here."""
    token = session.get(TOKEN_KEY)
    if isinstance(token, str):
        end_sign_in_session(db, token, utcnow())
        db.commit()
    logout_user()
    session.clear()


def load_signed_in_person(person_id: str) -> Person | None:
    """flask-login's user loader: the person, if this browser's sign-in session still lives."""
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str) or not (person_id.isdigit() and len(person_id) < 19):
        return None
    db = get_session()
    # The seen-time is committed here only when nothing else of the request is under way, so
    # no other work is committed with it (the loader normally runs before the view's).
    untouched = not db.in_transaction()
    now = utcnow()
    live = live_session(db, int(person_id), token, session_policy(current_app.config), now)
    if live is None:
        return None
    if untouched and record_seen(db, live, now):
        db.commit()
    return live.person
