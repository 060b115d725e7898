"""Co-op marketing funds (MDF): the manufacturer shares the cost of partners' advertising.

A partner asks for funds for a planned activity; the channel manager pre-approves, which
reserves the expected reimbursement against the fund's budget; after the activity the
partner claims with its actual cost and proof; the reimbursement follows the fund's rule —
its share (e.g. 50%) of the cost when only our products are shown, that share divided by
the number of manufacturers featured otherwise — never above what was pre-approved.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base, utcnow
from core.errors import InvalidInput
from core.states import State, one_of


class CoopStatus(State):
    REQUESTED = "requested", _l("Waiting for pre-approval")
    PREAPPROVED = "preapproved", _l("Pre-approved: claim after the activity")
    CLAIMED = "claimed", _l("Claimed: waiting for payment")
    REIMBURSED = "reimbursed", _l("Reimbursed")
    REJECTED = "rejected", _l("Rejected")


#: Statuses whose amount counts against the fund's budget.
COMMITTED = (CoopStatus.PREAPPROVED, CoopStatus.CLAIMED, CoopStatus.REIMBURSED)
#: Statuses a channel manager still decides on.
TO_DECIDE = (CoopStatus.REQUESTED, CoopStatus.CLAIMED)
CENT = Decimal("0.01")
#: The most a Numeric(14, 2) column holds.
MAX_MONEY = Decimal("999999999999.99")


#: The length of coop_funds.name.
MAX_FUND_NAME = 200


class CoopFund(Base):
    __tablename__ = "coop_funds"
    __table_args__ = (
        CheckConstraint("budget > 0", name="budget_positive"),
        CheckConstraint("share_percent > 0 AND share_percent <= 100", name="share_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_FUND_NAME))
    currency: Mapped[str] = mapped_column(String(3))
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: Our share of an activity's cost when only our products are shown.
    share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CoopRequest(Base):
    __tablename__ = "coop_requests"
    __table_args__ = (
        one_of("status", CoopStatus),
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("manufacturers_featured >= 1", name="manufacturers_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(
        ForeignKey("coop_funds.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text)
    #: The planned cost when asked; replaced by the actual cost when claimed.
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    planned_on: Mapped[date] = mapped_column(Date)
    #: Manufacturers whose products the advertisement shows, us included.
    manufacturers_featured: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=CoopStatus.REQUESTED, index=True)
    #: What the pre-approval reserved against the fund; the ceiling of the reimbursement.
    approved_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    proof: Mapped[str | None] = mapped_column(Text)
    reimbursement: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    fund: Mapped[CoopFund] = relationship()


class InvalidCoop(InvalidInput):
    """The request or step is not valid; nothing was saved."""


def reimbursement_for(cost: Decimal, share_percent: Decimal, manufacturers: int) -> Decimal:
    """Our share of `cost`, divided among the manufacturers featured; rounded down to a cent."""
    return (cost * share_percent / 100 / manufacturers).quantize(CENT, rounding=ROUND_DOWN)


def committed(session: Session, fund: CoopFund) -> Decimal:
    """What the fund has promised or paid: reserved by pre-approvals, or reimbursed."""
    total = session.scalar(
        select(
            func.coalesce(
                func.sum(func.coalesce(CoopRequest.reimbursement, CoopRequest.approved_amount)),
                0,
            )
        ).where(CoopRequest.fund_id == fund.id, CoopRequest.status.in_(COMMITTED))
    )
    return Decimal(total).quantize(CENT)


def _money(raw, errors, name) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[name] = _l("Give an amount of money.")
        return None
    if not value.is_finite() or value <= 0:
        errors[name] = _l("The amount must be more than zero.")
        return None
    if value > MAX_MONEY:
        errors[name] = _l("The amount can be at most %(max)s.", max=MAX_MONEY)
        return None
    return value.quantize(CENT)


def create_fund(session: Session, *, name: str, currency: str, budget: str, share: str) -> CoopFund:
    """A new fund of `budget` in `currency`, paying `share` percent of a cost."""
    errors: dict[str, str] = {}
    name, currency = " ".join((name or "").split()), (currency or "").strip().upper()
    if not name or len(currency) != 3:
        errors["name"] = _l("Give the fund a name and a three-letter currency.")
    elif len(name) > MAX_FUND_NAME:
        errors["name"] = lazy_ngettext(
            "At most %(num)s character.", "At most %(num)s characters.", MAX_FUND_NAME
        )
    amount = _money(budget, errors, "budget")
    try:
        percent = Decimal(str(share).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        percent = None
    if percent is None or not percent.is_finite() or not 0 < percent <= 100:
        errors["share_percent"] = _l("The share is a percentage above zero and up to 100.")
    if errors:
        raise InvalidCoop(errors)
    fund = CoopFund(name=name, currency=currency, budget=amount, share_percent=percent)
    session.add(fund)
    session.flush()
    return fund


@dataclass
class CoopAsk:
    description: str
    cost: str
    planned_on: date | None
    manufacturers_featured: int | None


def request_funds(session: Session, fund: CoopFund, partner, person, ask: CoopAsk) -> CoopRequest:
    errors: dict[str, str] = {}
    if not fund.active:
        errors["fund"] = _l("This fund is closed.")
    if not " ".join((ask.description or "").split()):
        errors["description"] = _l("Describe the activity.")
    cost = _money(ask.cost, errors, "cost")
    if ask.planned_on is None:
        errors["planned_on"] = _l("Give the planned date.")
    if not ask.manufacturers_featured or ask.manufacturers_featured < 1:
        errors["manufacturers_featured"] = _l(
            "Count the manufacturers shown, us included (at least 1)."
        )
    if errors:
        raise InvalidCoop(errors)
    request = CoopRequest(
        fund_id=fund.id,
        partner_id=partner.id,
        requested_by_id=person.id,
        description=ask.description.strip(),
        cost=cost,
        planned_on=ask.planned_on,
        manufacturers_featured=ask.manufacturers_featured,
    )
    session.add(request)
    session.flush()
    return request


def preapprove(session: Session, request: CoopRequest) -> Decimal:
    """Reserve the expected reimbursement; refused if the fund cannot cover it."""
    if request.status != CoopStatus.REQUESTED:
        raise InvalidCoop({"status": _l("Only a new request can be pre-approved.")})
    # Serialise pre-approvals of one fund, so together they never exceed its budget.
    session.execute(select(CoopFund.id).where(CoopFund.id == request.fund_id).with_for_update())
    fund = request.fund
    amount = reimbursement_for(request.cost, fund.share_percent, request.manufacturers_featured)
    if committed(session, fund) + amount > fund.budget:
        raise InvalidCoop({"status": _l("The fund does not have enough left for this.")})
    request.status, request.approved_amount = CoopStatus.PREAPPROVED, amount
    request.decided_at = utcnow()
    session.flush()
    return amount


def claim_funds(session: Session, request: CoopRequest, *, actual_cost: str, proof: str) -> Decimal:
    """After the activity: the actual cost and proof; the reimbursement is fixed here."""
    errors: dict[str, str] = {}
    if request.status != CoopStatus.PREAPPROVED:
        errors["status"] = _l("Only a pre-approved request can be claimed.")
    cost = _money(actual_cost, errors, "cost")
    if not " ".join((proof or "").split()):
        errors["proof"] = _l(
            "Describe or link the proof: the published advertisement, the invoice."
        )
    if errors:
        raise InvalidCoop(errors)
    amount = min(
        reimbursement_for(cost, request.fund.share_percent, request.manufacturers_featured),
        request.approved_amount,
    )
    request.cost, request.proof, request.reimbursement = cost, proof.strip(), amount
    request.status = CoopStatus.CLAIMED
    session.flush()
    return amount


def reimburse(session: Session, request: CoopRequest) -> None:
    if request.status != CoopStatus.CLAIMED:
        raise InvalidCoop({"status": _l("Only a claimed request can be reimbursed.")})
    request.status, request.decided_at = CoopStatus.REIMBURSED, utcnow()
    session.flush()


def reject(session: Session, request: CoopRequest, *, reason: str) -> None:
    reason = " ".join((reason or "").split())
    if request.status not in TO_DECIDE:
        raise InvalidCoop({"status": _l("This request can no longer be rejected.")})
    if not reason:
        raise InvalidCoop({"reason": _l("Say why: the partner sees the reason.")})
    request.status, request.reason, request.decided_at = CoopStatus.REJECTED, reason, utcnow()
    session.flush()


# ---------------------------------------------------------------- lists for the pages


def open_funds(session: Session) -> list[CoopFund]:
    """The funds partners may ask from, by name."""
    return session.scalars(
        select(CoopFund).where(CoopFund.active.is_(True)).order_by(CoopFund.name)
    ).all()


def open_fund(session: Session, fund_id: int | None) -> CoopFund:
    """The open fund a partner chose; refused when it names none."""
    fund = next((fund for fund in open_funds(session) if fund.id == fund_id), None)
    if fund is None:
        raise InvalidCoop({"fund": _l("Choose a fund.")})
    return fund


def all_funds(session: Session) -> list[CoopFund]:
    """Every fund, newest first."""
    return session.scalars(select(CoopFund).order_by(CoopFund.id.desc())).all()


def requests_of_partner(session: Session, partner_id: int) -> list[CoopRequest]:
    """A partner's requests, newest first."""
    return session.scalars(
        select(CoopRequest)
        .where(CoopRequest.partner_id == partner_id)
        .order_by(CoopRequest.id.desc())
    ).all()


def requests_to_decide(session: Session) -> list[CoopRequest]:
    """Requests waiting for a channel manager (to pre-approve or to reimburse), oldest first."""
    return session.scalars(
        select(CoopRequest).where(CoopRequest.status.in_(TO_DECIDE)).order_by(CoopRequest.id)
    ).all()
