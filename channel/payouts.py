"""Cash-outs: approved by a channel manager, paid in batches, one payment file per batch.

The IBAN is checked when the person asks (`channel.rewards.redeem`). A batch takes every
approved cash-out of one currency by one conditional update (state approved → paid, its
batch set), so two batches built at once never pay the same cash-out: the second waits on
the first's row locks, then finds them paid and takes none of them. Euro batches are SEPA
credit-transfer files (pain.001.001.03, built and checked against its schema by sepaxml);
other currencies a CSV for the bank. A cash-out that fails for good (refused, or returned by
the bank) refunds the points with the reason and tells the person.
"""

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l
from sepaxml import SepaTransfer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from channel.fulfilment import fail_for_good
from channel.payout_models import (
    BatchFormat,
    CashOut,
    CashOutState,
    CashOutValue,
    PayoutBatch,
    bank_code_of,
    checked_iban,
)
from channel.rewards import Redemption, RedemptionStatus, Reward, RewardKind
from core.db import utcnow
from core.errors import InvalidInput
from core.tables import inert

CENT = Decimal("0.01")
#: Far above any cash-out, within Numeric(12, 2).
MAX_AMOUNT = Decimal("1000000")
MAX_REASON = 500
CSV_HEADER = ("reference", "holder", "iban", "bic", "amount", "currency", "description")


@dataclass(frozen=True)
class Debtor:
    """The account cash-outs are paid from (configuration: PAYOUT_DEBTOR_*)."""

    name: str
    iban: str
    bic: str | None = None


def debtor_from_config(config) -> Debtor | None:
    """The paying account from PAYOUT_DEBTOR_NAME, _IBAN and _BIC; None while unset."""
    if not config.get("PAYOUT_DEBTOR_IBAN"):
        return None
    return Debtor(
        name=config.get("PAYOUT_DEBTOR_NAME") or "",
        iban=config["PAYOUT_DEBTOR_IBAN"],
        bic=config.get("PAYOUT_DEBTOR_BIC") or None,
    )


def set_cash_out_value(session: Session, reward: Reward, amount: str, currency: str) -> None:
    """What each redemption of a cash-out reward pays."""
    errors = {}
    if reward.kind != RewardKind.CASHOUT:
        errors["reward"] = _l("Only a cash-out reward pays money.")
    try:
        value = Decimal(str(amount or "").strip().replace(",", "."))
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        value = None
    if value is None or value <= 0 or value > MAX_AMOUNT or value != value.quantize(CENT):
        errors["amount"] = _l(
            "Give an amount above zero, at most %(max)s, with at most two decimals.",
            max=MAX_AMOUNT,
        )
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency) or currency not in list_currencies():
        errors["currency"] = _l("Give the currency as its three-letter code, e.g. EUR.")
    if errors:
        raise InvalidInput(errors)
    row = session.get(CashOutValue, reward.id) or CashOutValue(reward_id=reward.id)
    row.amount, row.currency = value, currency
    session.add(row)
    session.flush()


def cash_out_rewards(session: Session) -> list[tuple[Reward, CashOutValue | None]]:
    rows = session.execute(
        select(Reward, CashOutValue)
        .outerjoin(CashOutValue, CashOutValue.reward_id == Reward.id)
        .where(Reward.kind == RewardKind.CASHOUT)
        .order_by(Reward.name, Reward.id)
    )
    return [(reward, value) for reward, value in rows]


def open_cash_outs(session: Session) -> list[CashOut]:
    """Cash-outs waiting for approval or payment, oldest first."""
    return list(
        session.scalars(
            select(CashOut)
            .where(CashOut.state.in_([CashOutState.REQUESTED, CashOutState.APPROVED]))
            .order_by(CashOut.id)
        )
    )


def batches(session: Session) -> list[PayoutBatch]:
    return list(session.scalars(select(PayoutBatch).order_by(PayoutBatch.id.desc()).limit(100)))


def approve_cash_out(session: Session, cash_out: CashOut) -> None:
    approved = session.execute(
        update(CashOut)
        .where(CashOut.id == cash_out.id, CashOut.state == CashOutState.REQUESTED)
        .values(state=CashOutState.APPROVED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not approved:
        raise InvalidInput({"cash_out": _l("Only a cash-out waiting for approval is approved.")})
    session.expire(cash_out)


def fail_cash_out(session: Session, cash_out: CashOut, reason: str) -> None:
    """Refused, or returned by the bank after it was paid: the points go back."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": _l("Say why it cannot be paid: the person reads it.")})
    if len(reason) > MAX_REASON:
        raise InvalidInput({"reason": _l("At most %(max)s characters.", max=MAX_REASON)})
    failed = session.execute(
        update(CashOut)
        .where(CashOut.id == cash_out.id, CashOut.state != CashOutState.FAILED)
        .values(state=CashOutState.FAILED, reason=reason, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not failed:
        raise InvalidInput({"cash_out": _l("This cash-out has already failed and was refunded.")})
    session.expire(cash_out)
    fail_for_good(session, session.get(Redemption, cash_out.redemption_id), reason)


def build_batch(
    session: Session,
    currency: str,
    *,
    debtor: Debtor | None,
    actor_id: int | None,
    execution_date: date,
) -> PayoutBatch:
    """Pay every approved cash-out in `currency` in one new batch, with its file."""
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput(
            {"currency": _l("Give the currency as its three-letter code, e.g. EUR.")}
        )
    sepa = currency == "EUR"
    if sepa and (debtor is None or checked_iban(debtor.iban)[1] is not None or not debtor.name):
        raise InvalidInput(
            {"currency": _l("Set PAYOUT_DEBTOR_NAME and PAYOUT_DEBTOR_IBAN to pay in euros.")}
        )
    batch = PayoutBatch(
        currency=currency,
        format=BatchFormat.SEPA if sepa else BatchFormat.CSV,
        message_id=f"PL-{uuid.uuid4().hex[:24]}",
        created_by_id=actor_id,
    )
    session.add(batch)
    session.flush()
    now = utcnow()
    # Locked in id order, so two batches queue on the first row instead of deadlocking;
    # the one that waited finds them paid and takes none.
    waiting = select(CashOut.id).where(
        CashOut.state == CashOutState.APPROVED,
        CashOut.batch_id.is_(None),
        CashOut.currency == currency,
    )
    ids = list(session.scalars(waiting.order_by(CashOut.id).with_for_update()))
    if ids:
        session.execute(
            update(CashOut)
            .where(CashOut.id.in_(ids), CashOut.state == CashOutState.APPROVED)
            .values(state=CashOutState.PAID, batch_id=batch.id, decided_at=now)
            .execution_options(synchronize_session=False)
        )
    paid = list(
        session.scalars(select(CashOut).where(CashOut.batch_id == batch.id).order_by(CashOut.id))
    )
    if not paid:
        raise InvalidInput(
            {"currency": _l("No approved cash-out in %(currency)s is waiting.", currency=currency)}
        )
    session.execute(
        update(Redemption)
        .where(Redemption.id.in_([cash_out.redemption_id for cash_out in paid]))
        .values(status=RedemptionStatus.FULFILLED, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    batch.count = len(paid)
    batch.total = sum((cash_out.amount for cash_out in paid), Decimal(0))
    batch.document = (
        sepa_document(batch, paid, debtor, execution_date) if sepa else csv_document(paid)
    )
    session.flush()
    return batch


def _description(cash_out: CashOut) -> str:
    return f"PartnerLift cash-out R{cash_out.redemption_id}"


def sepa_document(
    batch: PayoutBatch, paid: list[CashOut], debtor: Debtor, execution_date: date
) -> str:
    """The pain.001.001.03 file, checked against its schema by sepaxml."""
    config = {"name": debtor.name[:70], "IBAN": debtor.iban, "batch": True, "currency": "EUR"}
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = SepaTransfer(config, schema="pain.001.001.03", clean=True)
    # The file's MsgId, as sepaxml makes it (unique: a time stamp and a random part).
    batch.message_id = transfer.msg_id
    for cash_out in paid:
        payment = {
            "name": cash_out.holder[:70],
            "IBAN": cash_out.iban,
            "amount": int(cash_out.amount * 100),
            "execution_date": execution_date,
            "description": _description(cash_out),
            "endtoend_id": f"R{cash_out.redemption_id}",
        }
        if bic := bank_code_of(cash_out.iban):
            payment["BIC"] = bic
        transfer.add_payment(payment)
    return transfer.export(validate=True).decode("utf-8")


def csv_document(paid: list[CashOut]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for cash_out in paid:
        writer.writerow(
            (
                f"R{cash_out.redemption_id}",
                inert(cash_out.holder),
                cash_out.iban,
                bank_code_of(cash_out.iban) or "",
                f"{cash_out.amount:.2f}",
                cash_out.currency,
                _description(cash_out),
            )
        )
    return out.getvalue()


def approved_currencies(session: Session) -> list[tuple[str, int, Decimal]]:
    """(currency, cash-outs, total) approved and waiting for a batch."""
    return [
        (currency, count, total)
        for currency, count, total in session.execute(
            select(CashOut.currency, func.count(CashOut.id), func.sum(CashOut.amount))
            .where(CashOut.state == CashOutState.APPROVED)
            .group_by(CashOut.currency)
            .order_by(CashOut.currency)
        )
    ]
