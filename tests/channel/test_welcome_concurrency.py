"""Two `flask programs welcome` runs at once (a slow cron run and the next) welcome each once."""

import threading

from sqlalchemy import func, select

from channel.ledger import Activity, LedgerEntry
from channel.programs import launch_program
from core.db import get_session
from messaging.models import OutboxMessage
from roles.permissions import Role
from tests.builders import add_scheme, approve, build_world, make_program, offer


def test_two_welcome_runs_at_once_pay_and_tell_each_person_once(committed_app, monkeypatch):
    monkeypatch.setattr("channel.programs.WELCOME_BATCH", 1)
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        program = make_program(db, partners=[world.partner_a])
        add_scheme(db, program, ["seller", "technician", "engineer"], ("welcome", {"points": 25}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        db.commit()
        program_id = program.id

    start, results = threading.Barrier(2), []

    def run():
        start.wait()
        results.append(app.test_cli_runner().invoke(args=["programs", "welcome"]))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [(r.exit_code, r.exception) for r in results] == [(0, None), (0, None)]

    with app.app_context():
        db = get_session()
        activities = db.execute(
            select(Activity.person_id, func.count())
            .where(Activity.source_key.like(f"enrolment:{program_id}:%"))
            .group_by(Activity.person_id)
        ).all()
        bonuses = db.execute(
            select(LedgerEntry.person_id, func.sum(LedgerEntry.points))
            .where(LedgerEntry.program_id == program_id, LedgerEntry.rule_kind == "welcome")
            .group_by(LedgerEntry.person_id)
        ).all()
        told = db.execute(
            select(OutboxMessage.person_id, func.count())
            .where(OutboxMessage.source == "trigger:enrolled")
            .group_by(OutboxMessage.person_id)
        ).all()
    assert len(activities) == 3 and {n for _, n in activities} == {1}
    assert len(bonuses) == 3 and {points for _, points in bonuses} == {25}
    assert len(told) == 3 and {n for _, n in told} == {1}
