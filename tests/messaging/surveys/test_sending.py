"""Sending a survey: to a segment in bulk, to one person by a trigger; the control group
gets nothing; an anonymous survey's answers join no person."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.claim_models import ClaimStatus
from channel.claims import ClaimDetails, reject_claim, submit_claim
from core.db import Base, get_session, utcnow
from messaging.campaigns.audience import SegmentFilters
from messaging.models import InboundMessage, OutboxMessage
from messaging.surveys.authoring import open_survey
from messaging.surveys.models import (
    InvitationState,
    SurveyInvitation,
    SurveyResponse,
    SurveyTrigger,
)
from messaging.surveys.sending import begin, invite, send_to_segment
from roles.models import Person
from roles.permissions import Role
from tests.builders import build_world, make_person, offered, utc_today
from tests.messaging.surveys.helpers import LINKS, invited, open_now, three_question_survey
from tests.messaging.test_inbound import reply_to


def states(db, survey):
    return dict(
        db.execute(
            select(SurveyInvitation.person_id, SurveyInvitation.state).where(
                SurveyInvitation.survey_id == survey.id
            )
        ).all()
    )


def test_a_segment_survey_invites_everyone_once_and_the_control_group_gets_nothing(db, world):
    people = [make_person(db, world.partner_a, language="lv") for _ in range(40)]
    survey = three_question_survey(
        db,
        world.people[Role.CHANNEL_MANAGER],
        holdout_percent=50,
        filters=SegmentFilters(partner_ids=(world.partner_a.id,)),
    )
    report = open_survey(db, survey, utcnow(), links=LINKS)
    found = states(db, survey)
    ours = {p.id for p in people}
    assert ours <= set(found)
    held = {pid for pid, state in found.items() if state == InvitationState.HELD_OUT}
    assert 5 < len(held & ours) < 35 and report.held_out == len(held)
    messaged = set(
        db.scalars(select(OutboxMessage.person_id).where(OutboxMessage.source == survey.source))
    )
    assert messaged and not messaged & held
    assert messaged == {pid for pid, state in found.items() if state != InvitationState.HELD_OUT}
    # Sending again adds no one twice.
    again = send_to_segment(db, survey, utcnow(), links=LINKS)
    assert again.invited == again.held_out == again.messages == 0


def test_a_held_out_person_gets_nothing_from_a_trigger(db, world):
    survey = open_now(
        db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER], holdout_percent=50)
    )
    people = [make_person(db, world.partner_a) for _ in range(20)]
    for person in people:
        invite(db, survey, person, utcnow(), links=LINKS)
    found = states(db, survey)
    held = {pid for pid, state in found.items() if state == InvitationState.HELD_OUT}
    assert held
    sent_to = set(
        db.scalars(select(OutboxMessage.person_id).where(OutboxMessage.source == survey.source))
    )
    assert not sent_to & held and sent_to


def test_email_people_get_the_signed_link_to_the_page(db, world):
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    person = make_person(db, world.partner_a, email="mail@example.com", preferred_channel="email")
    invitation = invite(db, survey, person, utcnow(), links=LINKS)
    assert invitation.state == InvitationState.SENT and invitation.channel == "email"
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.source == survey.source))
    assert message.subject == "Your view"
    assert LINKS.url(survey.id, person.id) in message.body
    assert LINKS.read(LINKS.url(survey.id, person.id).rsplit("/", 1)[1]) == (survey.id, person.id)
    assert LINKS.read("x" + LINKS.token(survey.id, person.id)) is None


def test_a_rejected_claim_sends_the_claim_rejected_survey(db, world, app):
    survey = open_now(
        db,
        three_question_survey(
            db, world.people[Role.CHANNEL_MANAGER], trigger=SurveyTrigger.CLAIM_REJECTED
        ),
    )
    technician = world.people[Role.TECHNICIAN]
    today = utc_today()
    with app.app_context():
        claim = submit_claim(
            db,
            technician,
            ClaimDetails(kind="install", occurred_on=today, serial="SV-1"),
            today=today,
        )
        assert claim.status != ClaimStatus.REJECTED
        reject_claim(db, claim, actor_id=world.people[Role.CHANNEL_MANAGER].id, reason="No plate")
    assert states(db, survey) == {technician.id: InvitationState.ASKING}
    assert invitation_occasion(db, survey) == f"claim:{claim.id}"


def invitation_occasion(db, survey):
    return db.scalar(
        select(SurveyInvitation.occasion).where(SurveyInvitation.survey_id == survey.id)
    )


def test_no_row_joins_an_anonymous_answer_to_a_person(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(
        db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER], anonymous=True)
    )
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    reply_to(client, person, "4")
    reply_to(client, person, "2")
    reply_to(client, person, "ZEBRA-SECRET-42 the rules are unclear")
    response = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert response.anonymous and response.person_id is None and response.invitation_id is None
    assert response.submitted_at is None
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    assert invitation.state == InvitationState.ANSWERED and invitation.staged is None
    # The inbound records name the person: they keep no answer.
    assert set(
        db.scalars(select(InboundMessage.body).where(InboundMessage.person_id == person.id))
    ) == {""}
    # Every table, every row: the answers' words and numbers live only in the answer tables,
    # and nothing points at a response or an answer but the answer tables themselves.
    answer_tables = {"survey_answers", "survey_answer_choices", "survey_responses"}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name in {"survey_responses", "survey_answers"}:
                assert table.name in answer_tables, table.name
        if table.name in answer_tables:
            continue
        for row in db.execute(select(table)).mappings():
            assert not any("ZEBRA-SECRET-42" in str(value) for value in row.values()), table.name
    people_columns = [
        column.name
        for column in SurveyResponse.__table__.columns
        if any(
            fk.column.table.name in {"people", "survey_invitations"} for fk in column.foreign_keys
        )
    ]
    assert people_columns == ["person_id", "invitation_id"]
    assert all(getattr(response, name) is None for name in people_columns)


@pytest.mark.usefixtures("committed_postgres_app")
def test_two_surveys_started_at_once_for_one_person_leave_one_asking(committed_postgres_app):
    app = committed_postgres_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        person = make_person(db, world.partner_a)
        manager = world.people[Role.CHANNEL_MANAGER]
        surveys = [open_now(db, three_question_survey(db, manager, name=f"S{i}")) for i in range(4)]
        invitations = [
            invited(db, survey, person, state=InvitationState.WAITING, channel="sms")
            for survey in surveys
        ]
        db.commit()
        ids, person_id = [i.id for i in invitations], person.id
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    barrier = threading.Barrier(len(ids))
    started, failures = [], []

    def start(invitation_id):
        with app.test_request_context(), factory() as session:
            try:
                invitation = session.get(SurveyInvitation, invitation_id)
                person = session.get(Person, person_id)
                barrier.wait()
                started.append(begin(session, invitation, person, utcnow(), links=LINKS))
                session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(repr(error))

    threads = [threading.Thread(target=start, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(started) == [False, False, False, True]
    with factory() as session:
        found = session.scalars(
            select(SurveyInvitation.state).where(SurveyInvitation.person_id == person_id)
        ).all()
        assert sorted(found) == ["asking", "waiting", "waiting", "waiting"]
        one = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.person_id == person_id)
        )
        assert one == 1


def test_a_first_redemption_sends_its_survey_once(db, world, app):
    from channel.rewards import Reward, redeem
    from tests.builders import give_points

    survey = open_now(
        db,
        three_question_survey(
            db, world.people[Role.CHANNEL_MANAGER], trigger=SurveyTrigger.FIRST_REDEMPTION
        ),
    )
    seller = world.people[Role.SELLER]
    give_points(db, seller, 100)
    reward = offered(Reward(kind="physical", name="Drill", points_price=10, stock=None))
    db.add(reward)
    db.flush()
    with app.app_context():
        redeem(db, seller, reward, request_key="first", shipping_address="Riga")
        redeem(db, seller, reward, request_key="second", shipping_address="Riga")
    assert states(db, survey) == {seller.id: InvitationState.ASKING}
    assert invitation_occasion(db, survey).startswith("redemption:")


def test_a_declined_program_sends_its_survey_to_the_manager_by_email(db, world, app):
    from channel.approvals import DecisionDetails, decide
    from tests.builders import add_scheme, make_program, offer

    survey = open_now(
        db,
        three_question_survey(
            db, world.people[Role.CHANNEL_MANAGER], trigger=SurveyTrigger.PROGRAM_DECLINED
        ),
    )
    manager = world.people[Role.PARTNER_MANAGER]
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    with app.app_context():
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        decide(
            db,
            program,
            world.partner_a,
            DecisionDetails(approve=False, reason="Not this year"),
            actor_id=manager.id,
        )
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    assert invitation.person_id == manager.id
    assert invitation.channel in ("email", "inapp") and invitation.state == InvitationState.SENT
