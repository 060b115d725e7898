from sqlalchemy import func, select

from messaging.models import OutboxMessage
from messaging.outbox import enqueue
from roles.permissions import Role
from roles.phones import format_phone
from tests.builders import login_as


def test_rolled_back_change_leaves_no_message(app, db, world):
    person = world.people[Role.TECHNICIAN]
    before = db.scalar(select(func.count(OutboxMessage.id)))
    nested = db.begin_nested()
    enqueue(db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="hi")
    nested.rollback()
    assert db.scalar(select(func.count(OutboxMessage.id))) == before


def test_deliver_command_sends_pending_messages_with_the_development_transport(app, db, world):
    person = world.people[Role.TECHNICIAN]
    enqueue(db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="hi")
    db.commit()
    result = app.test_cli_runner().invoke(args=["messaging", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    db.expire_all()
    message = db.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert message.status == "sent" and message.provider_id.startswith("dev-")


def test_admin_reads_sign_in_codes_on_the_outbox_page(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    client.post("/sign-in/phone", data={"phone": technician.phone})
    login_as(client, world.people[Role.ADMIN])
    page = client.get("/messaging/outbox").get_data(as_text=True)
    assert "is your PartnerLift code" in page and format_phone(technician.phone) in page


def test_outbox_command_prints_the_newest_messages(app, db, world):
    person = world.people[Role.SELLER]
    enqueue(db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="ping")
    db.commit()
    result = app.test_cli_runner().invoke(args=["messaging", "outbox", "--last", "1"])
    assert result.exit_code == 0 and "ping" in result.output
