"""A worker killed with SIGKILL mid-send loses nothing; duplicates stay within the commit window.

The short version kills it three times in 600 messages; with PARTNERLIFT_SOAK=1, 2,000 messages and
a dozen kills."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.postings import check_balances
from core.db import get_session
from messaging.models import OutboxMessage
from messaging.outbox import enqueue
from roles.permissions import Role
from tests.builders import build_world
from tests.conftest import ROOT, SOAK
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

MESSAGES = 2000 if SOAK else 600
#: Each thread has at most one message between the provider's acceptance and the commit.
THREADS = 4


def start_worker(url: str, fake: FakeTwilio) -> subprocess.Popen:
    env = {
        **os.environ,
        "SECRET_KEY": "worker-test",
        "PUBLIC_URL": "http://127.0.0.1",
        "DATABASE_URL": url,
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+37120099999",
        "TWILIO_API_URL": fake.url,
        # Unpaced, and no night: this test is about crashes, not the clock.
        "MESSAGING_SMS_RATE": "0",
        "QUIET_HOURS": "",
        # A killed worker's messages in flight are due again this soon.
        "MESSAGING_LEASE_SECONDS": "3",
        "MESSAGING_WORKER_THREADS": str(THREADS),
    }
    env.pop("FLASK_DEBUG", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "messaging",
            "worker",
            "--idle-seconds",
            "0.2",
            "--stop-after",
            "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def postgres_app(tmp_path_factory):
    """On PostgreSQL only: the outbox several workers share in production."""
    from app import create_app
    from tests.conftest import TEST_CONFIG, migrated_database

    with migrated_database("postgresql", tmp_path_factory) as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        yield app
        app.extensions["partnerlift.engine"].dispose()


def test_a_killed_worker_loses_nothing(postgres_app):
    app = postgres_app
    with app.test_request_context():
        db = get_session()
        person = build_world(db).people[Role.TECHNICIAN]
        for n in range(MESSAGES):
            enqueue(
                db,
                person_id=person.id,
                channel="sms",
                recipient=person.phone,
                kind="t",
                body=f"message {n}",
            )
        db.commit()
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])

    def sent() -> int:
        with factory() as session:
            return session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent")
            )

    with FakeTwilio() as fake:
        kills = 0
        deadline = time.monotonic() + 180
        while sent() < MESSAGES and time.monotonic() < deadline:
            worker = start_worker(app.config["DATABASE_URL"], fake)
            before = sent()
            while (
                sent() - before < 150
                and sent() < MESSAGES
                and worker.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            if sent() < MESSAGES:
                worker.send_signal(signal.SIGKILL)
                kills += 1
            else:
                worker.terminate()  # all sent: no need to wait for its --stop-after
            worker.wait(timeout=30)
        received = Counter(request["Body"] for request in fake.received)
    assert sent() == MESSAGES
    duplicates = sum(count - 1 for count in received.values())
    print(f"{kills} kills, {len(fake.received)} requests, {duplicates} duplicates")
    assert len(received) == MESSAGES
    # At most one message per thread was between the provider's acceptance and its commit.
    assert duplicates <= kills * THREADS
    with factory() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        assert statuses == {"sent": MESSAGES}  # every message accounted for
        assert check_balances(session) == []
