"""Survey results: response rates and the NPS by group, distributions, written answers, claims
after the survey, the small-group rule of anonymous surveys, who sees which partner's results,
and the exports."""

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from channel.claim_models import Claim, ClaimStatus
from core.db import utcnow
from messaging.surveys.answers import write_response
from messaging.surveys.authoring import QuestionDraft, add_question
from messaging.surveys.dialogue import respondent
from messaging.surveys.models import (
    InvitationState,
    QuestionKind,
    SurveyInvitation,
    SurveyQuestion,
)
from messaging.surveys.results import free_texts, survey_results
from roles.permissions import Role
from tests.builders import login_as, make_partner, make_person, utc_today
from tests.messaging.surveys.helpers import open_now, three_question_survey


def questions(db, survey):
    return list(
        db.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(SurveyQuestion.position)
        )
    )


def invite(db, survey, person, state=InvitationState.SENT, channel="sms"):
    invitation = SurveyInvitation(
        survey_id=survey.id,
        person_id=person.id,
        channel=None if state == InvitationState.HELD_OUT else channel,
        state=state,
        invited_at=utcnow() - timedelta(days=2),
        expires_at=survey.closes_at,
    )
    db.add(invitation)
    db.flush()
    return invitation


def answer(db, survey, person, score=None, choice=None, text=None, channel="sms", when=None):
    """`person` answers: the NPS question, the choice's position, the free text."""
    nps, stops, free = questions(db, survey)
    invitation = invite(db, survey, person, InvitationState.ANSWERED, channel)
    values = {nps.id: score, free.id: text}
    if choice is not None:
        values[stops.id] = [stops.choices[choice - 1].id]
    when = when or utcnow() - timedelta(days=1)
    write_response(
        db,
        survey,
        respondent(person, invitation, channel),
        values,
        complete=True,
        now=when,
    )
    invitation.ended_at = when
    db.flush()
    return invitation


def claim(db, person, days_ago=0, status=ClaimStatus.APPROVED):
    db.add(
        Claim(
            person_id=person.id,
            partner_id=person.partner_id,
            kind="install",
            status=status,
            occurred_on=utc_today(),
            created_at=utcnow() - timedelta(days=days_ago, hours=1),
        )
    )
    db.flush()


def survey_of(db, world, **settings):
    return open_now(db, three_question_survey(db, world.people[Role.CHANNEL_MANAGER], **settings))


def test_rates_nps_and_distributions_by_group(db, world):
    survey = survey_of(db, world)
    latvians = [make_person(db, world.partner_a, language="lv") for _ in range(6)]
    poles = [make_person(db, world.partner_b, language="pl", roles=("seller",)) for _ in range(4)]
    for person, score in zip(latvians, [10, 10, 9, 8, 3, 0], strict=True):
        answer(db, survey, person, score, choice=1)
    answer(db, survey, poles[0], 9, choice=2)
    answer(db, survey, poles[1], 6, choice=1, channel="whatsapp")
    invite(db, survey, poles[2])
    invite(db, survey, poles[3], InvitationState.HELD_OUT)

    results = survey_results(db, survey)

    assert (results.invited, results.answered, results.held_out) == (9, 8, 1)
    assert str(results.response_rate) == "88.9"
    by_language = {r.group: (r.invited, r.answered) for r in results.rates["language"]}
    assert by_language == {"lv": (6, 6), "pl": (3, 2)}
    by_role = {r.group: (r.invited, r.answered) for r in results.rates["role"]}
    assert by_role == {"technician": (6, 6), "seller": (3, 2)}
    by_channel = {r.group: r.answered for r in results.rates["channel"]}
    assert by_channel == {"sms": 7, "whatsapp": 1}
    # 4 promoters, 1 passive, 3 detractors of 8: NPS 12.5.
    assert (results.nps.promoters, results.nps.passives, results.nps.detractors) == (4, 1, 3)
    assert str(results.nps.score) == "12.5"
    assert results.nps.low < results.nps.score < results.nps.high
    by_partner = {g.group: str(g.nps.score) for g in results.nps_by["partner"]}
    assert by_partner == {world.partner_a.id: "16.7", world.partner_b.id: "0.0"}
    nps_counts, choices = results.distributions
    assert dict(nps_counts.counts)[10] == 2 and dict(nps_counts.counts)[5] == 0
    assert len(nps_counts.counts) == 11
    assert [n for _choice, n in choices.counts] == [7, 1, 0]


def test_the_results_page_draws_charts_for_every_breakdown_in_hebrew_too(client, db, world):
    survey = survey_of(db, world, name="Pulse Q4")
    for score in (10, 9, 2):
        answer(db, survey, make_person(db, world.partner_a), score, choice=3, text="Too slow")
    db.commit()
    manager = world.people[Role.CHANNEL_MANAGER]
    login_as(client, manager)
    page = client.get(f"/surveys/{survey.id}/results").get_data(as_text=True)
    for chart in (
        "chart-rate-channel",
        "chart-rate-role",
        "chart-rate-partner",
        "chart-rate-language",
    ):
        assert f'id="{chart}"' in page
    assert 'direction="ltr"' in page and "Time" in page and "Too slow" in page
    assert "33.3" in page  # 2 promoters, 1 detractor
    listed = client.get("/surveys/results").get_data(as_text=True)
    assert "Pulse Q4" in listed
    manager.language = "he"
    db.commit()
    page = client.get(f"/surveys/{survey.id}/results").get_data(as_text=True)
    assert 'direction="rtl"' in page and 'dir="rtl"' in page


def test_an_anonymous_survey_with_four_answers_shows_nothing_of_them(client, db, world):
    survey = survey_of(db, world, anonymous=True)
    people = [make_person(db, world.partner_a) for _ in range(5)]
    for person in people[:4]:
        answer(db, survey, person, 10, choice=1, text="Secret words")
    results = survey_results(db, survey)
    assert not results.answers_shown
    assert results.nps is None and results.nps_by == {} and results.distributions == []
    assert results.after == []
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/surveys/{survey.id}/results").get_data(as_text=True)
    assert "Fewer than five people have answered" in page
    assert "chart-q" not in page and "Promoters" not in page

    answer(db, survey, people[4], 9, choice=1)
    results = survey_results(db, survey)
    assert results.answers_shown and results.nps.promoters == 5


def test_an_anonymous_survey_hides_every_group_under_five(db, world):
    survey = survey_of(db, world, anonymous=True)
    for _ in range(6):
        answer(db, survey, make_person(db, world.partner_a, language="lv"), 10, choice=1)
    for _ in range(2):
        answer(db, survey, make_person(db, world.partner_b, language="ru"), 0, choice=2)
    results = survey_results(db, survey)
    assert results.nps.answers == 8
    assert [g.group for g in results.nps_by["partner"]] == [world.partner_a.id]
    assert [g.group for g in results.nps_by["language"]] == ["lv"]
    assert [r.group for r in results.rates["partner"]] == [world.partner_a.id]
    # A question fewer than five answered is not shown either.
    nps, stops, _free = questions(db, survey)
    assert {d.question.id for d in results.distributions} == {nps.id, stops.id}


def test_written_answers_are_searchable_and_anonymous_ones_name_no_one(db, world):
    named = survey_of(db, world)
    anonymous = survey_of(db, world, anonymous=True, name="Blind")
    ana = make_person(db, world.partner_a, full_name="Ana Ozola", language="lv")
    for survey in (named, anonymous):
        answer(db, survey, ana, 8, text="Pārāk daudz papīru")
        answer(db, survey, make_person(db, world.partner_a), 8, text="More training, please")
    texts = free_texts(db, named, None, "PAPĪRU")
    assert [(t.text, t.language, t.role, t.person_name) for t in texts] == [
        ("Pārāk daudz papīru", "lv", "technician", "Ana Ozola")
    ]
    assert len(free_texts(db, named, None)) == 2
    assert free_texts(db, named, None, "100%_") == []
    blind = free_texts(db, anonymous, None)
    assert {t.text for t in blind} == {"Pārāk daudz papīru", "More training, please"}
    # Two technicians answered: their role would point at them, so none is shown.
    assert {(t.person_name, t.role) for t in blind} == {(None, "")}


def test_claims_after_the_survey_by_nps_group_against_the_held_out(db, world):
    survey = survey_of(db, world)
    promoter, detractor, silent, held = (make_person(db, world.partner_a) for _ in range(4))
    answer(db, survey, promoter, 10, when=utcnow() - timedelta(days=3))
    answer(db, survey, detractor, 1, when=utcnow() - timedelta(days=3))
    invite(db, survey, silent)
    invite(db, survey, held, InvitationState.HELD_OUT)
    claim(db, promoter)
    claim(db, promoter)
    claim(db, promoter, status=ClaimStatus.REJECTED)
    claim(db, promoter, days_ago=10)  # before answering
    claim(db, held)
    after = {a.group: (a.people, a.claims, a.per_person) for a in survey_results(db, survey).after}
    assert after["promoter"][:2] == (1, 2)
    assert after["detractor"][:2] == (1, 0)
    assert after["not_answered"][:2] == (1, 0)
    assert after["held_out"][:2] == (1, 1) and str(after["held_out"][2]) == "1.00"


def test_a_partner_manager_sees_only_their_people_and_no_anonymous_survey(client, db, world):
    survey = survey_of(db, world, name="Named")
    blind = survey_of(db, world, anonymous=True, name="Blind")
    for s in (survey, blind):
        for _ in range(5):
            answer(db, s, make_person(db, world.partner_a), 10, text="From A")
        answer(db, s, make_person(db, world.partner_b), 0, text="From B")
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])  # partner A's
    a = world.partner_a.id
    listed = client.get(f"/partners/{a}/surveys").get_data(as_text=True)
    assert "Named" in listed and "Blind" not in listed
    page = client.get(f"/partners/{a}/surveys/{survey.id}/results").get_data(as_text=True)
    assert "From A" in page and "From B" not in page
    assert client.get(f"/partners/{a}/surveys/{blind.id}/results").status_code == 404
    assert (
        client.get(f"/partners/{world.partner_b.id}/surveys/{survey.id}/results").status_code == 404
    )
    assert client.get(f"/surveys/{survey.id}/results").status_code == 403
    export = client.get(f"/partners/{a}/surveys/{survey.id}/results/export/responses.csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 5 and {r["partner_id"] for r in rows} == {str(a)}


def test_exports_hold_every_response_and_the_breakdowns(client, db, world):
    survey = survey_of(db, world)
    blind = survey_of(db, world, anonymous=True)
    ana = make_person(db, world.partner_a, language="lv")
    for s in (survey, blind):
        answer(db, s, ana, 9, choice=2, text="Labi")
        answer(db, s, make_person(db, world.partner_b), 4, choice=1)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.get(f"/surveys/{survey.id}/results/export/responses.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    first = next(r for r in rows if r["person_id"] == str(ana.id))
    assert (first["q1_nps"], first["q2_single_choice"], first["q3_free_text"]) == (
        "9",
        "Training",
        "Labi",
    )
    assert first["language"] == "lv" and first["role"] == "technician"
    blind_rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/surveys/{blind.id}/results/export/responses.csv").get_data(
                    as_text=True
                )
            )
        )
    )
    assert blind_rows[0] == [
        "number",
        "submitted_on",
        "complete",
        "q1_nps",
        "q2_single_choice",
        "q3_free_text",
    ]
    assert str(ana.id) not in {cell for row in blind_rows[1:] for cell in row[:3]}
    workbook = client.get(f"/surveys/{survey.id}/results/export/breakdown.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    header, *lines = list(sheet.values)
    assert header[:5] == ("dimension", "group", "invited", "answered", "response_rate_percent")
    partner_rows = {row[1]: row for row in lines if row[0] == "partner"}
    assert partner_rows[world.partner_a.id][9] == 100
    assert client.get(f"/surveys/{survey.id}/results/export/nothing.csv").status_code == 404


def test_share_of_category_sales_feeds_the_dashboard(client, db, world):
    manager = world.people[Role.CHANNEL_MANAGER]
    survey = three_question_survey(db, manager)
    from tests.builders import make_group

    group = make_group(db)
    add_question(
        db,
        survey,
        QuestionDraft(
            QuestionKind.CATEGORY_SHARE,
            {("en", ""): "Boilers sold last month, and how many ours?"},
            product_group_id=group.id,
        ),
    )
    open_now(db, survey)
    share = questions(db, survey)[-1]
    latvia = world.partner_a
    poland = make_partner(db, name="Polska Sp.", country="PL")
    today = utcnow()

    def report(partner, total, ours, when=today, role="partner_manager"):
        person = make_person(db, partner, roles=(role,))
        invitation = invite(db, survey, person, InvitationState.ANSWERED)
        write_response(
            db,
            survey,
            respondent(person, invitation, "email"),
            {share.id: (total, ours)},
            complete=True,
            now=when,
        )

    report(latvia, 100, 10)
    report(latvia, 200, 50)  # the same month and category again: the latest answer stands
    report(poland, 50, 30, role="procurement")
    report(poland, 80, 80, role="technician")  # not one who knows the company's sales
    report(poland, 1000, 1000, when=today - timedelta(days=400))  # outside the period
    db.commit()
    login_as(client, manager)
    page = client.get("/dashboard").get_data(as_text=True)
    # (50 + 30) of (200 + 50) units: 32 %; Latvia 25 %, Poland 60 %.
    assert "no partner has answered" not in page
    assert 'id="chart-share-partner"' in page and "32%" in page
    assert "25%" in page and "60%" in page
    narrowed = client.get(f"/dashboard?partner={poland.id}").get_data(as_text=True)
    assert 'id="chart-share"' in narrowed and "60%" in narrowed and "25%" not in narrowed
    results = survey_results(db, survey)
    assert (results.distributions[-1].units, results.distributions[-1].ours) == (1430, 1170)


def test_the_dashboard_says_when_no_partner_has_answered(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "no partner has answered a share-of-sales survey question" in page


def test_a_full_results_page_stays_under_the_page_budget(client, db, world):
    survey = survey_of(db, world)
    words = "Approvals take too long, and the form asks for the serial twice. " * 3
    for score in range(60):
        person = make_person(db, world.partner_a, full_name=f"Technician number {score}")
        answer(db, survey, person, score % 11, choice=score % 3 + 1, text=words)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/surveys/{survey.id}/results").get_data()
    assert page.count(b"Approvals take too long") == 50 * 3  # the newest 50 answers
    assert len(page) < 60_000, len(page)


def test_the_results_show_what_became_of_the_surveys_messages_read_next_to_delivered(
    client, db, world
):
    from messaging.models import OutboxStatus
    from messaging.outbox import enqueue

    survey = survey_of(db, world, name="Receipts")
    ours, theirs = make_person(db, world.partner_a), make_person(db, world.partner_b)
    answer(db, survey, ours, 9)
    statuses = [(ours, "read"), (ours, "delivered"), (ours, "undelivered"), (theirs, "read")]
    for person, status in statuses:
        message = enqueue(
            db,
            person_id=person.id,
            channel="whatsapp",
            recipient=f"whatsapp:{person.phone}",
            kind="survey",
            body="How likely…?",
            source=survey.source,
        )
        message.status, message.provider_status = OutboxStatus.SENT, status
    db.commit()

    every = survey_results(db, survey).delivery
    assert (every.messages, every.sent, every.delivered, every.read, every.failed) == (
        4,
        4,
        3,
        2,
        1,
    )
    own = survey_results(db, survey, world.partner_a.id).delivery
    assert (own.messages, own.delivered, own.read) == (3, 2, 1)

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/surveys/{survey.id}/results").get_data(as_text=True)
    assert "<dt>Delivered</dt><dd>3</dd>" in page and "<dt>Read</dt><dd>2</dd>" in page
    login_as(client, world.people[Role.PARTNER_MANAGER])
    a = world.partner_a.id
    page = client.get(f"/partners/{a}/surveys/{survey.id}/results").get_data(as_text=True)
    assert "<dt>Delivered</dt><dd>2</dd>" in page and "<dt>Read</dt><dd>1</dd>" in page
