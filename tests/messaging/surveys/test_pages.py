"""The survey pages: a channel manager writes and opens a survey; a person answers on the one
short page by the signed link (no sign-in) or from their home."""

from datetime import timedelta

from sqlalchemy import select

from core.db import utcnow
from messaging.models import OutboxMessage
from messaging.surveys.models import (
    InvitationState,
    Survey,
    SurveyInvitation,
    SurveyResponse,
    SurveyStatus,
)
from messaging.surveys.sending import invite
from messaging.surveys.triggers import links_from_config
from roles.permissions import Role
from tests.builders import login_as, make_person
from tests.messaging.surveys.helpers import invited, open_now, three_question_survey

PAGE_BUDGET = 60 * 1024


def link_invitation(db, app, world, **settings):
    person = make_person(
        db, world.partner_a, language="he", email="h@example.com", preferred_channel="email"
    )
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER], **settings))
    links = links_from_config(app.config)
    invite(db, survey, person, utcnow(), links=links)
    db.commit()
    token = links.token(survey.id, person.id)
    return survey, person, f"/q/{token}"


def test_the_link_page_answers_without_sign_in_in_hebrew_right_to_left(db, world, app, client):
    survey, person, path = link_invitation(db, app, world)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < PAGE_BUDGET
    assert 'dir="rtl"' in html and "דעתך" in html
    # A plain form: answered with native radios and a submit button, no script needed.
    assert 'type="radio"' in html and '<button type="submit"' in html
    q1, q2, q3 = survey.questions
    sent = client.post(
        path, data={f"q{q1.id}": "9", f"q{q2.id}": str(q2.choices[0].id), f"q{q3.id}": "טוב"}
    )
    assert sent.status_code == 200
    response = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert response.channel == "web" and response.person_id == person.id and response.complete
    assert sorted(a.number or 0 for a in response.answers) == [0, 0, 9]
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    assert invitation.state == InvitationState.ANSWERED
    # Answered: the link is worth nothing more.
    assert client.get(path).status_code == 410


def test_a_bad_answer_on_the_page_is_shown_at_its_question_and_nothing_is_written(
    db, world, app, client
):
    survey, _person, path = link_invitation(db, app, world)
    q1 = survey.questions[0]
    page = client.post(path, data={f"q{q1.id}": "12"})
    assert page.status_code == 400
    assert f'id="q{q1.id}-error"' in page.get_data(as_text=True)
    assert db.scalar(select(SurveyResponse.id)) is None


def test_a_forged_or_expired_link_opens_nothing(db, world, app, client):
    survey, person, path = link_invitation(db, app, world)
    assert client.get(path[:-2] + "xx").status_code == 404
    other = links_from_config(app.config).token(survey.id + 1000, person.id)
    assert client.get(f"/q/{other}").status_code == 410
    survey.closes_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert client.get(path).status_code == 410


def test_the_email_carries_the_link_under_the_public_address(db, world, app):
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = "https://partnerlift.example"
    try:
        survey, _person, path = link_invitation(db, app, world)
    finally:
        app.config["PUBLIC_URL"] = saved
    body = db.scalar(select(OutboxMessage.body).where(OutboxMessage.source == survey.source))
    assert "https://partnerlift.example" + path in body


def test_a_signed_in_person_answers_from_their_home(db, world, client):
    technician = world.people[Role.TECHNICIAN]
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    invitation = invited(db, survey, technician)
    db.commit()
    login_as(client, technician)
    home = client.get("/me").get_data(as_text=True)
    assert f"/surveys/{survey.id}/answer" in home
    page = client.get(f"/surveys/{survey.id}/answer")
    assert page.status_code == 200 and len(page.data) < PAGE_BUDGET
    sent = client.post(f"/surveys/{survey.id}/answer", data={f"q{survey.questions[0].id}": "10"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    db.refresh(invitation)
    assert invitation.state == InvitationState.ANSWERED
    assert client.get(f"/surveys/{survey.id}/answer").status_code == 404


def test_a_channel_manager_writes_a_survey_adds_questions_and_opens_it(db, world, client):
    manager = world.people[Role.CHANNEL_MANAGER]
    login_as(client, manager)
    closes = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(
        "/surveys/new",
        data={
            "name": "Spring pulse",
            "trigger": "segment",
            "holdout_percent": "10",
            "closes_at": closes,
            "reminder_after_hours": "48",
            "default_language": "en",
            "title_en": "Spring pulse",
            "intro_en": "Two questions, {first_name}.",
            "title_lv": "Pavasara aptauja",
            "intro_lv": "Divi jautājumi.",
            "roles": ["technician"],
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    survey = db.scalar(select(Survey).where(Survey.name == "Spring pulse"))
    added = client.post(
        f"/surveys/{survey.id}/questions",
        data={
            "q-kind": "single_choice",
            "q-text_en": "What helps most?",
            "q-choices_en": "Price\nTraining\n",
            "q-choices_lv": "Cena\nApmācība",
            "q-product_group_id": "",
        },
    )
    assert added.status_code == 302
    refused = client.post(
        f"/surveys/{survey.id}/questions", data={"q-kind": "nps", "q-product_group_id": ""}
    )
    assert refused.status_code == 400
    assert "Write the question for everyone in the main language." in refused.get_data(as_text=True)
    db.refresh(survey)
    assert [c.labels for c in survey.questions[0].choices] == [
        {"en": "Price", "lv": "Cena"},
        {"en": "Training", "lv": "Apmācība"},
    ]
    opened = client.post(f"/surveys/{survey.id}/open")
    assert opened.status_code == 302
    db.refresh(survey)
    assert survey.status == SurveyStatus.OPEN
    invited = db.scalars(
        select(SurveyInvitation.person_id).where(SurveyInvitation.survey_id == survey.id)
    ).all()
    assert world.people[Role.TECHNICIAN].id in invited
    assert world.people[Role.SELLER].id not in invited
    assert client.get("/surveys/").status_code == 200
    assert client.get(f"/surveys/{survey.id}").status_code == 200
    closed = client.post(f"/surveys/{survey.id}/close")
    assert closed.status_code == 302
    db.refresh(survey)
    assert survey.status == SurveyStatus.CLOSED


def test_only_an_invited_person_reaches_the_signed_in_answer_page(db, world, app, client):
    survey = open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER]))
    guest, other = world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]
    invited(db, survey, guest)
    db.commit()
    url = f"/surveys/{survey.id}/answer"
    for person in (other, world.people[Role.SELLER], world.people[Role.CHANNEL_MANAGER]):
        login_as(client, person)
        assert client.get(url).status_code == 404
        assert client.post(url, data={f"q{survey.questions[0].id}": "5"}).status_code == 404
    assert db.scalar(select(SurveyResponse.id)) is None
    login_as(client, guest)
    assert client.get(url).status_code == 200
    assert app.test_client().get(url).status_code == 302  # signed out: to sign-in
