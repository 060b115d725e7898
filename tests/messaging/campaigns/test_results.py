"""Tracked links, attribution and results per source, on both databases."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from channel.claim_models import Claim
from channel.ledger import LedgerEntry
from messaging.campaigns.models import LinkClick, TrackedLink
from messaging.campaigns.operations import send_campaign
from messaging.campaigns.results import delivery, engagement, results, trigger_sources, uplifts
from messaging.models import ChannelConsent, InboundMessage, OutboxMessage, Treatment
from roles.permissions import Role
from tests.builders import make_partner, make_person
from tests.messaging.campaigns.helpers import BASE, NOW, make_campaign


def _sent(db, campaign, at=NOW):
    messages = db.scalars(select(OutboxMessage).where(OutboxMessage.source == campaign.source))
    for message in messages:
        message.status, message.sent_at = "sent", at
    db.flush()


def test_links_become_tracked_links_that_record_the_click_and_redirect(client, db, world):
    campaign = make_campaign(
        db,
        roles=("technician",),
        texts={("en", ""): ("", "New manual: https://example.com/manual?lang=en. Read it!")},
    )
    send_campaign(db, campaign, NOW, base_url=BASE)
    db.commit()
    message = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.person_id == world.people[Role.TECHNICIAN].id,
            OutboxMessage.source == campaign.source,
        )
    )
    link = db.scalar(select(TrackedLink).where(TrackedLink.message_id == message.id))
    assert message.body == f"New manual: {BASE}/l/{link.token}. Read it!"
    assert link.target_url == "https://example.com/manual?lang=en"
    response = client.get(f"/l/{link.token}")
    assert response.status_code == 302
    assert response.location == "https://example.com/manual?lang=en"
    assert db.scalar(select(LinkClick.link_id)) == link.id
    assert engagement(db, campaign.source, 7).clicked == 1
    # every message has its own token
    assert len(set(db.scalars(select(TrackedLink.token)))) == 2


def test_an_unknown_token_answers_404_and_redirects_nowhere(client, db):
    for token in ("nope", "https:evil.example", "..%2F..%2Fx"):
        response = client.get(f"/l/{token}")
        assert response.status_code == 404
        assert "Location" not in response.headers
    assert db.scalar(select(LinkClick.id)) is None


def _claim(db, person, at, status="approved"):
    db.add(
        Claim(
            person_id=person.id,
            partner_id=person.partner_id,
            kind="install",
            status=status,
            occurred_on=date(2026, 3, 1),
            serial=f"S-{person.id}-{at.timestamp()}-{status}",
            created_at=at,
        )
    )


def test_replies_opt_outs_and_claims_within_the_window_are_attributed(db, world):
    tech, other = world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]
    campaign = make_campaign(db, roles=("technician",))
    send_campaign(db, campaign, NOW, base_url=BASE)
    _sent(db, campaign)
    day = timedelta(days=1)
    db.add_all(
        [
            InboundMessage(
                message_sid="SM1",
                from_number=tech.phone,
                person_id=tech.id,
                body="BAL",
                command="BAL",
                received_at=NOW + day,
            ),
            InboundMessage(
                message_sid="SM2",
                from_number=other.phone,
                person_id=other.id,
                body="hi",
                received_at=NOW + 8 * day,
            ),
            InboundMessage(
                message_sid="SM3",
                from_number=other.phone,
                person_id=other.id,
                body="hi",
                received_at=NOW - day,
            ),
            ChannelConsent(
                person_id=other.id,
                channel="sms",
                opted_out=True,
                changed_at=NOW + 2 * day,
                source="sms:STOP",
            ),
        ]
    )
    _claim(db, tech, NOW + 2 * day)
    _claim(db, tech, NOW + 6 * day)
    _claim(db, tech, NOW + 7 * day)  # the window is 7 days: the end is outside
    _claim(db, other, NOW + 3 * day, status="rejected")
    _claim(db, other, NOW - day)
    db.flush()
    result = engagement(db, campaign.source, 7)
    assert (result.people_messaged, result.replied, result.opted_out) == (2, 1, 1)
    assert (result.claims, result.claimants) == (2, 1)
    assert delivery(db, campaign.source).sent == 2


def test_uplift_on_a_constructed_population_with_a_known_answer(db):
    """Ten treated people with 2 claims and 30 points each, ten held out with 1 claim and
    10 points each, plus activity outside the window that must not count."""
    partner = make_partner(db)
    source = "trigger:test_uplift"
    day = timedelta(days=1)
    for n in range(20):
        person = make_person(db, partner, ["seller"])
        held_out = n % 2 == 1
        db.add(Treatment(source=source, person_id=person.id, held_out=held_out, at=NOW))
        claims = 1 if held_out else 2 + (n % 4 == 0) - (n % 4 == 2)  # treated: 3, 1, 3, 1, …
        for k in range(claims):
            _claim(db, person, NOW + (k + 1) * day)
        _claim(db, person, NOW + 20 * day)  # after the 14-day window
        _claim(db, person, NOW - day)  # before the treatment
        points = 10 if held_out else 30
        db.add(
            LedgerEntry(
                posting_key=f"p{n}",
                account_key=f"person:{person.id}",
                kind="earn",
                points=points,
                partner_id=partner.id,
                person_id=person.id,
                created_at=NOW + day,
                month="2026-03",
            )
        )
        db.add(
            LedgerEntry(
                posting_key=f"r{n}",
                account_key=f"person:{person.id}",
                kind="redeem",
                points=-5,
                partner_id=partner.id,
                person_id=person.id,
                created_at=NOW + day,
                month="2026-03",
            )
        )
    db.flush()
    claims, points = uplifts(db, source, 14)
    assert (claims.treated.n, claims.control.n) == (10, 10)
    assert claims.treated.mean == 2.0 and claims.control.mean == 1.0
    assert claims.difference == pytest.approx(1.0)
    # treated claims are 3,1,3,1,… : variance 10/9; control has none. SE = √(10/9/10).
    se = (10 / 9 / 10) ** 0.5
    assert claims.low == pytest.approx(1 - 1.959964 * se, abs=1e-5)
    assert claims.high == pytest.approx(1 + 1.959964 * se, abs=1e-5)
    assert points.difference == pytest.approx(20.0)
    assert points.low == points.high == pytest.approx(20.0)  # no variance in either group
    assert trigger_sources(db) == [source]
    summary = results(db, source, window_days=7, uplift_days=14)
    assert (summary.treated, summary.held_out) == (10, 10)
