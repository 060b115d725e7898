"""Sending a campaign: the control group, the rows written, and never the same campaign twice."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from messaging.campaigns.operations import send_campaign
from messaging.campaigns.sending import Prices, is_held_out, preview
from messaging.models import (
    ChannelBlock,
    ChannelConsent,
    ContentTemplate,
    OutboxMessage,
    Treatment,
)
from messaging.policy import address, usable_channels
from messaging.segments import count_segments
from messaging.whatsapp import record_inbound
from roles.models import Person, RoleAssignment
from roles.permissions import Role
from tests.builders import login_as, make_partner, make_person
from tests.messaging.campaigns.helpers import BASE, NOW, make_campaign


def _messages(db, campaign):
    return db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.source == campaign.source)
        .order_by(OutboxMessage.id)
    ).all()


def test_the_hold_out_draw_is_uniform_and_fixed_by_the_seed():
    held = [is_held_out(12345, person_id, 10) for person_id in range(1, 100_001)]
    assert abs(sum(held) / len(held) - 0.10) < 0.005  # ~5 standard deviations
    assert held == [is_held_out(12345, person_id, 10) for person_id in range(1, 100_001)]
    assert held != [is_held_out(54321, person_id, 10) for person_id in range(1, 100_001)]
    assert not any(is_held_out(1, person_id, 0) for person_id in range(1, 1000))


def test_held_out_people_get_nothing_and_the_share_holds_on_a_large_segment(db):
    partner = make_partner(db)
    ids = (
        db.execute(
            insert(Person).returning(Person.id),
            [
                {"partner_id": partner.id, "full_name": f"Big {n}", "phone": f"+3712900{n:04d}"}
                for n in range(2000)
            ],
        )
        .scalars()
        .all()
    )
    db.execute(insert(RoleAssignment), [{"person_id": i, "role": "seller"} for i in ids])
    campaign = make_campaign(db, holdout=20, partner_ids=(partner.id,))
    report = send_campaign(db, campaign, NOW, base_url=BASE)

    treatments = dict(
        db.execute(
            select(Treatment.person_id, Treatment.held_out).where(
                Treatment.source == campaign.source
            )
        ).all()
    )
    assert set(treatments) == set(ids)
    held_out = {p for p, held in treatments.items() if held}
    assert abs(len(held_out) / len(ids) - 0.20) < 0.04  # σ ≈ 0.9 %
    assert report.held_out == len(held_out) and report.messages == len(ids) - len(held_out)
    messaged = [m.person_id for m in _messages(db, campaign)]
    assert sorted(messaged) == sorted(set(ids) - held_out)  # one each, none to the held out
    assert held_out == {i for i in ids if is_held_out(campaign.seed, i, 20)}


def test_rows_are_what_notify_would_write_for_each_person(db, world):
    partner = world.partner_a
    plain = make_person(db, partner, ["seller"], full_name="Jānis Bērziņš")
    whatsapp = make_person(db, partner, ["seller"], preferred_channel="whatsapp")
    stopped = make_person(db, partner, ["seller"], email="stopped@example.com")
    blocked = make_person(db, partner, ["seller"], preferred_channel="whatsapp")
    db.add(ChannelConsent(person_id=stopped.id, channel="sms", opted_out=True, source="sms:STOP"))
    db.add(ChannelBlock(person_id=blocked.id, channel="whatsapp", error_code="63016"))
    db.flush()
    campaign = make_campaign(db, roles=("seller",), partner_ids=(partner.id,))
    send_campaign(db, campaign, NOW, base_url=BASE)
    rows = {m.person_id: m for m in _messages(db, campaign)}
    for person in (plain, whatsapp, stopped, blocked, world.people[Role.SELLER]):
        channel = usable_channels(db, person)[0]
        row = rows[person.id]
        assert (row.channel, row.recipient) == (channel, address(person, channel))
        assert (row.kind, row.category, row.status) == ("campaign", "nudge", "pending")
    assert rows[whatsapp.id].channel == "whatsapp"
    assert rows[stopped.id].channel == "email"
    assert rows[stopped.id].subject == "Spring push"
    assert rows[blocked.id].channel == "sms"
    assert rows[plain.id].body == "Hello Jānis"
    assert rows[plain.id].segments == count_segments("Hello Jānis").segments


def test_each_person_gets_the_text_of_their_language_and_role(db, world):
    partner = world.partner_a
    ru_tech = make_person(db, partner, ["technician"], language="ru")
    ru_seller = make_person(db, partner, ["seller"], language="ru")
    he_tech = make_person(db, partner, ["technician", "seller"], language="he")
    lv_seller = make_person(db, partner, ["seller"], language="lv")
    long_ru = "Привет, {first_name}! " + "Новая акция на котлы. " * 5
    campaign = make_campaign(
        db,
        partner_ids=(partner.id,),
        texts={
            ("en", ""): ("", "Hello {first_name}"),
            ("en", "technician"): ("", "Hello installer {first_name}"),
            ("ru", ""): ("", long_ru),
            ("ru", "technician"): ("", "Монтажник {first_name}"),
            ("he", "technician"): ("", "שלום {full_name}"),
        },
    )
    send_campaign(db, campaign, NOW, base_url=BASE)
    rows = {m.person_id: m for m in _messages(db, campaign)}
    first = {p.id: p.full_name.split()[0] for p in (ru_tech, ru_seller, he_tech, lv_seller)}
    assert rows[ru_tech.id].body == f"Монтажник {first[ru_tech.id]}"
    assert rows[ru_seller.id].body == long_ru.replace("{first_name}", first[ru_seller.id]).strip()
    assert rows[ru_seller.id].segments == count_segments(rows[ru_seller.id].body).segments > 1
    assert rows[he_tech.id].body == f"שלום {he_tech.full_name}"  # technician before seller
    assert rows[lv_seller.id].body == f"Hello {first[lv_seller.id]}"  # no Latvian text: main
    assert rows[world.people[Role.TECHNICIAN].id].body.startswith("Hello installer")


def test_a_person_never_gets_the_same_campaign_twice(db, world):
    campaign = make_campaign(db, roles=("technician",))
    first = send_campaign(db, campaign, NOW, base_url=BASE)
    assert first.messages == 2
    assert send_campaign(db, campaign, NOW, base_url=BASE) is None  # already sent
    campaign.status = "draft"  # even forced to go again, the people it reached are skipped
    late = make_person(db, world.partner_a, ["technician"])
    again = send_campaign(db, campaign, NOW, base_url=BASE)
    assert again.messages == 1
    assert [m.person_id for m in _messages(db, campaign)][-1] == late.id
    per_person = db.execute(
        select(OutboxMessage.person_id, func.count())
        .where(OutboxMessage.source == campaign.source)
        .group_by(OutboxMessage.person_id)
    ).all()
    assert {count for _, count in per_person} == {1}


def test_the_preview_counts_whatsapp_free_text_templates_and_other_channels(app, db, world):
    partner = make_partner(db)
    in_window, by_template, marketing, no_template = (
        make_person(db, partner, ["seller"], preferred_channel="whatsapp", language=language)
        for language in ("en", "lv", "ru", "pl")
    )
    record_inbound(db, in_window.id, NOW - timedelta(hours=3))
    record_inbound(db, by_template.id, NOW - timedelta(hours=30))  # closed a while ago
    for sid, language, category in (("HXlv", "lv", "utility"), ("HXru", "ru", "marketing")):
        db.add(
            ContentTemplate(
                content_sid=sid,
                kind="campaign",
                language=language,
                variables=["first_name", "text"],
                approval="approved",
                category=category,
            )
        )
    db.add(ContentTemplate(content_sid="HXpl", kind="campaign", language="pl", approval="pending"))
    db.flush()
    campaign = make_campaign(db, partner_ids=(partner.id,))
    prices = Prices(
        Decimal("0.05"),
        Decimal("0.01"),
        Decimal("0.001"),
        "EUR",
        {"utility": Decimal("0.02"), "marketing": Decimal("0.06")},
    )
    with app.test_request_context():
        shown = preview(db, campaign, NOW, base_url=BASE, prices=prices)
    assert shown.whatsapp == {"free_text": 1, "template": 2, "elsewhere": 1}
    assert shown.channels == {"whatsapp": 3, "sms": 1}  # no template in Polish: by SMS
    assert {k: (c.messages, c.cost) for k, c in shown.categories.items()} == {
        "": (1, Decimal("0.01")),
        "utility": (1, Decimal("0.02")),
        "marketing": (1, Decimal("0.06")),
    }
    assert shown.cost == Decimal("0.01") + Decimal("0.02") + Decimal("0.06") + Decimal("0.05")
    # The rows written carry the values the templates ask for.
    send_campaign(db, campaign, NOW, base_url=BASE)
    row = next(m for m in _messages(db, campaign) if m.person_id == by_template.id)
    first = by_template.full_name.split()[0]
    assert row.template_values == {"first_name": first, "text": f"Hello {first}"}


def test_the_preview_page_shows_whatsapp_by_template_and_the_cost_per_category(client, db, world):
    partner = make_partner(db)
    make_person(db, partner, ["seller"], preferred_channel="whatsapp", language="lv")
    db.add(
        ContentTemplate(
            content_sid="HXlv",
            kind="campaign",
            language="lv",
            variables=["first_name"],
            approval="approved",
            category="marketing",
        )
    )
    campaign = make_campaign(db, partner_ids=(partner.id,))
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    section = page.split("<h2>WhatsApp</h2>")[1].split("<h2>")[0]
    assert (
        "By template: 1" in section and "Within their 24 hours (free text or buttons): 0" in section
    )
    assert ">Marketing</td>" in section and "€0.06" in section
