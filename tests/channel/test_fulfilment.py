"""Gift cards ordered from the provider (a local fake of its HTTP API) by the worker job."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.fulfilment import apply_webhook, place_next, poll_next
from channel.giftcard_models import GiftCardOrder, OrderState, ProviderProduct
from channel.giftcard_provider import GiftCardProvider, signature
from channel.ledger import EntryKind, LedgerEntry
from channel.postings import balance_of, check_balances, person_account
from channel.rewards import Redemption, RedemptionRefused, Reward, redeem
from core.db import get_session, utcnow
from messaging.models import OutboxMessage
from roles.permissions import Role
from tests.builders import build_world, login_as, offered
from tests.channel.test_rewards import give
from tests.giftcard_server import API_KEY, fake_provider

SECRET = "webhook-secret"


@pytest.fixture
def fake():
    with fake_provider() as provider:
        yield provider


def card_reward(db, product="FUEL-20", price=100, stock=None):
    item = offered(Reward(kind="gift_card", name="Fuel card", points_price=price, stock=stock))
    db.add(item)
    db.flush()
    db.add(ProviderProduct(reward_id=item.id, product=product))
    db.flush()
    return item


def messages_to(db, person, kind):
    return db.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.person_id == person.id, OutboxMessage.kind == kind
        )
    )


def later(minutes=30):
    return utcnow() + timedelta(minutes=minutes)


def test_redeeming_leaves_one_pending_order_and_the_request_twice_still_one(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    item = card_reward(db)
    first = redeem(db, seller, item, request_key="card-1")
    again = redeem(db, seller, item, request_key="card-1")
    assert first.id == again.id and first.status == "requested"
    orders = db.scalars(select(GiftCardOrder)).all()
    assert [(o.redemption_id, o.state) for o in orders] == [(first.id, OrderState.PENDING)]
    assert balance_of(db, person_account(seller.id)) == (0, 200)


def test_placed_once_when_the_answer_is_lost_or_the_worker_dies_mid_call(app, db, world, fake):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redemption = redeem(db, seller, card_reward(db), request_key="card-1")
    provider = GiftCardProvider(fake.base_url, API_KEY)
    # The provider makes the card, but the answer never arrives: the order waits.
    fake.drop_next_answer = True
    order = place_next(db, provider)
    assert (order.state, order.attempts) == (OrderState.PENDING, 1)
    assert place_next(db, provider) is None  # not due again yet
    # The worker dies after the provider answered, before it committed: nothing kept.
    with app.app_context():
        savepoint = db.begin_nested()
        assert place_next(db, provider, now=later()).state == OrderState.FULFILLED
        savepoint.rollback()
    db.expire_all()
    assert db.get(GiftCardOrder, order.id).state == OrderState.PENDING
    with app.app_context():
        order = place_next(db, provider, now=later())
    assert order.state == OrderState.FULFILLED and order.code == "CARD-o1"
    assert len(fake.orders) == 1
    assert [key for _, key in fake.by_key.items()] == ["o1"]
    assert set(fake.by_key) == {f"redemption-{redemption.id}"}
    assert db.get(Redemption, redemption.id).gift_card_code == "CARD-o1"
    assert messages_to(db, seller, "gift_card_delivered") == 1


def test_provider_down_for_minutes_orders_wait_and_go_later(app, db, world, fake):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    item = card_reward(db)
    first = redeem(db, seller, item, request_key="a")
    second = redeem(db, seller, item, request_key="b")
    provider = GiftCardProvider(fake.base_url, API_KEY)
    fake.down = True
    now = utcnow()
    for minute in range(0, 10, 2):
        while place_next(db, provider, now=now + timedelta(minutes=minute)) is not None:
            pass
    states = db.scalars(select(GiftCardOrder.state)).all()
    assert states == [OrderState.PENDING, OrderState.PENDING]
    assert fake.orders == {}
    fake.down = False
    with app.app_context():
        while place_next(db, provider, now=later(60)) is not None:
            pass
    assert {db.get(Redemption, r.id).status for r in (first, second)} == {"fulfilled"}
    assert len(fake.orders) == 2
    assert balance_of(db, person_account(seller.id)) == (0, 100)


def test_provider_refuses_points_refunded_with_reason_and_person_told(app, db, world, fake):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redemption = redeem(db, seller, card_reward(db, product="GONE"), request_key="x")
    fake.refused["GONE"] = "product discontinued"
    with app.app_context():
        order = place_next(db, GiftCardProvider(fake.base_url, API_KEY))
    assert order.state == OrderState.FAILED and order.reason == "product discontinued"
    assert db.get(Redemption, redemption.id).status == "cancelled"
    assert balance_of(db, person_account(seller.id)) == (0, 300)
    refund = db.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND))
    assert refund.points == 100 and "product discontinued" in refund.memo
    assert check_balances(db) == []
    assert messages_to(db, seller, "fulfilment_failed") == 1
    # Told again (a late webhook), nothing moves twice.
    order.provider_order_id = "late"
    with app.app_context():
        apply_webhook(db, {"id": "late", "status": "failed", "reason": "again"})
    assert balance_of(db, person_account(seller.id)) == (0, 300)
    assert messages_to(db, seller, "fulfilment_failed") == 1


def test_a_wrong_api_key_is_a_refusal_not_a_card(app, db, world, fake):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redeem(db, seller, card_reward(db), request_key="k")
    with app.app_context():
        order = place_next(db, GiftCardProvider(fake.base_url, "wrong"))
    assert order.state == OrderState.FAILED and fake.orders == {}
    assert balance_of(db, person_account(seller.id)) == (0, 300)


def test_a_card_delivered_later_arrives_by_polling(app, db, world, fake):
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redeem(db, seller, card_reward(db), request_key="p")
    provider = GiftCardProvider(fake.base_url, API_KEY)
    fake.deliver_later = True
    order = place_next(db, provider)
    assert (order.state, order.provider_order_id) == (OrderState.PLACED, "o1")
    assert poll_next(db, provider, now=later()).state == OrderState.PLACED
    fake.deliver("o1")
    with app.app_context():
        assert poll_next(db, provider, now=later(60)).state == OrderState.FULFILLED
    assert order.code == "CARD-o1"


def _webhook(client, body: bytes, sig: str | None):
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["X-Signature"] = sig
    return client.post("/fulfilment/gift-cards/webhook", data=body, headers=headers)


def test_the_signed_webhook_delivers_and_an_unsigned_one_is_refused(app, client, db, world, fake):
    app.config["GIFTCARD_WEBHOOK_SECRET"] = SECRET
    seller = world.people[Role.SELLER]
    give(db, seller, 300)
    redemption = redeem(db, seller, card_reward(db), request_key="w")
    fake.deliver_later = True
    place_next(db, GiftCardProvider(fake.base_url, API_KEY))
    db.commit()
    body = json.dumps(fake.deliver("o1")).encode()
    assert _webhook(client, body, None).status_code == 403
    assert _webhook(client, body, signature("other", body)).status_code == 403
    forged = json.dumps({"id": "o1", "status": "fulfilled", "code": "FORGED"}).encode()
    assert _webhook(client, forged, signature(SECRET, body)).status_code == 403
    unknown = b'{"id": "nope", "status": "fulfilled", "code": "X"}'
    assert _webhook(client, unknown, signature(SECRET, unknown)).status_code == 404
    assert _webhook(client, b"[]", signature(SECRET, b"[]")).status_code == 400
    assert db.get(Redemption, redemption.id).status == "requested"
    assert _webhook(client, body, signature(SECRET, body)).status_code == 204
    assert _webhook(client, body, signature(SECRET, body)).status_code == 204
    db.expire_all()
    assert db.get(Redemption, redemption.id).gift_card_code == "CARD-o1"
    assert messages_to(db, seller, "gift_card_delivered") == 1
    login_as(client, seller)
    assert "CARD-o1" in client.get("/rewards/").get_data(as_text=True)


def test_no_secret_configured_refuses_every_webhook(app, client, db):
    app.config["GIFTCARD_WEBHOOK_SECRET"] = None
    body = b'{"id": "o1", "status": "fulfilled", "code": "X"}'
    assert _webhook(client, body, signature("", body)).status_code == 403


def test_concurrent_redemptions_of_a_provider_card_then_one_order_each(committed_app):
    from roles.models import Person

    app = committed_app
    attempts = 200 if app.config["DATABASE_URL"].startswith("postgresql") else 50
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        seller = world.people[Role.SELLER]
        give(db, seller, 1000, key="seed:cards")
        item = card_reward(db, price=30, stock=20)
        db.commit()
        seller_id, reward_id = seller.id, item.id
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start = threading.Barrier(min(attempts, 50))
    outcomes, failures = [], []

    def attempt(n):
        if n < 50:
            start.wait()
        try:
            with app.app_context(), factory() as session:
                person = session.get(Person, seller_id)
                try:
                    redeem(session, person, session.get(Reward, reward_id), request_key=f"c:{n}")
                    session.commit()
                    outcomes.append("redeemed")
                except RedemptionRefused:
                    session.rollback()
                    outcomes.append("refused")
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert outcomes.count("redeemed") == 20

    with fake_provider() as fake:
        provider = GiftCardProvider(fake.base_url, API_KEY)

        def work():
            try:
                with app.app_context(), factory() as session:
                    while place_next(session, provider) is not None:
                        session.commit()
                    session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(repr(error))

        workers = [threading.Thread(target=work) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    assert failures == []
    assert len(fake.orders) == 20
    with factory() as session:
        states = session.scalars(select(GiftCardOrder.state)).all()
        assert sorted(states) == [OrderState.FULFILLED] * 20
        assert session.get(Reward, reward_id).stock == 0
        assert balance_of(session, person_account(seller_id)) == (0, 1000 - 20 * 30)
        assert check_balances(session) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe not json",
        b"{",
        b'"text"',
        b'{"id": null, "status": "fulfilled"}',
        b'{"id": "o1", "status": "stolen", "code": "X"}',
        b'{"id": {"$ne": 1}, "status": "fulfilled"}',
        b'{"id": "o1\\u0000", "status": "fulfilled", "code": "X"}',
        b"[" * 5000 + b"]" * 5000,
        b"x" * (17 * 1024),
    ],
)
def test_hostile_signed_webhook_bodies_change_nothing_and_never_fail(app, client, db, body):
    app.config["GIFTCARD_WEBHOOK_SECRET"] = SECRET
    status = _webhook(client, body, signature(SECRET, body)).status_code
    assert status in (400, 404, 413)
    assert db.scalar(select(func.count(GiftCardOrder.id))) == 0


def test_generated_signed_webhook_bodies_never_fail_nor_deliver(app, client, db):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    app.config["GIFTCARD_WEBHOOK_SECRET"] = SECRET
    values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=300))
    bodies = st.one_of(
        st.binary(max_size=2000),
        st.dictionaries(st.sampled_from(["id", "status", "code", "reason"]), values).map(
            lambda d: json.dumps(d).encode()
        ),
    )

    @settings(deadline=None)
    @given(body=bodies)
    def send(body):
        status = _webhook(client, body, signature(SECRET, body)).status_code
        assert status in (400, 404, 413)

    send()
    assert db.scalar(select(func.count(GiftCardOrder.id))) == 0
