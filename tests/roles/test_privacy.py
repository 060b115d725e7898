"""A person's data on request: exported whole, or erased with the ledger still reconciling."""

import json

from sqlalchemy import select

from channel.claim_models import Claim
from channel.postings import Line, balance_of, check_balances, person_account, post
from messaging.consent import set_consent
from messaging.models import ChannelConsent, InboundMessage, OutboxMessage
from messaging.outbox import enqueue
from roles.models import Person
from roles.permissions import Role
from roles.privacy import erase_person, export_person


def history(db, world, person, upload_folder=None):
    photos = []
    if upload_folder is not None:
        from channel.claim_models import ClaimPhoto
        from channel.uploads import store_proof

        plate = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + bytes(64)
        photos = [
            ClaimPhoto(
                position=n, name=store_proof(upload_folder, plate)[0], mime_type="image/jpeg"
            )
            for n in (1, 2)
        ]
    post(
        db,
        f"privacy:{person.id}",
        [
            Line(
                account=person_account(person.id),
                points=120,
                kind="earn",
                partner_id=world.partner_a.id,
                person_id=person.id,
            )
        ],
    )
    db.add(
        Claim(
            person_id=person.id,
            partner_id=world.partner_a.id,
            kind="install",
            occurred_on=db.scalar(select(Person.created_at)).date(),
            serial="PRIV-1",
            site="Brīvības iela 1, Rīga",
            photos=photos,
        )
    )
    enqueue(
        db, person_id=person.id, channel="sms", recipient=person.phone, kind="t", body="Hi Anna"
    )
    db.add(
        InboundMessage(
            message_sid="SMpriv", from_number=person.phone, person_id=person.id, body="BAL"
        )
    )
    set_consent(db, person.id, "whatsapp", opted_out=True, source="profile")
    db.flush()


def test_an_export_holds_everything_kept_about_the_person(db, world):
    person = world.people[Role.TECHNICIAN]
    history(db, world, person)
    data = json.loads(json.dumps(export_person(db, person), default=str))
    assert data["person"]["phone"] == person.phone and data["person"]["roles"] == ["technician"]
    assert [c["serial"] for c in data["claims"]] == ["PRIV-1"]
    assert sum(e["points"] for e in data["ledger_entries"]) == 120
    assert [m["body"] for m in data["messages_to_them"]][-1] == "Hi Anna"
    assert [m["body"] for m in data["messages_from_them"]] == ["BAL"]
    assert data["consents"][0]["channel"] == "whatsapp"


def test_erasure_blanks_the_person_and_keeps_the_ledger_reconciled(app, db, world, tmp_path):
    person = world.people[Role.TECHNICIAN]
    phone = person.phone
    history(db, world, person, upload_folder=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    erase_person(db, person, upload_folder=str(tmp_path))
    db.expire_all()
    erased = db.get(Person, person.id)
    assert erased.full_name == f"Erased person {person.id}" and erased.phone != phone
    assert erased.email is None and not erased.active
    claim = db.scalar(select(Claim).where(Claim.person_id == person.id))
    assert claim.site is None and claim.serial == "PRIV-1"  # fraud checks still see the serial
    assert claim.photos == [] and list(tmp_path.iterdir()) == []  # the photos of the plate go
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.person_id == person.id))
    assert (message.body, message.recipient, message.status) == ("", "", "failed")
    assert db.scalar(select(InboundMessage.body).where(InboundMessage.person_id == person.id)) == ""
    assert db.scalar(select(ChannelConsent).where(ChannelConsent.person_id == person.id)) is None
    assert balance_of(db, person_account(person.id)) == (0, 120)
    assert check_balances(db) == []
    exported = json.dumps(export_person(db, erased), default=str)
    assert phone not in exported and "Brīvības" not in exported and "Hi Anna" not in exported


def test_the_commands_export_and_erase_by_phone(app, db, world):
    person = world.people[Role.SELLER]
    db.commit()
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["privacy", "export", person.phone])
    assert exported.exit_code == 0 and json.loads(exported.output)["person"]["id"] == person.id
    refused = runner.invoke(args=["privacy", "erase", person.phone])
    assert refused.exit_code != 0 and "--yes" in refused.output
    unknown = runner.invoke(args=["privacy", "export", "+37129999999"])
    assert unknown.exit_code != 0 and "Nobody has the number" in unknown.output
    erased = runner.invoke(args=["privacy", "erase", person.phone, "--yes"])
    assert erased.exit_code == 0, erased.output
    db.expire_all()
    assert db.get(Person, person.id).full_name == f"Erased person {person.id}"


def test_a_saving_goal_is_exported_and_erased_by_the_commands(app, db, world):
    from channel.rewards import Reward
    from channel.saving_goals import SavingGoal, choose_goal
    from tests.builders import offered

    person, other = world.people[Role.TECHNICIAN], world.people[Role.SELLER]
    drill = offered(Reward(kind="physical", name="Drill", points_price=900))
    db.add(drill)
    db.flush()
    choose_goal(db, person, drill)
    choose_goal(db, other, drill)
    db.commit()
    runner = app.test_cli_runner()
    exported = json.loads(runner.invoke(args=["privacy", "export", person.phone]).output)
    assert exported["saving_goal"]["reward_id"] == drill.id
    assert exported["saving_goal"]["chosen_at"]
    assert runner.invoke(args=["privacy", "erase", person.phone, "--yes"]).exit_code == 0
    db.expire_all()
    assert db.get(SavingGoal, person.id) is None
    assert db.get(SavingGoal, other.id).reward_id == drill.id  # nobody else's goal goes
    assert export_person(db, db.get(Person, person.id))["saving_goal"] is None
