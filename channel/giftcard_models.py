"""Gift cards bought from a provider at redemption: which rewards are, and one order per redemption.

Kept apart from `channel.rewards` (which only asks `provider_product_of` at the hand-off) so
that `channel.fulfilment` may import both without a cycle.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.states import State, one_of


class OrderState(State):
    PENDING = "pending", _l("Waiting to be ordered")
    PLACED = "placed", _l("Ordered from the provider")
    FULFILLED = "fulfilled", _l("Delivered")
    FAILED = "failed", _l("Failed, points refunded")


class ProviderProduct(Base):
    """A gift card reward the provider sells: ordered at redemption instead of taken from
    pre-loaded codes."""

    __tablename__ = "provider_products"

    reward_id: Mapped[int] = mapped_column(
        ForeignKey("rewards.id", ondelete="CASCADE"), primary_key=True
    )
    #: The provider's product code (its catalogue's SKU).
    product: Mapped[str] = mapped_column(String(100))


class GiftCardOrder(Base):
    """The provider order of one redemption; the redemption's id is its idempotency key, so
    however often it is sent the provider makes one card."""

    __tablename__ = "gift_card_orders"
    __table_args__ = (one_of("state", OrderState),)

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(
        ForeignKey("redemptions.id", ondelete="RESTRICT"), unique=True
    )
    product: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default=OrderState.PENDING, index=True)
    #: Tries that met a provider that was down or answered an error it may not mean.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    provider_order_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    code: Mapped[str | None] = mapped_column(String(200))
    #: Why it failed for good, as the provider said it (also the refund's memo).
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def idempotency_key(self) -> str:
        return f"redemption-{self.redemption_id}"


def provider_product_of(session: Session, reward_id: int) -> str | None:
    """The provider's product code of a reward it fulfils, else None."""
    return session.scalar(
        select(ProviderProduct.product).where(ProviderProduct.reward_id == reward_id)
    )
