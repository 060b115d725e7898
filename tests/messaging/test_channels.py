"""Templates per kind, role, channel and language; e-mail over SMTP; the in-app inbox."""

import re
import socket
from datetime import UTC, datetime
from functools import partial

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale
from sqlalchemy import select

from core.db import utcnow
from core.i18n import force_timezone
from messaging.commands import command_word
from messaging.compose import notify, primary_role, render_each, render_for, template_names
from messaging.consent import set_consent
from messaging.delivery import deliver_next
from messaging.message_html import linked_text
from messaging.models import OutboxMessage, Tip
from messaging.outbox import enqueue
from messaging.segments import count_segments
from messaging.transports import PermanentFailure, SmtpTransport, TransientFailure
from roles.people import PersonDetails, Placement, save_person
from roles.permissions import PARTNER_ROLES, Role
from tests.builders import login_as, make_person


def test_the_most_specific_template_wins():
    assert template_names("welcome", "seller", "whatsapp") == [
        "messaging/welcome/seller.whatsapp.txt",
        "messaging/welcome/whatsapp.txt",
        "messaging/welcome/seller.sms.txt",
        "messaging/welcome/sms.txt",
        "messaging/welcome/seller.txt",
        "messaging/welcome/message.txt",
    ]


def test_a_person_with_several_roles_gets_the_field_roles_text(db, world):
    person = make_person(db, world.partner_a, roles=("seller", "technician"))
    assert primary_role(person) == "technician"


@pytest.mark.parametrize(
    ("role", "words"),
    [
        ("seller", "every product you sell"),
        ("technician", "text CLAIM and the serial number"),
        ("engineer", "text CLAIM and the serial number"),
        ("procurement", "orders and for paying early"),
        ("partner_manager", "only after you approve them"),
    ],
)
def test_each_role_gets_its_own_words(app, db, world, role, words):
    person = make_person(db, world.partner_a, roles=(role,), full_name="Anna Ozola")
    with app.app_context():
        rendered = render_for(person, "welcome", "sms")
    assert words in rendered.body and "Anna" in rendered.body and "Ozola" not in rendered.body


@pytest.mark.parametrize(
    ("language", "words", "encoding"),
    [
        ("en", "Welcome to PartnerLift", "GSM-7"),
        ("lv", "Laipni lūdzam", "UCS-2"),
        ("ru", "Добро пожаловать", "UCS-2"),
        ("he", "ברוכים הבאים", "UCS-2"),
    ],
)
def test_messages_are_written_in_the_recipients_language(app, db, world, language, words, encoding):
    person = make_person(db, world.partner_a, roles=("seller",), language=language)
    with app.app_context():
        rendered = render_for(person, "welcome", "sms")
    assert words in rendered.body
    assert rendered.segments.encoding == encoding


def test_e_mail_has_a_subject_in_the_persons_language(app, db, world):
    person = make_person(db, world.partner_a, roles=("partner_manager",), language="pl")
    with app.app_context():
        rendered = render_for(person, "welcome", "email")
    assert rendered.subject == "Witamy w PartnerLift"


def test_a_new_person_is_welcomed_on_their_channel_in_their_words(app, db, world):
    with app.app_context():
        person = save_person(
            db,
            PersonDetails(
                full_name="Jānis Bērziņš", phone="+37126001234", roles=["technician"], language="lv"
            ),
            Placement.at(world.partner_a, assignable=PARTNER_ROLES, phone_region="LV"),
        )
    (welcome,) = db.scalars(select(OutboxMessage).where(OutboxMessage.person_id == person.id))
    assert (welcome.kind, welcome.channel, welcome.recipient) == ("welcome", "sms", "+37126001234")
    assert welcome.body.startswith("Laipni lūdzam PartnerLift, Jānis!")
    # Latvian letters need UCS-2: 67 characters a segment once split.
    assert welcome.segments == count_segments(welcome.body).segments == 3


def test_notify_skips_channels_the_person_cannot_be_reached_on(app, db, world):
    person = make_person(db, world.partner_a, preferred_channel="sms", email="e@example.com")
    set_consent(db, person.id, "sms", opted_out=True, source="profile")
    with app.app_context():
        message = notify(db, person, "welcome")
    assert (message.channel, message.recipient) == ("email", "e@example.com")
    assert message.subject == "Welcome to PartnerLift"


# ---------------------------------------------------------------- e-mail over SMTP


class Mailbox:
    def __init__(self):
        self.messages, self.refuse = [], None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8")))
        return "250 Message accepted"


@pytest.fixture
def mailbox():
    box = Mailbox()
    with socket.socket() as probe:  # a free port for the local SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


def test_e_mail_goes_out_over_smtp(db, world, mailbox):
    person = make_person(db, world.partner_a, email="mara@example.com")
    message = enqueue(
        db,
        person_id=person.id,
        channel="email",
        recipient="mara@example.com",
        kind="t",
        subject="Your points",
        body="You have 120 points. Jūsu punkti: 120.",
    )
    transport = SmtpTransport(mailbox.url, "PartnerLift <no-reply@example.com>")
    sent = deliver_next(db, transport, now=utcnow())
    assert sent.id == message.id and sent.status == "sent" and sent.provider_id
    ((recipients, content),) = mailbox.messages
    assert recipients == ["mara@example.com"]
    assert (
        "Subject: Your points" in content and "From: PartnerLift <no-reply@example.com>" in content
    )


@pytest.mark.parametrize(
    ("answer", "failure"),
    [("550 No such user", PermanentFailure), ("451 Try again later", TransientFailure)],
)
def test_smtp_refusals_are_permanent_or_transient_by_their_code(
    db, world, mailbox, answer, failure
):
    mailbox.refuse = answer
    transport = SmtpTransport(mailbox.url, "no-reply@example.com")
    message = OutboxMessage(id=1, channel="email", recipient="x@example.com", subject="s", body="b")
    with pytest.raises(failure, match=answer[:3]):
        transport.send(message)


def test_an_unreachable_smtp_server_is_a_transient_failure():
    transport = SmtpTransport("smtp://127.0.0.1:1", "no-reply@example.com", timeout=1)
    message = OutboxMessage(id=1, channel="email", recipient="x@example.com", subject="s", body="b")
    with pytest.raises(TransientFailure):
        transport.send(message)


def test_a_malformed_smtp_url_is_refused_clearly():
    with pytest.raises(RuntimeError, match="SMTP_URL"):
        SmtpTransport("mail.example.com", "no-reply@example.com")


# ---------------------------------------------------------------- the in-app inbox


def test_the_inbox_shows_a_persons_own_messages_and_marks_them_read(client, db, world):
    technician, seller = world.people[Role.TECHNICIAN], world.people[Role.SELLER]
    for person, body in ((technician, "Your install earned 50 points"), (seller, "Not yours")):
        enqueue(
            db, person_id=person.id, channel="inapp", recipient=str(person.id), kind="t", body=body
        )
    db.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.channel == "inapp")
        .values(status="sent", sent_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    )
    db.commit()
    login_as(client, technician)
    home = client.get("/me").get_data(as_text=True)
    assert 'class="badge"' in home  # one unread message
    page = client.get("/messaging/inbox").get_data(as_text=True)
    assert "Your install earned 50 points" in page and "Not yours" not in page
    assert "<strong>New</strong>" in page
    again = client.get("/messaging/inbox").get_data(as_text=True)
    assert "<strong>New</strong>" not in again and 'class="badge"' not in again


def test_addresses_in_in_app_messages_are_left_to_right_links_and_nothing_else_is_markup(
    client, db, world
):
    technician = world.people[Role.TECHNICIAN]
    technician.language = "he"
    body = (
        "הנקודות שלך: https://partnerlift.example/rewards/. גם /claims/mine "
        '<script>alert(1)</script> <a href="javascript:alert(2)">x</a> javascript:alert(3)'
    )
    enqueue(
        db,
        person_id=technician.id,
        channel="inapp",
        recipient=str(technician.id),
        kind="t",
        body=body,
    )
    db.execute(OutboxMessage.__table__.update().values(status="sent", sent_at=utcnow()))
    db.commit()
    login_as(client, technician)
    page = client.get("/messaging/inbox").get_data(as_text=True)
    assert 'dir="rtl"' in page
    body_html = page[
        page.index('<p class="body" dir="auto">') : page.index(
            "</p>", page.index('<p class="body" dir="auto">')
        )
    ]
    assert re.findall(r"<a [^>]*>", body_html) == [
        '<a href="https://partnerlift.example/rewards/" dir="ltr" rel="noopener noreferrer nofollow">',
        '<a href="/claims/mine" dir="ltr">',
    ]
    assert "<script>" not in body_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in body_html
    assert "&lt;a href=&#34;javascript:alert(2)&#34;&gt;" in body_html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "Decide here: https://pl.example/programs/3/decide.",
            'Decide here: <a href="https://pl.example/programs/3/decide" dir="ltr">'
            "https://pl.example/programs/3/decide</a>.",
        ),
        (
            "(http://other.example/a?b=1&c=2)",
            '(<a href="http://other.example/a?b=1&amp;c=2" dir="ltr" rel="noopener noreferrer'
            ' nofollow">http://other.example/a?b=1&amp;c=2</a>)',
        ),
        (
            "ftp://x.example/f and //other.example/x and 1/2",
            "ftp://x.example/f and //other.example/x and 1/2",
        ),
        (
            'https://pl.example/x"onmouseover="alert(1)',
            '<a href="https://pl.example/x" dir="ltr">https://pl.example/x</a>'
            "&#34;onmouseover=&#34;alert(1)",
        ),
        # Browsers read a backslash as a slash: "/\\host" would lead to another site.
        (
            "/\\evil.example/x and https://pl.example/a\\b",
            '/\\evil.example/x and <a href="https://pl.example/a" dir="ltr">'
            "https://pl.example/a</a>\\b",
        ),
    ],
)
def test_message_links_only_for_http_addresses_and_our_own_paths(text, html):
    assert linked_text(text, "https://pl.example") == html


def test_an_empty_inbox_says_what_will_arrive(client, world):
    login_as(client, world.people[Role.ENGINEER])
    assert "No messages yet" in client.get("/messaging/inbox").get_data(as_text=True)


# ---------------------------------------------------------------- consent on the profile page


def test_a_person_stops_and_restarts_a_channel_on_their_profile(client, db, world):
    from messaging.models import ChannelConsent

    person = world.people[Role.SELLER]
    login_as(client, person)
    form = {"language": "en", "timezone": person.timezone, "preferred_channel": "sms"}
    response = client.post("/profile", data={**form, "stopped_channels": ["whatsapp"]})
    assert response.status_code == 302
    (consent,) = db.scalars(select(ChannelConsent).where(ChannelConsent.person_id == person.id))
    assert (consent.channel, consent.opted_out, consent.source) == ("whatsapp", True, "profile")
    page = client.get("/profile").get_data(as_text=True)
    assert (
        '<input checked id="stopped_channels-1" name="stopped_channels" type="checkbox" value="whatsapp">'
        in page
    )
    client.post("/profile", data=form)
    db.expire_all()
    assert (
        db.scalar(select(ChannelConsent.opted_out).where(ChannelConsent.id == consent.id)) is False
    )


def test_an_unknown_channel_on_the_profile_is_refused(client, db, world):
    person = world.people[Role.SELLER]
    login_as(client, person)
    form = {"language": "en", "timezone": person.timezone, "preferred_channel": "sms"}
    response = client.post("/profile", data={**form, "stopped_channels": ["pigeon"]})
    assert response.status_code == 400


def test_an_empty_profile_post_keeps_the_settings_instead_of_failing(client, db, world):
    person = world.people[Role.SELLER]
    login_as(client, person)
    response = client.post("/profile", data={})
    assert response.status_code == 302
    db.expire_all()
    assert (person.language, person.preferred_channel) == ("en", "sms")


def by_jinja(app, person, kind, channel, context) -> str:
    """The message's text as Jinja and Flask-Babel render it by themselves, for one person."""
    names = template_names(kind, primary_role(person), channel)
    with force_locale(person.language), force_timezone(person.timezone):
        return (
            app.jinja_env.select_template(names)
            .render(
                person=person, command=partial(command_word, language=person.language), **context
            )
            .strip()
        )


def test_messages_rendered_together_read_as_each_one_rendered_alone(app, db, world):
    """render_each enters a language and zone once for all who share them, and picks a role's
    template once: each text is still the one rendered for that person alone."""
    people = [
        make_person(
            db,
            world.partner_a,
            roles=(role,),
            language=language,
            timezone=zone,
            full_name=f"{name} Example",
        )
        for name, (role, language, zone) in zip(
            "ABCDEFG",
            [
                ("seller", "en", "UTC"),
                ("technician", "fa", "Asia/Tehran"),
                ("seller", "en", "Asia/Jerusalem"),
                ("engineer", "ru", "Europe/Riga"),
                ("technician", "en", "UTC"),
                ("procurement", "fa", "Asia/Tehran"),
                ("seller", "lv", "Europe/Riga"),
            ],
            strict=True,
        )
    ]
    for person in people:
        person.email = f"p{person.id}@example.com"
    tip = Tip(language="en", text="Heat pumps need no chimney.", link_url="https://ex.am/hp")
    # 22:30 UTC: already the next day in Jerusalem and Tehran.
    expires = datetime(2027, 1, 1, 22, 30, tzinfo=UTC)
    kinds = [
        ("points_expiring", "sms", lambda n: {"points": n, "expires_on": expires, "url": "u"}),
        (
            "points_earned",
            "sms",
            lambda n: {"tip": tip, "points": n, "available": n * 7, "pending": n % 2 * 40},
        ),
        ("welcome", "email", lambda n: {}),
        ("welcome", "whatsapp", lambda n: {}),
    ]
    with app.app_context():
        for kind, channel, values in kinds:
            messages = [(person, values(n + 1)) for n, person in enumerate(people)]
            together = render_each(kind, channel, messages)
            alone = [render_for(person, kind, channel, **context) for person, context in messages]
            assert together == alone
            assert [text.body for text in together] == [
                by_jinja(app, person, kind, channel, context) for person, context in messages
            ]
            assert len({rendered.body for rendered in together}) == len(people)
        # The same values for two readers of English, in UTC and in Jerusalem:
        context = {"points": 2, "expires_on": expires, "url": "u"}
        both = render_each("points_expiring", "sms", [(people[0], context), (people[2], context)])
        expiring = [rendered.body for rendered in both]
        assert expiring == [
            "2 points expire on 1/1/27. Spend them in the rewards catalog: u",
            "2 points expire on 1/2/27. Spend them in the rewards catalog: u",
        ]
