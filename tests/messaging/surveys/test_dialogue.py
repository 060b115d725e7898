"""A survey by SMS end to end: the first question through the real twilio client to the local
fake, the answers through signed webhooks, one question at a time."""

import random
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from core.db import utcnow
from messaging.conversation_models import Conversation, ConversationEntry
from messaging.delivery import deliver_next
from messaging.models import InboundMessage, OutboxMessage
from messaging.surveys.dialogue import DialogueSettings, expire_and_remind
from messaging.surveys.models import (
    InvitationState,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
)
from messaging.surveys.sending import invite
from roles.permissions import Role
from tests.builders import make_person
from tests.messaging.surveys.helpers import LINKS, open_now, three_question_survey
from tests.messaging.test_inbound import reply_to

SETTINGS = DialogueSettings(("en", "lv", "fa", "he", "ru", "pl"), "en", LINKS)


@pytest.fixture(autouse=True)
def midday():
    with time_machine.travel("2026-12-03 10:00:00+00:00", tick=True):
        yield


def deliver_all(db, transport):
    sent = []
    while (message := deliver_next(db, transport, now=utcnow(), rng=random.Random(7))) is not None:
        sent.append(message)
    return sent


def invitation_of(db, survey, person):
    """The invitation as the database holds it now: the webhook's requests change it in a
    session of their own, and an object this session loaded before would otherwise keep its
    old state for as long as the garbage collector happens to leave it in the identity map."""
    return db.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.survey_id == survey.id, SurveyInvitation.person_id == person.id)
        .execution_options(populate_existing=True)
    )


def answers_of(db, survey):
    rows = db.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.number, SurveyAnswer.text)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyAnswer.question_id)
    )
    return [tuple(row) for row in rows]


def test_a_latvian_technician_answers_three_questions_by_sms(
    db, world, client, twilio_config, fake, transport
):
    person = make_person(db, world.partner_a, language="lv", full_name="Līga Bērziņa")
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    deliver_all(db, transport)
    first = [m for m in fake.received if m.get("To") == person.phone]
    assert len(first) == 1
    assert "Trīs īsi jautājumi, Līga." in first[0]["Body"]
    assert "(1/3) Cik ticami" in first[0]["Body"]

    again = reply_to(client, person, "11")
    assert again.startswith("Atvainojiet, mēs nevarējām izlasīt šo atbildi.")
    assert "(1/3) Cik ticami" in again and "Atbildiet ar skaitli no 0 līdz 10." in again
    second = reply_to(client, person, "9")
    assert "(2/3) Kas jums traucē" in second and "1 Cena" in second
    third = reply_to(client, person, "apmācība")
    assert "(3/3) Vēl kas?" in third
    thanks = reply_to(client, person, "Vairāk apmācību Rīgā")
    assert thanks == "Paldies par jūsu atbildēm!"
    invitation = invitation_of(db, survey, person)
    assert invitation.state == InvitationState.ANSWERED and invitation.staged is None
    q1, q2, q3 = survey.questions
    assert answers_of(db, survey) == [
        (q1.id, 9, None),
        (q2.id, None, None),
        (q3.id, None, "Vairāk apmācību Rīgā"),
    ]
    response = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert response.person_id == person.id and response.complete and response.language == "lv"
    chosen = response.answers[1].choices
    assert [c.choice_id for c in chosen] == [q2.choices[1].id]
    # The survey is over: a further text is no answer.
    assert "(" not in reply_to(client, person, "5")
    assert db.scalar(select(func.count(SurveyAnswer.id))) == 3


def test_answers_in_persian_digits(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="fa")
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    assert "(2/3)" in reply_to(client, person, "۸")
    assert "(3/3)" in reply_to(client, person, "۳")
    reply_to(client, person, "خوب است")
    q1, q2, _q3 = survey.questions
    assert answers_of(db, survey)[0] == (q1.id, 8, None)
    response = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert [c.choice_id for c in response.answers[1].choices] == [q2.choices[2].id]


def test_an_answer_out_of_range_is_asked_again_once_then_skipped(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    again = reply_to(client, person, "42")
    assert again.startswith("Sorry, we could not read that answer.")
    assert "(1/3) How likely" in again
    skipped = reply_to(client, person, "eleven")
    assert "(2/3) What stops you" in skipped
    invitation = invitation_of(db, survey, person)
    assert invitation.staged == {str(survey.questions[0].id): None}
    assert not invitation.asked_again


def test_stop_in_the_middle_stops_the_survey_and_keeps_what_was_answered(
    db, world, client, twilio_config
):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    reply_to(client, person, "10")
    stopped = reply_to(client, person, "STOP")
    assert stopped.startswith("You will get no more PartnerLift messages here.")
    invitation = invitation_of(db, survey, person)
    assert invitation.state == InvitationState.STOPPED
    assert answers_of(db, survey) == [(survey.questions[0].id, 10, None)]
    response = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert not response.complete
    # Nothing more is read as an answer.
    assert reply_to(client, person, "2") == ""
    assert heard(db, person) == "2"  # no survey: a person reads it


def test_a_replayed_message_sid_answers_once(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    first = reply_to(client, person, "7", sid="SMsurveyreplay000000000000000001")
    replayed = reply_to(client, person, "7", sid="SMsurveyreplay000000000000000001")
    assert first == replayed and "(2/3)" in first
    invitation = invitation_of(db, survey, person)
    assert invitation.current_question_id == survey.questions[1].id
    assert invitation.staged == {str(survey.questions[0].id): 7}


def test_two_surveys_at_once_never_mix_their_answers(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    manager = world.people[Role.CHANNEL_MANAGER]
    older = open_now(db, three_question_survey(db, manager, name="Older"))
    newer = open_now(db, three_question_survey(db, manager, name="Newer"))
    invite(db, older, person, utcnow(), links=LINKS)
    invite(db, newer, person, utcnow(), links=LINKS)
    db.commit()
    assert invitation_of(db, older, person).state == InvitationState.ASKING
    assert invitation_of(db, newer, person).state == InvitationState.WAITING
    reply_to(client, person, "3")
    reply_to(client, person, "1")
    before = db.scalar(select(func.count(OutboxMessage.id)))
    reply_to(client, person, "older done")
    # The newer survey's first question went out when the older one ended.
    assert invitation_of(db, newer, person).state == InvitationState.ASKING
    latest = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert db.scalar(select(func.count(OutboxMessage.id))) == before + 1
    assert latest.source == newer.source and "(1/3)" in latest.body
    reply_to(client, person, "6")
    reply_to(client, person, "2")
    reply_to(client, person, "newer done")
    assert [n for _q, n, _t in answers_of(db, older) if n is not None] == [3]
    assert [n for _q, n, _t in answers_of(db, newer) if n is not None] == [6]
    assert [t for _q, _n, t in answers_of(db, older) if t] == ["older done"]
    assert [t for _q, _n, t in answers_of(db, newer) if t] == ["newer done"]


def test_a_person_who_never_answers_is_reminded_once_then_expires(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(
        db,
        three_question_survey(
            db, world.people[Role.CHANNEL_MANAGER], closes_in=2, reminder_after_hours=24
        ),
    )
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()

    def messages():
        return db.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.source == survey.source)
        )

    assert expire_and_remind(db, utcnow() + timedelta(hours=23), SETTINGS).reminded == 0
    assert expire_and_remind(db, utcnow() + timedelta(hours=25), SETTINGS).reminded == 1
    assert expire_and_remind(db, utcnow() + timedelta(hours=30), SETTINGS).reminded == 0
    assert messages() == 2
    tick = expire_and_remind(db, utcnow() + timedelta(days=2, minutes=1), SETTINGS)
    assert tick.expired == 1 and tick.closed == 1
    invitation = invitation_of(db, survey, person)
    assert invitation.state == InvitationState.EXPIRED
    assert db.scalar(select(func.count(SurveyResponse.id))) == 0
    db.commit()
    # A late reply is no answer.
    assert reply_to(client, person, "9") == ""
    assert heard(db, person) == "9"  # no survey: a person reads it


def test_a_reply_after_the_close_expires_the_survey(db, world, client, twilio_config):
    person = make_person(db, world.partner_a, language="en")
    survey = open_now(
        db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER], closes_in=1)
    )
    invite(db, survey, person, utcnow(), links=LINKS)
    db.commit()
    reply_to(client, person, "8")
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        assert reply_to(client, person, "1") == ""
        assert heard(db, person) == "1"  # no survey: a person reads it
    assert invitation_of(db, survey, person).state == InvitationState.EXPIRED
    assert answers_of(db, survey) == [(survey.questions[0].id, 8, None)]
    assert db.scalar(select(InboundMessage.id).where(InboundMessage.body == "8")) is not None


def heard(db, person) -> str:
    """The newest message the person texted into their conversation."""
    return db.scalar(
        select(ConversationEntry.body)
        .join(Conversation, Conversation.id == ConversationEntry.conversation_id)
        .where(
            Conversation.person_id == person.id, ConversationEntry.inbound_message_id.is_not(None)
        )
        .order_by(ConversationEntry.id.desc())
        .limit(1)
    )
