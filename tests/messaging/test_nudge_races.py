"""Nudges sent to many people at once stay "once" when several transactions send the same
occasion to the same people at the same moment (two imports finishing together)."""

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.db import get_session
from messaging.models import OutboxMessage, Treatment, Trigger, TriggerDelivery
from messaging.nudges import Nudge, send_to_each
from roles.models import Person
from tests.builders import make_partner, make_person

SENDERS = 4


def test_concurrent_sends_of_one_occasion_write_each_person_one_draw_record_and_message(
    committed_postgres_app,
):
    app = committed_postgres_app
    with app.test_request_context():
        db = get_session()
        partner = make_partner(db)
        ids = [make_person(db, partner, ["seller"]).id for _ in range(40)]
        db.commit()
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    barrier = threading.Barrier(SENDERS)
    written, failures = [], []
    saved = app.config["NUDGE_HOLDOUT_PERCENT"]
    app.config["NUDGE_HOLDOUT_PERCENT"] = 50  # the hold-out draws race too

    def send():
        with app.test_request_context(), factory() as session:
            try:
                people = session.scalars(select(Person).where(Person.id.in_(ids))).all()
                nudges = [
                    Nudge(p, "race:1", context={"points": 5, "available": 5, "pending": 0})
                    for p in people
                ]
                barrier.wait()
                written.append(
                    send_to_each(session, Trigger.POINTS_EARNED, "points_earned", nudges)
                )
                session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(repr(error))

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        app.config["NUDGE_HOLDOUT_PERCENT"] = saved
    assert failures == []
    with factory() as session:
        draws = dict(
            session.execute(
                select(Treatment.person_id, Treatment.held_out).where(
                    Treatment.source == "trigger:points_earned", Treatment.person_id.in_(ids)
                )
            ).all()
        )
        deliveries = session.execute(
            select(TriggerDelivery.person_id, TriggerDelivery.held_out).where(
                TriggerDelivery.occasion == "race:1", TriggerDelivery.person_id.in_(ids)
            )
        ).all()
        told = session.execute(
            select(OutboxMessage.person_id, func.count())
            .where(OutboxMessage.kind == "points_earned", OutboxMessage.person_id.in_(ids))
            .group_by(OutboxMessage.person_id)
        ).all()
    assert sorted(draws) == sorted(ids)  # one draw each, whoever drew it
    assert sorted(deliveries) == sorted(draws.items())  # recorded once, as drawn
    treated = sorted(person_id for person_id, held_out in draws.items() if not held_out)
    assert sorted(told) == [(person_id, 1) for person_id in treated]
    assert 0 < len(treated) < len(ids)
    assert sum(len(batch) for batch in written) == len(treated)
