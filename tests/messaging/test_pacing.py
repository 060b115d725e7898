"""Carrier pacing: a sender's rate holds across workers (shared on PostgreSQL)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine

from messaging.outbox import message_segments
from messaging.pacing import Pacer
from tests.conftest import migrated_database


def sms(segments=1, channel="sms"):
    return SimpleNamespace(channel=channel, segments=segments)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def test_a_message_costs_its_segments_at_the_senders_rate():
    pacer = Pacer({"sms": Decimal("3"), "whatsapp": Decimal("10")}, sleep=Sleeps())
    assert pacer.cost(sms(1)) == pytest.approx(1 / 3)
    assert pacer.cost(sms(4)) == pytest.approx(4 / 3)
    assert pacer.cost(sms(4, "whatsapp")) == pytest.approx(0.1)  # per message, not segment
    assert pacer.cost(sms(1, "email")) == 0


def test_one_worker_waits_its_turn_in_memory():
    sleeps = Sleeps()
    # The clock stands still: the three messages are asked for at the same moment.
    pacer = Pacer({"sms": Decimal("1")}, sleep=sleeps, clock=lambda: 1000.0)
    pacer.wait(sms(2))
    pacer.wait(sms(1))
    pacer.wait(sms(1))
    # The first goes at once; the next waits for the first's two segments, the third for three.
    assert sleeps == [2, 3]


def test_an_unpaced_sender_never_waits():
    sleeps = Sleeps()
    pacer = Pacer({"sms": Decimal("0")}, sleep=sleeps)
    for _ in range(5):
        assert pacer.wait(sms()) == 0
    assert sleeps == []


def test_the_development_backend_is_not_paced():
    config = {"MESSAGING_BACKEND": "development", "MESSAGING_SMS_RATE": Decimal("1")}
    config["MESSAGING_WHATSAPP_RATE"] = Decimal("1")
    assert Pacer.from_config(config).rates == {}


@pytest.fixture(scope="module")
def postgres_engine(tmp_path_factory):
    """PostgreSQL only: SQLite runs one worker, paced in memory (tested above)."""
    with migrated_database("postgresql", tmp_path_factory) as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def test_workers_on_postgresql_share_each_senders_rate(postgres_engine):
    engine = postgres_engine
    first, second = (
        Pacer({"sms": Decimal("0.5")}, engine, sender="+371200", sleep=Sleeps()) for _ in range(2)
    )
    other = Pacer({"sms": Decimal("0.5")}, engine, sender="+371999", sleep=Sleeps())
    waits = [first.wait(sms()), second.wait(sms()), first.wait(sms()), other.wait(sms())]
    # 2 s a segment: the second worker waits for the first's slot, the third message for both;
    # another sender has a rate of its own.
    assert waits == [
        pytest.approx(0, abs=0.2),
        pytest.approx(2, abs=0.2),
        pytest.approx(4, abs=0.2),
        pytest.approx(0, abs=0.2),
    ]


def test_several_senders_to_a_thousand_recipients_hold_the_configured_rate():
    """Four senders (the worker's threads) share one pacer over 1,000 messages of mixed length
    to 1,000 recipients; virtual time: each sender's clock moves only by its waits and by
    the provider's answer time. Segments sent over the run are within 2% of the rate, and no
    second ever carries more than the rate plus one message."""
    rate, senders, answer = Decimal("20"), 4, 0.03
    bodies = ["Jūsu bilance: {n} punkti", "Ваш баланс: {n} баллов. " * 4, "Your balance: {n}"]
    queue = [
        SimpleNamespace(
            channel="sms",
            recipient=f"+3712{n:07d}",
            segments=message_segments("sms", bodies[n % 3].format(n=n)),
        )
        for n in range(1000)
    ]
    assert {m.segments for m in queue} == {1, 2}  # the long Cyrillic one costs two
    now = {"t": 0.0}
    pacer = Pacer({"sms": rate}, sleep=lambda s: None, clock=lambda: now["t"])
    ready = [(0.0, sender) for sender in range(senders)]  # (free at, sender)
    sent = []  # (moment the message went, its segments)
    for message in queue:
        ready.sort()
        free_at, sender = ready.pop(0)
        now["t"] = free_at
        waited = pacer.wait(message)
        sent.append((free_at + waited, message.segments))
        ready.append((free_at + waited + answer, sender))
    moments = sorted(at for at, _ in sent)
    total = sum(segments for _, segments in sent)
    # n segments at r a second span (n - first) / r seconds: the first goes at once.
    held = (total - sent[0][1]) / (moments[-1] - moments[0])
    assert held == pytest.approx(float(rate), rel=0.02)
    for start in range(int(moments[-1])):
        in_second = sum(s for at, s in sent if start <= at < start + 1)
        assert in_second <= float(rate) + 2
