"""The rewards catalog and redemption: points spent, stock reserved, in one transaction.

`redeem` debits the person's available points through the ledger's one write path and
reserves stock (or hands out one gift-card code) with conditional updates, so many
concurrent redemptions can neither overdraw a balance nor oversell an item. A cancelled
redemption is refunded by a reversing posting and its stock returned.

A reward is redeemed at the price of its offer in the person's partner's country
(`channel.reward_offers`), and refused where it has none. The offer is read in the same
transaction; a price changed or an offer withdrawn while a redemption runs is a race
like the reward's own withdrawal: the redemption pays the price it read.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.giftcard_models import GiftCardOrder, provider_product_of
from channel.ledger import EntryKind
from channel.partner_models import PartnerOrganization
from channel.payout_models import (
    CashOut,
    CashOutState,
    Shipment,
    cash_out_value_of,
    checked_iban,
)
from channel.postings import InsufficientPoints, Line, person_account, post
from channel.reward_categories import CATEGORY_OF_KIND, RewardCategory
from channel.reward_offers import (
    MAX_POINTS_PRICE,
    OfferTerms,
    RewardOffer,
    check_offers,
    check_texts,
)
from channel.signals import reward_redeemed
from core.db import Base, utcnow
from core.errors import InvalidInput
from core.states import State, one_of
from core.tables import too_many_rows
from roles.models import Person


class RewardKind(State):
    GIFT_CARD = "gift_card", _l("Gift card")
    PHYSICAL = "physical", _l("Goods, sent to you")
    TRAINING_SEAT = "training_seat", _l("Training seat")
    DONATION = "donation", _l("Donation in your name")
    CASHOUT = "cashout", _l("Cash-out")


class RedemptionStatus(State):
    REQUESTED = "requested", _l("Requested")
    FULFILLED = "fulfilled", _l("Fulfilled")
    CANCELLED = "cancelled", _l("Cancelled, refunded")


#: Far above any real stock, and far below what its integer column holds.
MAX_STOCK = 1_000_000
#: Codes one file may add: far more than a card's supplier sends at once.
MAX_CODES_PER_FILE = 100_000
#: The length of gift_card_codes.code.
MAX_CODE_LENGTH = 100


def _usual_category(context) -> str:
    """The category of a reward inserted without one: the usual one for its kind."""
    return CATEGORY_OF_KIND[context.get_current_parameters()["kind"]]


class Reward(Base):
    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("points_price > 0", name="price_positive"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_non_negative"),
        one_of("kind", RewardKind),
        one_of("category", RewardCategory),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: What it is to people browsing (`RewardCategory`); the catalog filters by it.
    category: Mapped[str] = mapped_column(String(20), index=True, default=_usual_category)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The usual price: what an offer costs unless it names its own. People pay their
    #: country's offer price (`RewardOffer.points_price`), never this.
    points_price: Mapped[int] = mapped_column(Integer)
    #: Items left; NULL: unlimited. Gift cards count their unused codes instead.
    stock: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Its picture, stored by `channel.uploads` under a random name.
    image: Mapped[str | None] = mapped_column(String(64))
    image_type: Mapped[str | None] = mapped_column(String(32))
    #: The coalition brand that offers and is paid for this reward; None: the manufacturer's own.
    brand_id: Mapped[int | None] = mapped_column(
        ForeignKey("brands.id", ondelete="RESTRICT"), index=True
    )

    texts: Mapped[list["RewardText"]] = relationship(cascade="all, delete-orphan")
    #: The countries it is offered in, each at its own price; nowhere else can it be redeemed.
    offers: Mapped[list[RewardOffer]] = relationship(
        cascade="all, delete-orphan", order_by=RewardOffer.country
    )

    def text_in(self, language: str) -> tuple[str, str]:
        for text in self.texts:
            if text.language == language:
                return text.name, text.description
        return self.name, self.description


class RewardText(Base):
    __tablename__ = "reward_texts"
    __table_args__ = (UniqueConstraint("reward_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class GiftCardCode(Base):
    """One code of a gift card reward, handed out to exactly one redemption."""

    __tablename__ = "gift_card_codes"
    __table_args__ = (UniqueConstraint("reward_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(100))
    #: Set once, when the code is handed out; unique so no code goes out twice.
    redemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("redemptions.id", ondelete="RESTRICT"), unique=True
    )


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (one_of("status", RedemptionStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The client's key for this request: the same key twice redeems once.
    request_key: Mapped[str] = mapped_column(String(100), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    reward_id: Mapped[int] = mapped_column(
        ForeignKey("rewards.id", ondelete="RESTRICT"), index=True
    )
    points: Mapped[int] = mapped_column(Integer)
    #: What it was worth in money where it was redeemed, copied from the country's offer at
    #: the time (a 100 PLN card: 100, "PLN"); NULL: it had none. A later edit of the offer
    #: changes neither this nor `points`. The tax report values the reward at this.
    face_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=RedemptionStatus.REQUESTED)
    shipping_address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    reward: Mapped[Reward] = relationship()
    code: Mapped[GiftCardCode | None] = relationship(
        primaryjoin="GiftCardCode.redemption_id == Redemption.id", viewonly=True, uselist=False
    )
    #: A gift card ordered from the provider (`channel.fulfilment`).
    order: Mapped[GiftCardOrder | None] = relationship(
        primaryjoin="GiftCardOrder.redemption_id == Redemption.id", viewonly=True, uselist=False
    )
    #: Goods handed to a carrier (`channel.shipments`), a cash-out's payment (`channel.payouts`).
    shipment: Mapped[Shipment | None] = relationship(
        primaryjoin="Shipment.redemption_id == Redemption.id", viewonly=True, uselist=False
    )
    cash_out: Mapped[CashOut | None] = relationship(
        primaryjoin="CashOut.redemption_id == Redemption.id", viewonly=True, uselist=False
    )

    @property
    def gift_card_code(self) -> str | None:
        """The card's code, pre-loaded or delivered by the provider; None until there is one."""
        if self.code is not None:
            return self.code.code
        return self.order.code if self.order is not None else None


class RedemptionRefused(InvalidInput):
    """The redemption cannot be made; nothing was spent or reserved."""


@dataclass(frozen=True)
class RewardDetails:
    kind: str
    name: str
    points_price: int
    #: "" or None: the usual category for its kind.
    category: str | None = None
    stock: int | None = None
    description: str = ""
    #: language -> name, for the languages it is translated into.
    names: dict[str, str] | None = None
    #: language -> description, likewise.
    descriptions: dict[str, str] | None = None
    #: The countries it is offered in, with their prices and face values.
    offers: tuple[OfferTerms, ...] = ()
    #: (stored name, MIME type) of a picture already checked by `channel.uploads`.
    image: tuple[str, str] | None = None
    #: False: withdrawn, redeemable nowhere (it stays in the redemptions made).
    active: bool = True
    #: An edit's stock as the editor saw it: the stock changes by the difference from this,
    #: so what is redeemed while the page is open still counts.
    stock_shown: int | None = None


def save_reward(session: Session, details: RewardDetails, existing: Reward | None = None) -> Reward:
    """Add a reward, or edit `existing` (the same checks). An edit changes the offers and
    texts in place; redemptions already made keep the points and face value they were made
    at (`Redemption.points`, `Redemption.face_value`)."""
    errors = {}
    if details.kind not in list(RewardKind):
        errors["kind"] = _l("Choose a kind of reward.")
    elif existing is not None and details.kind != existing.kind:
        errors["kind"] = _l("A reward's kind cannot be changed: add a new reward instead.")
    category = details.category or CATEGORY_OF_KIND.get(details.kind)
    if details.category and details.category not in list(RewardCategory):
        errors["category"] = _l("Choose a category from the list.")
    if not (details.name or "").strip():
        errors["name"] = _l("Give the reward a name.")
    if details.points_price is None or details.points_price <= 0:
        errors["points_price"] = _l("The price must be at least one point.")
    elif details.points_price > MAX_POINTS_PRICE:
        errors["points_price"] = lazy_ngettext(
            "The price can be at most %(num)s point.",
            "The price can be at most %(num)s points.",
            MAX_POINTS_PRICE,
        )
    if details.stock is not None and details.stock < 0:
        errors["stock"] = _l("Stock cannot be negative.")
    elif details.stock is not None and details.stock > MAX_STOCK:
        errors["stock"] = _l("Stock can be at most %(max)s.", max=MAX_STOCK)
    if details.kind == RewardKind.GIFT_CARD and details.stock is not None:
        errors["stock"] = _l("Gift cards count their codes: import codes instead of a stock.")
    usual_price = details.points_price if "points_price" not in errors else None
    offers = check_offers(list(details.offers), usual_price, errors)
    names, descriptions = details.names or {}, details.descriptions or {}
    texts = {
        code: ((names.get(code) or "").strip(), (descriptions.get(code) or "").strip())
        for code in {*names, *descriptions}
    }
    check_texts([offer.country for offer in offers], texts, errors)
    if errors:
        raise InvalidInput(errors)
    reward = existing or Reward()
    if existing is None:
        reward.stock = details.stock
    else:
        _change_stock(session, existing, details.stock_shown, details.stock)
    reward.kind, reward.name = details.kind, details.name.strip()
    reward.category = category
    reward.description = (details.description or "").strip()
    reward.points_price, reward.active = details.points_price, details.active
    # Kept rows are changed in place: a text or offer replaced by a new row would be inserted
    # before the old one is deleted, against their unique keys.
    known_texts = {text.language: text for text in reward.texts}
    reward.texts = [
        _text(known_texts.get(language), language, name or reward.name, description)
        for language, (name, description) in sorted(texts.items())
        if name or description
    ]
    known_offers = {offer.country: offer for offer in reward.offers}
    reward.offers = [_offer(known_offers.get(offer.country), offer) for offer in offers]
    if details.image:
        reward.image, reward.image_type = details.image
    session.add(reward)
    session.flush()
    return reward


def _text(text: "RewardText | None", language: str, name: str, description: str) -> RewardText:
    text = text or RewardText(language=language)
    text.name, text.description = name, description
    return text


def _offer(offer: RewardOffer | None, terms: RewardOffer) -> RewardOffer:
    if offer is None:
        return terms
    offer.points_price, offer.face_value, offer.currency = (
        terms.points_price,
        terms.face_value,
        terms.currency,
    )
    return offer


def _change_stock(session: Session, reward: Reward, shown: int | None, wanted: int | None) -> None:
    """Set an edited reward's stock. From one count to another it moves by the difference
    from what the editor saw, in one conditional update, as redemptions reserve it: the
    redemptions made meanwhile keep their items, and the stock never goes below zero."""
    if wanted is not None and shown is not None and reward.stock is not None:
        change = wanted - shown
        if change:
            moved = session.execute(
                update(Reward)
                .where(Reward.id == reward.id, Reward.stock + change >= 0)
                .values(stock=Reward.stock + change)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not moved:
                raise InvalidInput(
                    {"stock": _l("Fewer are left than that takes away: look at the stock again.")}
                )
            session.expire(reward, ["stock"])
        return
    # Unlimited to a count, or a count to unlimited: nothing is reserved from an unlimited
    # stock, and an unlimited one needs no count.
    session.execute(
        update(Reward)
        .where(Reward.id == reward.id)
        .values(stock=wanted)
        .execution_options(synchronize_session=False)
    )
    session.expire(reward, ["stock"])


def import_codes(session: Session, reward: Reward, text: str) -> tuple[int, int]:
    """Add gift-card codes, one per line; returns (added, already there)."""
    if reward.kind != RewardKind.GIFT_CARD:
        raise InvalidInput({"file": _l("Only gift card rewards take codes.")})
    if text.rstrip("\r\n").count("\n") >= MAX_CODES_PER_FILE:
        raise InvalidInput({"file": too_many_rows(MAX_CODES_PER_FILE)})
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    unusable = [n for n, code in lines if "\x00" in code or len(code) > MAX_CODE_LENGTH]
    if unusable:
        raise InvalidInput(
            {
                "file": _l(
                    "Line %(line)s holds no usable code (at most %(max)s characters, no NUL "
                    "character). Nothing was added.",
                    line=unusable[0],
                    max=MAX_CODE_LENGTH,
                )
            }
        )
    codes = list(dict.fromkeys(code for _, code in lines if code))
    known = set(
        session.scalars(select(GiftCardCode.code).where(GiftCardCode.reward_id == reward.id))
    )
    new = [c for c in codes if c not in known]
    session.add_all(GiftCardCode(reward_id=reward.id, code=c) for c in new)
    session.flush()
    return len(new), len(codes) - len(new)


def codes_left(session: Session, reward: Reward) -> int:
    return session.scalar(
        select(func.count(GiftCardCode.id)).where(
            GiftCardCode.reward_id == reward.id, GiftCardCode.redemption_id.is_(None)
        )
    )


def redeem(
    session: Session,
    person,
    reward: Reward,
    *,
    request_key: str,
    shipping_address: str | None = None,
    iban: str | None = None,
) -> Redemption:
    """Spend the person's points on one reward; all of it happens, or none. A cash-out
    takes the IBAN to pay into, refused here, before anything is spent, when it is wrong."""
    existing = session.scalar(select(Redemption).where(Redemption.request_key == request_key))
    if existing is not None:
        return existing
    errors = {}
    offer = offer_to(session, person, reward)
    if not reward.active:
        errors["reward"] = _l("This reward is no longer offered.")
    elif offer is None and person.partner_id is not None:
        errors["reward"] = _l("This reward is not offered in your country.")
    if person.partner_id is None or not person.active:
        errors["reward"] = _l("Only partner staff redeem rewards.")
    address = (shipping_address or "").strip()
    if reward.kind == RewardKind.PHYSICAL and not address:
        errors["shipping_address"] = _l("Give the address to send it to.")
    # The hand-off to `channel.payouts`: a cash-out is paid later, in a batch, at this value.
    value = cash_out_value_of(session, reward.id) if reward.kind == RewardKind.CASHOUT else None
    account = None
    if reward.kind == RewardKind.CASHOUT:
        account, problem = checked_iban(iban)
        if problem is not None:
            errors["iban"] = problem
        if value is None:
            errors["reward"] = _l("This cash-out has no amount set yet.")
    if errors:
        raise RedemptionRefused(errors)
    # The hand-off to `channel.fulfilment`: a gift card its provider sells is ordered later.
    product = (
        provider_product_of(session, reward.id) if reward.kind == RewardKind.GIFT_CARD else None
    )
    try:
        with session.begin_nested():
            redemption = Redemption(
                request_key=request_key,
                person_id=person.id,
                reward_id=reward.id,
                points=offer.points_price,
                face_value=offer.face_value,
                currency=offer.currency,
                shipping_address=address or None,
                status=RedemptionStatus.FULFILLED
                if reward.kind == RewardKind.GIFT_CARD and product is None
                else RedemptionStatus.REQUESTED,
            )
            session.add(redemption)
            session.flush()
            if product is None:
                _reserve(session, reward, redemption)
            else:
                _reserve_stock(session, reward)
                session.add(GiftCardOrder(redemption_id=redemption.id, product=product))
                session.flush()
            if value is not None:
                session.add(
                    CashOut(
                        redemption_id=redemption.id,
                        iban=account,
                        holder=person.full_name[:200],
                        amount=value.amount,
                        currency=value.currency,
                    )
                )
                session.flush()
            post(
                session,
                f"redeem:{request_key}",
                [
                    Line(
                        account=person_account(person.id),
                        points=-offer.points_price,
                        kind=EntryKind.REDEEM,
                        partner_id=person.partner_id,
                        person_id=person.id,
                        memo=f"reward {reward.id}: {reward.name}"[:255],
                    )
                ],
            )
    except InsufficientPoints:
        raise RedemptionRefused(
            {"reward": _l("You do not have enough available points for this.")}
        ) from None
    except IntegrityError:
        session.expire_all()
        existing = session.scalar(select(Redemption).where(Redemption.request_key == request_key))
        if existing is None:
            raise
        return existing
    reward_redeemed.send(None, session=session, redemption=redemption)
    return redemption


def offer_to(session: Session, person, reward: Reward) -> RewardOffer | None:
    """The offer of `reward` in the country of `person`'s partner; None where there is none."""
    if person.partner_id is None:
        return None
    return session.scalar(
        select(RewardOffer)
        .join(PartnerOrganization, PartnerOrganization.country == RewardOffer.country)
        .where(PartnerOrganization.id == person.partner_id, RewardOffer.reward_id == reward.id)
    )


def _reserve(session: Session, reward: Reward, redemption: Redemption) -> None:
    if reward.kind == RewardKind.GIFT_CARD:
        free = (
            select(GiftCardCode.id)
            .where(GiftCardCode.reward_id == reward.id, GiftCardCode.redemption_id.is_(None))
            .order_by(GiftCardCode.id)
            .limit(1)
        )
        if session.bind.dialect.name == "postgresql":
            free = free.with_for_update(skip_locked=True)
        code_id = session.scalar(free)
        taken = 0
        if code_id is not None:
            taken = session.execute(
                update(GiftCardCode)
                .where(GiftCardCode.id == code_id, GiftCardCode.redemption_id.is_(None))
                .values(redemption_id=redemption.id)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not taken:
            raise RedemptionRefused({"reward": _l("This reward is sold out.")})
        return
    _reserve_stock(session, reward)


def _reserve_stock(session: Session, reward: Reward) -> None:
    if reward.stock is None:
        return
    reserved = session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.stock > 0)
        .values(stock=Reward.stock - 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not reserved:
        raise RedemptionRefused({"reward": _l("This reward is sold out.")})


def cancel_redemption(session: Session, redemption: Redemption, reason: str | None = None) -> None:
    """Refund the points by a reversing posting and give the stock back.

    A gift card is only cancelled by `channel.fulfilment`, with the reason its order failed."""
    if redemption.status == RedemptionStatus.CANCELLED:
        return
    if redemption.reward.kind == RewardKind.GIFT_CARD and reason is None:
        raise RedemptionRefused(
            {"status": _l("A gift card code that was handed out cannot be taken back.")}
        )
    if redemption.reward.kind == RewardKind.CASHOUT:
        _withdraw_cash_out(session, redemption, reason)
    person_id = redemption.person_id
    person = session.get(Person, person_id)
    post(
        session,
        f"refund:{redemption.id}",
        [
            Line(
                account=person_account(person_id),
                points=redemption.points,
                kind=EntryKind.REFUND,
                partner_id=person.partner_id,
                person_id=person_id,
                memo=f"redemption {redemption.id} cancelled{f': {reason}' if reason else ''}"[:255],
            )
        ],
    )
    if redemption.reward.stock is not None:
        session.execute(
            update(Reward)
            .where(Reward.id == redemption.reward_id)
            .values(stock=Reward.stock + 1)
            .execution_options(synchronize_session=False)
        )
    redemption.status = RedemptionStatus.CANCELLED
    redemption.decided_at = utcnow()
    session.flush()


def _withdraw_cash_out(session: Session, redemption: Redemption, reason: str | None) -> None:
    """A cash-out cancelled before a batch paid it never goes into one (the update waits for
    a batch being made to commit); one already paid is refunded only by `channel.payouts`,
    when the bank returns it."""
    withdrawn = session.execute(
        update(CashOut)
        .where(
            CashOut.redemption_id == redemption.id,
            CashOut.state.in_([CashOutState.REQUESTED, CashOutState.APPROVED]),
        )
        .values(state=CashOutState.FAILED, reason=reason or "cancelled", decided_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    paid = session.scalar(
        select(CashOut.id).where(
            CashOut.redemption_id == redemption.id, CashOut.state == CashOutState.PAID
        )
    )
    if not withdrawn and paid is not None:
        raise RedemptionRefused(
            {
                "status": _l(
                    "This cash-out was paid: mark it failed on the cash-outs page when the "
                    "bank returns it."
                )
            }
        )


def fulfil_redemption(session: Session, redemption: Redemption) -> None:
    if redemption.status != RedemptionStatus.REQUESTED:
        raise RedemptionRefused({"status": _l("Only a requested redemption can be fulfilled.")})
    redemption.status = RedemptionStatus.FULFILLED
    redemption.decided_at = utcnow()
    session.flush()
