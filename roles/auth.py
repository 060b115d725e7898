"""Sign-in: passwords for managers, one-time SMS codes for field staff.

Codes are six digits, valid ten minutes, used once, with at most five tries; each try
is counted by a conditional UPDATE so concurrent guesses cannot exceed the limit.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from roles.models import Person, SignInCode, SignInQuota
from roles.sign_in_sessions import end_sessions
from roles.signals import sign_in_code_issued

CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_TRIES = 5
MIN_PASSWORD_LENGTH = 10

#: Hashes verified against when the e-mail is unknown, one per argon2 cost: made with the
#: hasher's own parameters, so an unknown e-mail costs what a known one does.
_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    cost = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if cost not in _DUMMY_HASHES:
        _DUMMY_HASHES[cost] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[cost]


class SignInRefused(InvalidInput):
    """The sign-in failed; the message is safe to show (it never says which part was wrong).

    It is reported at `field`, the part of the sign-in it answers (the password, the phone
    number, the code, the link's token)."""

    def __init__(self, message: str, field: str):
        super().__init__({field: message})
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class CodePolicy:
    secret: str
    per_window: int
    window: timedelta


def code_policy(config) -> CodePolicy:
    """The sign-in code policy the configuration sets (codes per number and window)."""
    return CodePolicy(
        secret=config["SECRET_KEY"],
        per_window=config["SIGN_IN_CODES_PER_WINDOW"],
        window=timedelta(minutes=config["SIGN_IN_CODE_WINDOW_MINUTES"]),
    )


def make_password_hasher(config) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def check_new_password(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return lazy_ngettext(
            "Use at least %(num)s character.",
            "Use at least %(num)s characters.",
            MIN_PASSWORD_LENGTH,
        )
    return None


def set_password(
    session: Session, person: Person, password: str, hasher: PasswordHasher, now: datetime
) -> None:
    """Set a password without asking for the old one (a terminal's command); ends every session."""
    problem = check_new_password(password)
    if problem:
        raise ValueError(problem)
    person.password_hash = hasher.hash(password)
    end_sessions(session, person, now)


def change_password(
    session: Session,
    person: Person,
    *,
    current: str,
    new: str,
    repeated: str,
    hasher: PasswordHasher,
    now: datetime,
) -> None:
    """Set a new password; the current one is required when one exists. Raises InvalidInput.

    Every sign-in session of the person ends with the old password, the caller's own too."""
    errors = {}
    if person.email is None:
        errors["new_password"] = _l(
            "Add an e-mail address first: passwords go with e-mail sign-in."
        )
    if person.password_hash:
        try:
            hasher.verify(person.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            errors["current_password"] = _l("The current password is wrong.")
    problem = check_new_password(new)
    if problem:
        errors["new_password"] = problem
    elif new != repeated:
        errors["repeat_password"] = _l("The two new passwords differ.")
    if errors:
        raise InvalidInput(errors)
    person.password_hash = hasher.hash(new)
    end_sessions(session, person, now)


def authenticate_with_password(
    session: Session, email: str, password: str, hasher: PasswordHasher, now: datetime
) -> Person:
    person = session.scalar(
        select(Person).where(func.lower(Person.email) == (email or "").strip().lower())
    )
    known = person is not None and person.password_hash
    stored = person.password_hash if known else _dummy_hash(hasher)
    try:
        hasher.verify(stored, password or "")
        verified = person is not None and person.password_hash is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or not person.active:
        raise SignInRefused(_l("The e-mail or password is wrong."), "password")
    if hasher.check_needs_rehash(person.password_hash):
        person.password_hash = hasher.hash(password)
    person.last_sign_in_at = now
    session.flush()
    return person


def _digest(secret: str, person_id: int, code: str) -> str:
    message = f"{person_id}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def find_by_phone(session: Session, phone: str) -> Person | None:
    return session.scalar(select(Person).where(Person.phone == phone, Person.active.is_(True)))


def request_sign_in_code(session: Session, phone: str, policy: CodePolicy, now: datetime) -> None:
    """Send a code to `phone` if it is someone's. Known or not, the number's quota is spent
    and the answer is the same, so nobody learns from it who is registered; raises
    SignInRefused past the quota."""
    count_code_request(session, phone, policy, now)
    person = find_by_phone(session, phone)
    if person is not None:
        issue_sign_in_code(session, person, policy, now)


def count_code_request(session: Session, phone: str, policy: CodePolicy, now: datetime) -> None:
    """Count one code asked for `phone` in its window; raises SignInRefused past the quota.

    Conditional UPDATEs decide, so concurrent requests cannot pass it: each waits for the
    row and counts only while the window is open and has room. A first request inserts the
    row; its concurrent twin fails the insert and counts in the row that won."""
    refused = SignInRefused(
        lazy_ngettext(
            "Too many codes were sent to this number. Wait %(num)s minute and try again.",
            "Too many codes were sent to this number. Wait %(num)s minutes and try again.",
            int(policy.window.total_seconds() // 60),
        ),
        "phone",
    )
    if policy.per_window < 1:
        raise refused
    digest = hmac.new(policy.secret.encode(), f"phone:{phone}".encode(), hashlib.sha256)
    key = SignInQuota.number_digest == digest.hexdigest()
    window_open = SignInQuota.window_started_at > now - policy.window
    for _ in range(2):
        for counting in (
            update(SignInQuota)
            .where(key, window_open, SignInQuota.codes < policy.per_window)
            .values(codes=SignInQuota.codes + 1),
            update(SignInQuota).where(key, ~window_open).values(window_started_at=now, codes=1),
        ):
            if session.execute(counting.execution_options(synchronize_session=False)).rowcount:
                return
        if session.scalar(select(SignInQuota.codes).where(key)) is not None:
            raise refused
        try:
            with session.begin_nested():
                session.add(
                    SignInQuota(number_digest=digest.hexdigest(), window_started_at=now, codes=1)
                )
            return
        except IntegrityError:
            continue  # a concurrent first request inserted it: count in its row
    raise refused


def issue_sign_in_code(session: Session, person: Person, policy: CodePolicy, now: datetime) -> None:
    """Create a code for `person` and announce it (the number's quota was counted first)."""
    # A new code replaces any earlier one still open.
    session.execute(
        update(SignInCode)
        .where(SignInCode.person_id == person.id, SignInCode.used_at.is_(None))
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    link_token = secrets.token_urlsafe(16)
    session.add(
        SignInCode(
            person_id=person.id,
            code_hash=_digest(policy.secret, person.id, code),
            link_hash=link_digest(link_token),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.flush()
    sign_in_code_issued.send(None, session=session, person=person, code=code, link_token=link_token)


def link_digest(token: str) -> str:
    # 128 random bits need no key or slow hash: the digest only keeps the token out of the database.
    return hashlib.sha256(token.encode()).hexdigest()


def open_sign_in_link(session: Session, token: str, now: datetime) -> Person | None:
    """The person a sign-in link is for while it is unused and unexpired; spends nothing."""
    return session.scalar(
        select(Person)
        .join(SignInCode, SignInCode.person_id == Person.id)
        .where(
            SignInCode.link_hash == link_digest(token or ""),
            SignInCode.used_at.is_(None),
            SignInCode.expires_at > now,
            Person.active.is_(True),
        )
    )


def use_sign_in_link(session: Session, token: str, now: datetime) -> Person:
    """Sign in by the link: spends it (and its code) once, even when tapped twice at once."""
    person = open_sign_in_link(session, token, now)
    used = 0
    if person is not None:
        used = session.execute(
            update(SignInCode)
            .where(
                SignInCode.link_hash == link_digest(token),
                SignInCode.used_at.is_(None),
                SignInCode.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not used:
        raise SignInRefused(
            _l("This sign-in link has expired or was already used. Sign in with your phone."),
            "token",
        )
    person.last_sign_in_at = now
    session.flush()
    return person


def verify_sign_in_code(
    session: Session, phone: str, code: str, policy: CodePolicy, now: datetime
) -> Person:
    """The person the code signs in; raises SignInRefused on a wrong, expired, used or over-tried code."""
    wrong = SignInRefused(
        _l("The code is wrong or has expired. Check the SMS or ask for a new code."), "code"
    )
    person = find_by_phone(session, phone)
    if person is None:
        raise wrong
    current = session.scalar(
        select(SignInCode)
        .where(SignInCode.person_id == person.id, SignInCode.used_at.is_(None))
        .order_by(SignInCode.created_at.desc(), SignInCode.id.desc())
        .limit(1)
    )
    if current is None or current.expires_at <= now:
        raise wrong
    counted = session.execute(
        update(SignInCode)
        .where(SignInCode.id == current.id, SignInCode.attempts < MAX_CODE_TRIES)
        .values(attempts=SignInCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted == 0:
        raise SignInRefused(_l("Too many wrong tries. Ask for a new code."), "code")
    given = "".join((code or "").split())
    if not hmac.compare_digest(current.code_hash, _digest(policy.secret, person.id, given)):
        raise wrong
    used = session.execute(
        update(SignInCode)
        .where(SignInCode.id == current.id, SignInCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used == 0:
        raise wrong
    person.last_sign_in_at = now
    session.flush()
    return person
