"""The liability counts points redeemed but not yet delivered: they are still owed."""

from datetime import timedelta
from decimal import Decimal

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel.fulfilment import apply_answer, order_of
from channel.giftcard_provider import ProviderOrder
from channel.rewards import redeem
from core.db import utcnow
from roles.permissions import Role
from tests.builders import login_as
from tests.channel.test_fulfilment import card_reward
from tests.channel.test_rewards import give

CENT = Decimal("0.01")


def window(days_after=1):
    now = utcnow()
    return now - timedelta(days=400), now + timedelta(days=days_after)


def test_a_pending_gift_card_order_stays_in_the_liability_until_delivered(app, db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    before = cd.points_summary(db, *window(), CENT)
    assert (before.outstanding, before.pending_fulfilment, before.liability) == (
        300,
        0,
        Decimal("3.00"),
    )
    redemption = redeem(db, seller, card_reward(db, price=120), request_key="card-owed")
    assert redemption.status == "requested"
    owed = cd.points_summary(db, *window(), CENT)
    assert (owed.outstanding, owed.pending_fulfilment, owed.liability) == (
        180,
        120,
        Decimal("3.00"),
    )
    mine = cd.points_summary(db, *window(), CENT, d.Filters(partner_id=world.partner_a.id))
    others = cd.points_summary(db, *window(), CENT, d.Filters(partner_id=world.partner_b.id))
    assert (mine.pending_fulfilment, others.pending_fulfilment) == (120, 0)
    # A period that ended before the redemption owed nothing for it.
    start, _ = window()
    assert cd.points_summary(db, start, redemption.created_at, CENT).pending_fulfilment == 0

    with app.app_context():
        apply_answer(db, order_of(db, redemption.id), ProviderOrder("o1", "fulfilled", "CODE-1"))
    delivered = cd.points_summary(db, *window(), CENT)
    assert (delivered.outstanding, delivered.pending_fulfilment, delivered.liability) == (
        180,
        0,
        Decimal("1.80"),
    )
    # Read as of a moment between the redemption and its delivery, it was still owed then.
    between = redemption.decided_at - timedelta(microseconds=1)
    assert cd.points_summary(db, start, between, CENT).pending_fulfilment == 120


def test_the_dashboard_and_its_points_export_show_what_is_still_to_deliver(app, client, db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redeem(db, seller, card_reward(db, price=120), request_key="card-shown")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Redeemed, not yet delivered" in page
    export = client.get("/dashboard/export/points.csv").get_data(as_text=True)
    assert "pending_fulfilment,120" in export
    assert "liability,3.00" in export
