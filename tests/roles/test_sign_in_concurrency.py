"""Concurrent guesses at one sign-in code: the five-try limit holds across connections."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import get_session, utcnow
from messaging.models import OutboxMessage
from roles.auth import MAX_CODE_TRIES, CodePolicy, SignInRefused, verify_sign_in_code
from roles.models import SignInCode
from tests.builders import make_person
from tests.conftest import TEST_CONFIG

GUESSERS = 12


def test_simultaneous_wrong_guesses_never_exceed_five_tries(committed_app):
    app = committed_app
    with app.test_request_context():
        db = get_session()
        person = make_person(db, None, ["admin"])
        db.commit()
        phone = person.phone
    client = app.test_client()
    client.post("/sign-in/phone", data={"phone": phone})
    with app.app_context():
        body = get_session().scalar(
            select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
        )
    code = re.search(r"\d{6}", body).group(0)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    policy = CodePolicy(
        secret=TEST_CONFIG["SECRET_KEY"], per_window=3, window=timedelta(minutes=15)
    )
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    start = threading.Barrier(GUESSERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess():
        start.wait()
        with app.app_context(), factory() as session:
            try:
                verify_sign_in_code(session, phone, wrong, policy, utcnow())
                result = "signed in"
            except SignInRefused as refused:
                result = str(refused)
            session.commit()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=guess) for _ in range(GUESSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == GUESSERS
    assert sum("Too many wrong tries" in o for o in outcomes) == GUESSERS - MAX_CODE_TRIES
    with factory() as session:
        attempts = session.scalar(select(SignInCode.attempts))
    assert attempts == MAX_CODE_TRIES
    # The right code, now, is refused too: the limit was reached.
    with (
        app.app_context(),
        factory() as session,
        pytest.raises(SignInRefused, match="Too many wrong tries"),
    ):
        verify_sign_in_code(session, phone, code, policy, utcnow())
