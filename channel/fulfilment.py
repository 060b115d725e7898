"""Gift cards ordered from the provider after redemption, by the worker, never in a request.

`redeem` leaves one pending `GiftCardOrder` per redemption of a provider's card. `place_next`
sends the oldest due one (the redemption is its idempotency key, so a retry after a crash or a
timeout gets the provider's same order back); a provider that is down leaves it pending for a
later try. `poll_next` asks about placed ones; the provider's webhook lands in `apply_webhook`.
A card delivered reaches the person in-app and through `fulfilment_done`; an order refused for
good refunds the points by a reversing entry with the reason and raises `fulfilment_failed`,
through `fail_for_good`, which goods and cash-outs that cannot be delivered go through too.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.giftcard_models import GiftCardOrder, OrderState
from channel.giftcard_provider import (
    GiftCardProvider,
    ProviderOrder,
    ProviderUnavailable,
    parse_order,
)
from channel.rewards import Redemption, RedemptionStatus, cancel_redemption
from channel.signals import fulfilment_done, fulfilment_failed
from core.db import utcnow
from roles.models import Person

#: The wait before the next try grows with the tries, up to this.
MAX_BACKOFF = timedelta(minutes=15)
#: A placed order is asked about again after this.
POLL_EVERY = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=15 * 2 ** min(attempts, 10)), MAX_BACKOFF)


def _due(session: Session, state: OrderState, now: datetime) -> GiftCardOrder | None:
    stmt = (
        select(GiftCardOrder)
        .where(GiftCardOrder.state == state, GiftCardOrder.next_attempt_at <= now)
        .order_by(GiftCardOrder.next_attempt_at, GiftCardOrder.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        # Two workers never send the same order at once; each takes the next free one.
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def place_next(
    session: Session, provider: GiftCardProvider, now: datetime | None = None
) -> GiftCardOrder | None:
    """Send the oldest due pending order to the provider; None when none is due."""
    now = now or utcnow()
    order = _due(session, OrderState.PENDING, now)
    if order is None:
        return None
    try:
        answer = provider.place(idempotency_key=order.idempotency_key, product=order.product)
    except ProviderUnavailable as error:
        _later(order, now, str(error))
    else:
        apply_answer(session, order, answer)
    session.flush()
    return order


def poll_next(
    session: Session, provider: GiftCardProvider, now: datetime | None = None
) -> GiftCardOrder | None:
    """Ask the provider about the placed order asked about longest ago; None when none is due."""
    now = now or utcnow()
    order = _due(session, OrderState.PLACED, now)
    if order is None:
        return None
    try:
        answer = provider.status(order.provider_order_id)
    except ProviderUnavailable as error:
        _later(order, now, str(error))
    else:
        apply_answer(session, order, answer)
        order.next_attempt_at = now + POLL_EVERY
    session.flush()
    return order


def _later(order: GiftCardOrder, now: datetime, error: str) -> None:
    order.attempts += 1
    order.next_attempt_at = now + backoff(order.attempts)
    order.reason = error[:500]
    order.updated_at = now


def apply_answer(session: Session, order: GiftCardOrder, answer: ProviderOrder) -> None:
    """Move the order (and its redemption) as the provider's answer says; an order already
    delivered or failed stays as it is, however often it is told again."""
    if order.state not in (OrderState.PENDING, OrderState.PLACED):
        return
    if answer.id and order.provider_order_id is None:
        order.provider_order_id = answer.id
    order.updated_at = utcnow()
    redemption = session.get(Redemption, order.redemption_id)
    if answer.status == "fulfilled":
        order.state = OrderState.FULFILLED
        order.code = answer.code
        order.reason = None
        redemption.status = RedemptionStatus.FULFILLED
        redemption.decided_at = utcnow()
        session.flush()
        fulfilment_done.send(None, session=session, redemption=redemption, code=answer.code)
    elif answer.status == "failed":
        reason = (answer.reason or "refused by the gift card provider")[:500]
        order.state = OrderState.FAILED
        order.reason = reason
        fail_for_good(session, redemption, reason)
    else:
        order.state = OrderState.PLACED
        order.reason = None
    session.flush()


def fail_for_good(session: Session, redemption: Redemption, reason: str) -> None:
    """A redemption that cannot be delivered: its points refunded by a reversing entry whose
    memo holds the reason, and the person told why (`fulfilment_failed`)."""
    cancel_redemption(session, redemption, reason=reason)
    fulfilment_failed.send(None, session=session, redemption=redemption, reason=reason)


class UnknownOrder(LookupError):
    pass


def apply_webhook(session: Session, payload) -> GiftCardOrder:
    """The provider's signed call about one of its orders (the signature checked by the view)."""
    answer = parse_order(payload)
    stmt = select(GiftCardOrder).where(GiftCardOrder.provider_order_id == answer.id)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    order = session.scalar(stmt)
    if order is None:
        raise UnknownOrder(answer.id)
    apply_answer(session, order, answer)
    return order


def order_of(session: Session, redemption_id: int) -> GiftCardOrder | None:
    return session.scalar(select(GiftCardOrder).where(GiftCardOrder.redemption_id == redemption_id))


def pending_fulfilment_points(session: Session, at: datetime | None = None, narrow=None) -> int:
    """Points spent on redemptions not yet delivered: still owed, in goods, cards or cash.

    At `at` (None: now): redeemed before it and neither fulfilled nor cancelled by then.
    `narrow(stmt)` may narrow the statement further; it holds the redeeming `Person`.
    """
    stmt = select(func.coalesce(func.sum(Redemption.points), 0)).join(
        Person, Person.id == Redemption.person_id
    )
    if at is None:
        stmt = stmt.where(Redemption.status == RedemptionStatus.REQUESTED)
    else:
        stmt = stmt.where(
            Redemption.created_at < at,
            (Redemption.status == RedemptionStatus.REQUESTED)
            | (Redemption.decided_at.is_not(None) & (Redemption.decided_at >= at)),
        )
    if narrow is not None:
        stmt = narrow(stmt)
    return int(session.scalar(stmt))
