"""Sign-in sessions: the server's record of each signed-in browser, so that signing out, a new
password, a role change or deactivation ends it even where a copy of its cookie lives on.

Design. The signed session cookie carries a random token; the server keeps its SHA-256 in a
`SignInSession` row and lets a request in only while that row is open, younger than the
absolute lifetime, seen within the idle lifetime, its person active, and started under the
person's current `session_epoch`. Signing out stamps the one row; ending all of a person's
sessions raises the epoch (and stamps the open rows). The epoch makes ending all of them
race-free without locks: a sign-in reads the epoch in the same row read as the password it
checks, so a sign-in racing a password change either sees the new password (and fails) or
records the old epoch (and is refused at its first request), whichever commits first.
`last_seen_at` is written at most once a minute per session, never on every page.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, contains_eager

from roles.models import Person, SignInSession

#: How stale `last_seen_at` may get before a request writes it again.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    #: A session not used for this long is over.
    idle: timedelta
    #: A session this old is over, however busy.
    max_age: timedelta


def session_policy(config) -> SessionPolicy:
    """The lifetimes the configuration sets (SESSION_IDLE_MINUTES, SESSION_MAX_DAYS)."""
    return SessionPolicy(
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        max_age=timedelta(days=config["SESSION_MAX_DAYS"]),
    )


def token_digest(token: str) -> str:
    # 256 random bits need no key or slow hash: the digest only keeps tokens out of the database.
    return hashlib.sha256(token.encode()).hexdigest()


def start_sign_in_session(
    session: Session, person: Person, policy: SessionPolicy, now: datetime
) -> str:
    """Open a session for `person` (just authenticated); returns the token for the cookie.

    The person's sessions past the absolute lifetime go at the same time, so the table holds
    at most one lifetime's sign-ins per person without a cleaning job.
    """
    session.execute(
        delete(SignInSession)
        .where(
            SignInSession.person_id == person.id,
            SignInSession.created_at <= now - policy.max_age,
        )
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        SignInSession(
            person_id=person.id,
            token_hash=token_digest(token),
            epoch=person.session_epoch,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def live_session(
    session: Session, person_id: int, token: str, policy: SessionPolicy, now: datetime
) -> SignInSession | None:
    """The open session of this token and person, with its person loaded; None if it is over."""
    return session.scalar(
        select(SignInSession)
        .join(SignInSession.person)
        .options(contains_eager(SignInSession.person))
        .where(
            SignInSession.token_hash == token_digest(token),
            SignInSession.person_id == person_id,
            SignInSession.ended_at.is_(None),
            SignInSession.epoch == Person.session_epoch,
            SignInSession.created_at > now - policy.max_age,
            SignInSession.last_seen_at > now - policy.idle,
            Person.active.is_(True),
        )
    )


def record_seen(session: Session, live: SignInSession, now: datetime) -> bool:
    """Note that `live` was just used, if it was last noted over SEEN_EVERY ago; True if written."""
    if now - live.last_seen_at < SEEN_EVERY:
        return False
    session.execute(
        update(SignInSession)
        .where(SignInSession.id == live.id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    live.last_seen_at = now
    return True


def end_sign_in_session(session: Session, token: str, now: datetime) -> None:
    """Sign one browser out: its token stops working, wherever a copy of the cookie is."""
    session.execute(
        update(SignInSession)
        .where(SignInSession.token_hash == token_digest(token), SignInSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def end_sessions(session: Session, person: Person, now: datetime) -> None:
    """End every sign-in session of `person`, the caller's own included: after a new password,
    a change of roles, deactivation or "sign out everywhere". A browser that should stay signed
    in starts a new session afterwards, in the same transaction."""
    person.session_epoch = Person.session_epoch + 1
    session.execute(
        update(SignInSession)
        .where(SignInSession.person_id == person.id, SignInSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
