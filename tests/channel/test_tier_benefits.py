"""Tier benefits kept by channel managers and shown to partner managers; articles for a tier."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from channel.learning import Article, articles_for
from channel.tier_benefits import (
    BenefitDetails,
    BenefitKind,
    TierBenefit,
    add_benefit,
    benefits_of,
    standing_of,
)
from core.db import utcnow
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import login_as, make_tier


@pytest.fixture
def tiers(db, world):
    """Silver and gold; partner A is gold, partner B silver."""
    silver, gold = make_tier(db, "silver", 2), make_tier(db, "gold", 3)
    world.partner_a.tier_id, world.partner_b.tier_id = gold.id, silver.id
    db.commit()
    return silver, gold


def benefit_count(db) -> int:
    return db.scalar(select(func.count(TierBenefit.id)))


def test_each_kind_is_refused_without_what_it_needs_and_nothing_is_saved(db, tiers):
    _, gold = tiers
    with pytest.raises(InvalidInput) as refused:
        add_benefit(db, gold, BenefitDetails(BenefitKind.ACCOUNT_MANAGER))
    assert set(refused.value.errors) == {"contact_name", "contact"}
    with pytest.raises(InvalidInput) as refused:
        add_benefit(db, gold, BenefitDetails(BenefitKind.PRIORITY_SUPPORT, text="24/7"))
    assert set(refused.value.errors) == {"contact"}
    with pytest.raises(InvalidInput) as refused:
        add_benefit(db, gold, BenefitDetails(BenefitKind.EVENT_INVITATION, text="  "))
    assert set(refused.value.errors) == {"text"}
    with pytest.raises(InvalidInput) as refused:
        add_benefit(db, gold, BenefitDetails("free_lunch", text="x" * 301))
    assert set(refused.value.errors) == {"kind", "text"}
    assert benefit_count(db) == 0


def test_a_channel_manager_lists_benefits_and_the_partner_manager_sees_their_tiers(
    client, db, world, tiers
):
    silver, gold = tiers
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    refused = client.post(f"/tiers/{gold.id}/benefits", data={"kind": "account_manager"})
    assert refused.status_code == 400
    assert "Give the account manager" in refused.get_data(as_text=True)
    assert benefit_count(db) == 0
    form = {
        "kind": "account_manager",
        "contact_name": " Dana   Levi ",
        "contact": "dana@example.com",
    }
    assert client.post(f"/tiers/{gold.id}/benefits", data=form).status_code == 302
    invitation = {"kind": "event_invitation", "text": "ISH Frankfurt, March"}
    assert client.post(f"/tiers/{gold.id}/benefits", data=invitation).status_code == 302
    support = {"kind": "priority_support", "contact": "+37120000000"}
    assert client.post(f"/tiers/{silver.id}/benefits", data=support).status_code == 302
    assert [(b.kind, b.details) for b in benefits_of(db, gold.id)] == [
        ("account_manager", "Dana Levi, dana@example.com"),
        ("event_invitation", "ISH Frankfurt, March"),
    ]
    page = client.get("/tiers/").get_data(as_text=True)
    assert "Dana Levi" in page and "+37120000000" in page

    login_as(client, world.people[Role.PARTNER_MANAGER])
    dashboard = client.get(f"/partners/{world.partner_a.id}/dashboard").get_data(as_text=True)
    assert "Dana Levi" in dashboard and "ISH Frankfurt, March" in dashboard
    assert "+37120000000" not in dashboard  # silver's, not gold's
    login_as(client, world.others[Role.PARTNER_MANAGER])
    other = client.get(f"/partners/{world.partner_b.id}/dashboard").get_data(as_text=True)
    assert "+37120000000" in other and "Dana Levi" not in other

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    first = benefits_of(db, gold.id)[0]
    assert client.post(f"/tiers/benefits/{first.id}/remove").status_code == 302
    assert [b.kind for b in benefits_of(db, gold.id)] == ["event_invitation"]


def test_a_partner_manager_cannot_edit_benefits(client, db, world, tiers):
    _, gold = tiers
    login_as(client, world.people[Role.PARTNER_MANAGER])
    form = {"kind": "event_invitation", "text": "A party for us"}
    assert client.post(f"/tiers/{gold.id}/benefits", data=form).status_code == 403
    assert client.get("/tiers/").status_code == 403
    assert benefit_count(db) == 0


def article(db, title, tier=None, until=None):
    item = Article(language="en", title=title, body="Body", tier_id=tier.id if tier else None)
    item.tier_only_until = until
    db.add(item)
    db.flush()
    return item


def test_an_article_for_a_tier_is_hidden_below_it_until_its_early_access_ends(
    client, db, world, tiers
):
    silver, gold = tiers
    now = utcnow()
    everyone = article(db, "For everyone")
    gold_only = article(db, "Gold only", gold)
    early = article(db, "Gold first", gold, until=now + timedelta(days=7))
    opened = article(db, "Gold first, now open", gold, until=now - timedelta(days=1))
    silver_up = article(db, "Silver and above", silver)
    db.commit()

    def titles(partner, at=now):
        return {a.title for a in articles_for(db, "en", standing_of(db, partner.id), at)}

    all_titles = {a.title for a in (everyone, gold_only, early, opened, silver_up)}
    assert titles(world.partner_a) == all_titles
    assert titles(world.partner_b) == {everyone.title, opened.title, silver_up.title}
    later = now + timedelta(days=8)
    assert titles(world.partner_b, later) == {
        everyone.title,
        opened.title,
        early.title,
        silver_up.title,
    }
    world.partner_b.tier_id = None  # below every tier
    db.flush()
    assert titles(world.partner_b) == {everyone.title, opened.title}

    login_as(client, world.others[Role.TECHNICIAN])
    listed = client.get("/learn/").get_data(as_text=True)
    assert "For everyone" in listed and "Gold only" not in listed
    assert client.get(f"/learn/{gold_only.id}").status_code == 404
    assert client.get(f"/learn/{opened.id}").status_code == 200
    login_as(client, world.people[Role.TECHNICIAN])
    assert client.get(f"/learn/{gold_only.id}").status_code == 200
    assert "Gold only" in client.get("/learn/").get_data(as_text=True)


def test_the_editor_limits_an_article_to_a_tier_with_early_access(client, db, world, tiers):
    _, gold = tiers
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = {
        "title": "Launch notes",
        "language": "en",
        "product_group_id": "",
        "body": "New range.",
        "quiz": "",
        "published": "y",
        "tier_id": str(gold.id),
        "tier_only_until": "2999-12-31",
    }
    assert client.post("/learn/manage/new", data=form).status_code == 302
    saved = db.scalar(select(Article).where(Article.title == "Launch notes"))
    assert saved.tier_id == gold.id
    assert saved.tier_only_until.year == 2999  # the start of that day in the editor's zone
    too_far = {**form, "title": "Too far", "tier_only_until": "3000-01-01"}
    assert client.post("/learn/manage/new", data=too_far).status_code == 400
    no_tier = {**form, "title": "No tier", "tier_id": "", "tier_only_until": "2030-01-01"}
    answer = client.post("/learn/manage/new", data=no_tier)
    assert answer.status_code == 400
    assert "Early access needs the tier" in answer.get_data(as_text=True)
    assert db.scalar(select(func.count(Article.id))) == 1


def test_the_demo_lists_its_tiers_benefits_once(db):
    from channel.demo_tiers import seed_demo_tier_benefits

    silver, gold = make_tier(db, "silver", 2), make_tier(db, "gold", 3)
    assert seed_demo_tier_benefits(db) == 7
    assert seed_demo_tier_benefits(db) == 0
    assert [b.kind for b in benefits_of(db, gold.id)][0] == BenefitKind.ACCOUNT_MANAGER
    assert len(benefits_of(db, silver.id)) == 2


def test_a_program_for_a_tier_is_offered_below_it_only_after_its_early_access(
    client, db, world, tiers
):
    from channel.approvals import programs_for_partner
    from channel.programs import targeted_partners
    from tests.builders import add_scheme, make_program, offer

    _, gold = tiers
    program = make_program(db, partners=[world.partner_a, world.partner_b], name="Gold first")
    program.min_tier_id = gold.id
    program.tier_only_until = utcnow() + timedelta(days=7)
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    db.commit()
    assert program in programs_for_partner(db, world.partner_a)
    assert program not in programs_for_partner(db, world.partner_b)
    assert targeted_partners(db, program) == [world.partner_a]
    login_as(client, world.others[Role.PARTNER_MANAGER])
    decision = f"/partners/{world.partner_b.id}/programs/{program.id}"
    assert client.get(decision).status_code == 404
    assert "Gold first" not in client.get(f"/partners/{world.partner_b.id}/programs").get_data(
        as_text=True
    )

    program.tier_only_until = utcnow() - timedelta(seconds=1)  # the early access is over
    db.commit()
    assert program in programs_for_partner(db, world.partner_b)
    assert {p.id for p in targeted_partners(db, program)} == {
        world.partner_a.id,
        world.partner_b.id,
    }
    assert client.get(decision).status_code == 200


def test_the_program_editor_limits_a_program_to_a_tier(client, db, world, tiers):
    from channel.models import Program

    _, gold = tiers
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    terms = {
        "name": "Gold launch",
        "starts_on": "2027-01-01",
        "ends_on": "2027-03-31",
        "currency": "EUR",
        "point_value": "0.01",
        "partner_ids": [world.partner_a.id, world.partner_b.id],
        "min_tier_id": str(gold.id),
        "tier_only_until": "2027-02-01",
    }
    assert client.post("/programs/new", data=terms).status_code == 302
    program = db.scalar(select(Program).where(Program.name == "Gold launch"))
    assert program.min_tier_id == gold.id
    assert program.tier_only_until.date().isoformat() in ("2027-01-31", "2027-02-01")
    form = client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
    assert 'value="2027-02-01"' in form
    refused = client.post(
        "/programs/new",
        data={**terms, "name": "No tier", "min_tier_id": "", "tier_only_until": "2027-02-01"},
    )
    assert refused.status_code == 400
    assert "Early access needs the tier" in refused.get_data(as_text=True)
    assert db.scalar(select(Program.id).where(Program.name == "No tier")) is None
