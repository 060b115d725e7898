"""Goods redeemed and sent: each supplier's list of what to ship, and its shipment file back.

A supplier is the manufacturer (its own goods) or a coalition brand (goods of its rewards).
The export lists goods awaiting shipment with the reference the supplier sends back, line by
line, with the tracking number, the carrier and the date. Each line is applied on its own,
whole or not at all: the shipment stored, the redemption fulfilled, the person told
(`goods_shipped`). A redemption holds one shipment (a unique key), so a file imported twice,
even twice at once, ships nothing twice; a line that says again what is known is counted as
already imported, one that contradicts it is refused with its reason.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from channel.exports import Table
from channel.fulfilment import fail_for_good
from channel.payout_models import Shipment
from channel.rewards import Redemption, RedemptionStatus, Reward, RewardKind
from channel.signals import goods_shipped
from core.db import utcnow
from core.errors import InvalidInput
from core.tables import UnreadableFile, date_cell, table_rows
from roles.models import Person

#: Lines one shipment file may hold: far more than a supplier ships in a day.
MAX_ROWS = 50_000
COLUMNS = ("reference", "tracking_number", "carrier", "shipped_on")
EXPORT_HEADER = ("reference", "item", "quantity", "recipient", "phone", "ship_to", "requested_on")
#: The length of shipments.tracking_number and shipments.carrier.
MAX_FIELD = 100
MAX_REASON = 500
_REFERENCE = re.compile(r"R?(\d{1,9})", re.IGNORECASE)


class UnreadableShipmentsFile(UnreadableFile):
    """The shipment file cannot be read at all; nothing was imported."""


@dataclass
class ShipmentsReport:
    #: Redemption ids shipped by this import.
    shipped: list[int] = field(default_factory=list)
    #: Lines that said again what was already known.
    already: int = 0
    #: (line number, reason) of every line refused.
    rejected: list[tuple[int, str]] = field(default_factory=list)


def reference_of(redemption_id: int) -> str:
    """What a supplier sees and sends back for a redemption."""
    return f"R{redemption_id}"


def goods_awaiting(session: Session, brand_id: int | None) -> list[Redemption]:
    """Goods redeemed and not yet shipped: the manufacturer's own (None) or a brand's."""
    supplier = Reward.brand_id.is_(None) if brand_id is None else Reward.brand_id == brand_id
    return list(
        session.scalars(
            select(Redemption)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(
                Reward.kind == RewardKind.PHYSICAL,
                supplier,
                Redemption.status == RedemptionStatus.REQUESTED,
            )
            .options(joinedload(Redemption.reward))
            .order_by(Redemption.id)
        )
    )


def goods_table(session: Session, brand_id: int | None) -> Table:
    """The supplier's export: one line per redemption awaiting shipment (one item each)."""
    awaiting = goods_awaiting(session, brand_id)
    people = {
        person.id: person
        for person in session.scalars(
            select(Person).where(Person.id.in_({r.person_id for r in awaiting}))
        )
    }
    return Table(
        name="goods",
        header=list(EXPORT_HEADER),
        rows=[
            [
                reference_of(redemption.id),
                redemption.reward.name,
                1,
                people[redemption.person_id].full_name,
                people[redemption.person_id].phone,
                redemption.shipping_address or "",
                redemption.created_at.date(),
            ]
            for redemption in awaiting
        ],
    )


def read_shipments(data: bytes, max_rows: int = MAX_ROWS) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a shipment file (CSV or XLSX); an unreadable file is refused whole."""
    return table_rows(data, COLUMNS, max_rows, UnreadableShipmentsFile)


def import_shipments(
    session: Session, rows: Iterable[tuple[int, dict]], *, today: date
) -> ShipmentsReport:
    report = ShipmentsReport()
    for number, row in rows:
        texts = {name: str(row.get(name) or "").strip() for name in COLUMNS}
        outcome = _import_line(session, texts, row.get("shipped_on"), today)
        if outcome is None:
            report.already += 1
        elif isinstance(outcome, Redemption):
            report.shipped.append(outcome.id)
        else:
            report.rejected.append((number, str(outcome)))
    return report


def _import_line(session: Session, texts: dict, raw_date, today: date):
    """The redemption shipped, None when the line was already imported, or a reason."""
    match = _REFERENCE.fullmatch(texts["reference"])
    redemption = session.get(Redemption, int(match.group(1))) if match else None
    if redemption is None:
        return _l("Unknown reference “%(reference)s”.", reference=texts["reference"][:40])
    if redemption.reward.kind != RewardKind.PHYSICAL:
        return _l("%(reference)s is not goods to ship.", reference=reference_of(redemption.id))
    tracking, carrier = texts["tracking_number"], texts["carrier"]
    if not tracking or not carrier:
        return _l("Give the tracking number and the carrier.")
    if len(tracking) > MAX_FIELD or len(carrier) > MAX_FIELD or "\x00" in tracking + carrier:
        return _l(
            "The tracking number and the carrier hold at most %(max)s characters each.",
            max=MAX_FIELD,
        )
    shipped_on = date_cell(raw_date)
    if shipped_on is None:
        return _l("Give the shipping date as YYYY-MM-DD.")
    if shipped_on > today:
        return _l("The shipping date is in the future.")
    # Serialised with a failure marked at the same time (`fail_goods` locks it too).
    session.refresh(redemption, with_for_update=True)
    known = redemption.shipment
    if known is not None:
        if (known.tracking_number, known.carrier) == (tracking, carrier):
            return None
        return _l(
            "%(reference)s was already shipped with tracking number %(tracking)s.",
            reference=reference_of(redemption.id),
            tracking=known.tracking_number,
        )
    if redemption.status != RedemptionStatus.REQUESTED:
        return _l(
            "%(reference)s was cancelled and refunded: there is nothing to ship.",
            reference=reference_of(redemption.id),
        )
    try:
        with session.begin_nested():
            shipment = Shipment(
                redemption_id=redemption.id,
                tracking_number=tracking,
                carrier=carrier,
                shipped_on=shipped_on,
            )
            session.add(shipment)
            redemption.status = RedemptionStatus.FULFILLED
            redemption.decided_at = utcnow()
            session.flush()
    except IntegrityError:
        # Another import of the same file stored it first.
        session.expire(redemption)
        return None
    session.expire(redemption, ["shipment"])
    goods_shipped.send(None, session=session, redemption=redemption, shipment=shipment)
    return redemption


def fail_goods(session: Session, redemption: Redemption, reason: str) -> None:
    """Goods that cannot be sent (the supplier has none left, the address does not exist):
    the points refunded with the reason, and the person told."""
    reason = (reason or "").strip()
    session.refresh(redemption, with_for_update=True)
    errors = {}
    if redemption.reward.kind != RewardKind.PHYSICAL:
        errors["redemption"] = _l("Only goods are marked as impossible to send here.")
    elif redemption.status != RedemptionStatus.REQUESTED:
        errors["redemption"] = _l("Only goods still awaiting shipment can fail.")
    if not reason:
        errors["reason"] = _l("Say why it cannot be sent: the person reads it.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _l("At most %(max)s characters.", max=MAX_REASON)
    if errors:
        raise InvalidInput(errors)
    fail_for_good(session, redemption, reason)
