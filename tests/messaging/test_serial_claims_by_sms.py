"""An install texted in (CLAIM <serial>) is checked against the serial registry like any other."""

from roles.permissions import Role
from tests.channel.test_serial_checks import install_program, shipments
from tests.messaging.test_inbound import reply_to


def test_an_sms_claim_of_an_invented_serial_is_answered_with_the_reason_in_the_senders_language(
    db, client, twilio_config, world
):
    shipments(db, world)
    install_program(db, world)
    technician = world.people[Role.TECHNICIAN]
    db.commit()
    answer = reply_to(client, technician, "CLAIM FAKE-1")
    assert answer == (
        "Install FAKE-1 will be reviewed. We have no record of shipping this serial number."
    )
    technician.language = "lv"
    db.commit()
    assert "FAKE-2" in reply_to(client, technician, "CLAIM FAKE-2")
    assert "will be reviewed" not in reply_to(client, technician, "CLAIM FAKE-3")
