"""What `messaging` keeps about a person, for their data export and their erasure."""

from sqlalchemy import delete, select, update

from messaging.models import ChannelBlock, ChannelConsent, InboundMessage, OutboxMessage
from roles.privacy import rows
from roles.signals import person_erased, person_exported


def export(_sender, *, session, person) -> dict:
    sent = session.scalars(
        select(OutboxMessage).where(OutboxMessage.person_id == person.id).order_by(OutboxMessage.id)
    )
    received = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.person_id == person.id)
        .order_by(InboundMessage.id)
    )
    consents = session.scalars(select(ChannelConsent).where(ChannelConsent.person_id == person.id))
    return {
        "messages_to_them": rows(
            sent, "created_at", "channel", "recipient", "kind", "subject", "body", "status"
        ),
        "messages_from_them": rows(received, "received_at", "channel", "from_number", "body"),
        "consents": rows(consents, "channel", "opted_out", "changed_at", "source"),
    }


def erase(_sender, *, session, person, upload_folder) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person.id, OutboxMessage.status == "pending")
        .values(status="failed", note="not sent: the person was erased")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person.id)
        .values(recipient="", subject=None, body="", note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.person_id == person.id)
        .values(from_number="", body="", reply="")
        .execution_options(synchronize_session=False)
    )
    for model in (ChannelConsent, ChannelBlock):
        session.execute(delete(model).where(model.person_id == person.id))


def connect_handlers() -> None:
    person_exported.connect(export)
    person_erased.connect(erase)
