"""People read as plain rows for messages to many at once."""

from messaging.recipients import COLUMNS, recipients
from tests.builders import make_person


def test_a_recipient_reads_as_the_person_their_columns_roles_and_the_rest(db, world):
    person = make_person(
        db,
        world.partner_a,
        roles=("seller", "engineer"),
        language="fa",
        timezone="Asia/Tehran",
        email="reader@example.com",
        preferred_channel="whatsapp",
    )
    other = make_person(db, None, roles=("channel_manager",), active=False)
    found = recipients(db, [other.id, person.id, person.id, 10**9])
    assert found.keys() == {person.id, other.id}  # once each; nobody for an unknown id
    for original in (person, other):
        recipient = found[original.id]
        for column in COLUMNS:
            assert getattr(recipient, column.key) == getattr(original, column.key)
        assert recipient.roles == original.roles
        # Not read with the row: from the Person itself.
        assert recipient.is_field_staff == original.is_field_staff
        assert recipient.zone == original.zone
    assert found[person.id].partner.name == world.partner_a.name
    assert found[other.id].partner is None
