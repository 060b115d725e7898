"""The serial registry's moves: what a purchase line or a serial list does to each unit,
checked in memory against the units as stored (locked), then written in bulk.

A unit moves only along its states (`channel.purchases`): the manufacturer ships it (or
ships again what was returned to it), the partner holding it sells it on, the partner
holding it returns it. Anything else is refused with the reason, and a refused source
moves none of its units.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from channel.purchases import DocumentKind, Serial, SerialEvent, SerialStatus
from core.bulk import BulkWriter, in_values


@dataclass
class Shipment:
    """Where units go: a purchase line, or a row of a serial list (no line, no seller)."""

    partner_id: int
    sku: str
    serials: list[str]
    day: date
    document: DocumentKind = DocumentKind.INVOICE
    seller_id: int | None = None
    #: The purchase line's id, set once the line has one; None for a serial list.
    id: int | None = None


class Registry:
    """The stored units a batch names, locked (FOR UPDATE) against a concurrent install
    claim, moved in memory as the batch's shipments are checked, and written at the end."""

    def __init__(self, session: Session, serials: set[str], partner_names: dict[int, str]):
        self.session = session
        self.names = partner_names
        self.units: dict[str, dict] = {}
        self.changed: dict[str, dict] = {}
        #: (serial, state entered, partner, shipment) in the order they happened.
        self.events: list[tuple[str, SerialStatus, int, Shipment]] = []
        if serials:
            column = Serial.__table__.c.serial
            query = (
                select(Serial.id, Serial.serial, Serial.sku, Serial.status, Serial.holder_id)
                .where(in_values(session, column, sorted(serials)))
                .order_by(Serial.serial)
                .with_for_update()
            )
            for row in session.execute(query):
                self.units[row.serial] = {
                    "id": row.id,
                    "sku": row.sku,
                    "status": row.status,
                    "holder_id": row.holder_id,
                }

    @property
    def moves(self) -> int:
        """Moves made and not yet written."""
        return len(self.events)

    def known(self, serial: str) -> dict | None:
        return self.units.get(serial)

    def move(self, shipment: Shipment):
        """Apply what `shipment` does to its units and return None, or return why it cannot
        (and move nothing)."""
        moves = []
        for serial in shipment.serials:
            move = self._move(serial, shipment)
            if type(move) is not dict:
                return move
            moves.append((serial, move))
        for serial, move in moves:
            unit = self.units.get(serial)
            if unit is None:
                self.units[serial] = unit = move
            else:
                unit.update(move)
            unit["last"] = shipment
            self.changed[serial] = unit
            self.events.append((serial, move["status"], move["holder_id"], shipment))
        return None

    def _move(self, serial: str, shipment: Shipment):
        unit = self.units.get(serial)
        if shipment.document is DocumentKind.CREDIT_NOTE:
            if (
                unit is None
                or unit["holder_id"] != shipment.partner_id
                or unit["status"] == SerialStatus.RETURNED
            ):
                return _l(
                    "Serial %(serial)s is not with this partner, so it cannot be returned.",
                    serial=serial,
                )
            holder = shipment.seller_id if shipment.seller_id is not None else shipment.partner_id
            return {"status": SerialStatus.RETURNED, "holder_id": holder}
        if unit is None:
            status = SerialStatus.SHIPPED if shipment.seller_id is None else SerialStatus.SOLD_ON
            return {"status": status, "holder_id": shipment.partner_id, "sku": shipment.sku}
        reshipped = unit["status"] == SerialStatus.RETURNED and shipment.seller_id is None
        sold_on = (
            shipment.seller_id is not None
            and unit["holder_id"] == shipment.seller_id
            and unit["status"] != SerialStatus.INSTALLED
        )
        if not (reshipped or sold_on):
            return _l(
                "Serial %(serial)s was already shipped to %(partner)s.",
                serial=serial,
                partner=self.names.get(unit["holder_id"], "?"),
            )
        if unit["sku"] != shipment.sku:
            return _l(
                "Serial %(serial)s is a %(sku)s, not a %(line_sku)s.",
                serial=serial,
                sku=unit["sku"],
                line_sku=shipment.sku,
            )
        status = SerialStatus.SHIPPED if reshipped else SerialStatus.SOLD_ON
        return {"status": status, "holder_id": shipment.partner_id}

    def write(self, writer: BulkWriter, now) -> int:
        """Write the moved units and their events (after the shipments' lines have ids);
        returns how many moves were written."""
        table = Serial.__table__
        new = {serial: None for serial, unit in self.changed.items() if "id" not in unit}
        for serial, serial_id in zip(new, writer.next_ids(table, len(new)), strict=True):
            self.changed[serial]["id"] = serial_id
        writer.insert_values(
            table,
            ("id", "serial", "sku", "status", "holder_id", "line_id"),
            (
                (
                    unit["id"],
                    serial,
                    unit["sku"],
                    str(unit["status"]),
                    unit["holder_id"],
                    unit["last"].id,
                )
                for serial in new
                for unit in (self.changed[serial],)
            ),  # fmt: skip
            constants={"updated_at": now},
        )
        moved = [
            {
                "serial_id": unit["id"],
                "status": str(unit["status"]),
                "holder_id": unit["holder_id"],
                "line_id": unit["last"].id,
                "updated_at": now,
            }
            for serial, unit in self.changed.items()
            if serial not in new
        ]
        if moved:
            self.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("serial_id"))
                .values(
                    status=bindparam("status"),
                    holder_id=bindparam("holder_id"),
                    line_id=bindparam("line_id"),
                    updated_at=bindparam("updated_at"),
                ),
                moved,
            )
        events = SerialEvent.__table__
        writer.insert_values(
            events,
            ("id", "serial_id", "status", "partner_id", "line_id", "happened_on"),
            (
                (
                    event_id,
                    self.units[serial]["id"],
                    str(status),
                    holder_id,
                    shipment.id,
                    shipment.day,
                )
                for event_id, (serial, status, holder_id, shipment) in zip(
                    writer.next_ids(events, len(self.events)), self.events, strict=True
                )
            ),  # fmt: skip
            constants={"recorded_at": now},
        )
        written = len(self.events)
        self.changed, self.events = {}, []
        return written
