"""Install claims checked against the serial registry: was this unit shipped, into this
partner's chain, and is it still uninstalled and unreturned?

Design:
- The checks start once the registry holds serials at all: until the manufacturer sends its
  first shipment data there is nothing to check against, and installs earn as before.
- A unit is in the claimant's chain when the partner holding it is the claimant's company or
  the distributor that supplies it (a unit shipped to a distributor and installed by one of
  its dealers' technicians before the sell-on invoice arrives).
- How strict: each program chooses (`SerialCheck`); a claim is held to the strictest choice
  among the programs its company takes part in on the claim's day (refuse, then review, then
  off), and to review when there is none. Refusing applies to serials the registry never saw;
  the other checks flag the claim for review.
- An approved install marks the unit installed, by whom and when, under a row lock, so that a
  purchase import moving the same unit waits and then finds it installed.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from channel.approvals import approved_programs_on
from channel.claim_models import Claim, ClaimKind
from channel.models import SerialCheck
from channel.partner_models import PartnerOrganization
from channel.purchases import Serial, SerialEvent, SerialStatus
from core.db import utcnow

SERIAL_FLAG_LABELS = {
    "serial_unknown": _l("We have no record of shipping this serial number."),
    "serial_other_chain": _l("This serial number was shipped to another company."),
    "serial_installed": _l("This serial number is already registered as installed."),
    "serial_returned": _l("This unit was returned to us."),
}
_STRICTNESS = (SerialCheck.REFUSE, SerialCheck.REVIEW, SerialCheck.OFF)


def strictness(session: Session, partner: PartnerOrganization, day) -> SerialCheck:
    """The strictest serial check among the programs `partner` takes part in on `day`."""
    chosen = [
        SerialCheck(program.serial_check) for program in approved_programs_on(session, partner, day)
    ]
    if not chosen:
        return SerialCheck.REVIEW
    return min(chosen, key=_STRICTNESS.index)


def registry_in_use(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Serial.id.is_not(None)))))


def unit_of(session: Session, serial: str, *, lock: bool = False) -> Serial | None:
    query = select(Serial).where(Serial.serial == serial)
    return session.scalar(query.with_for_update() if lock else query)


def refused_serial(session: Session, partner: PartnerOrganization, serial: str, day):
    """Why an install on `serial` is refused outright, or None (checked before it is saved)."""
    if not serial or not registry_in_use(session) or unit_of(session, serial) is not None:
        return None
    if strictness(session, partner, day) != SerialCheck.REFUSE:
        return None
    return _l(
        "We have no record of shipping the serial number %(serial)s. Check the plate and "
        "send it again, or ask your manager.",
        serial=serial,
    )


def _checked_unit(session: Session, claim: Claim) -> tuple[Serial | None, bool]:
    """(the unit, whether the checks apply to this claim)."""
    if claim.kind != ClaimKind.INSTALL or not claim.serial or not registry_in_use(session):
        return None, False
    partner = session.get(PartnerOrganization, claim.partner_id)
    if strictness(session, partner, claim.occurred_on) == SerialCheck.OFF:
        return None, False
    # Locked to the end of the claim's transaction: a purchase import moving this unit waits,
    # or, already under way, is waited for and then read as it left the unit.
    return unit_of(session, claim.serial, lock=True), True


def serial_unknown(session: Session, claim: Claim) -> bool:
    unit, applies = _checked_unit(session, claim)
    return applies and unit is None


def serial_other_chain(session: Session, claim: Claim) -> bool:
    unit, applies = _checked_unit(session, claim)
    if not applies or unit is None:
        return False
    partner = session.get(PartnerOrganization, claim.partner_id)
    return unit.holder_id not in (partner.id, partner.parent_id)


def serial_installed(session: Session, claim: Claim) -> bool:
    unit, applies = _checked_unit(session, claim)
    return applies and unit is not None and unit.status == SerialStatus.INSTALLED


def serial_returned(session: Session, claim: Claim) -> bool:
    unit, applies = _checked_unit(session, claim)
    return applies and unit is not None and unit.status == SerialStatus.RETURNED


SERIAL_RULES = {
    "serial_unknown": serial_unknown,
    "serial_other_chain": serial_other_chain,
    "serial_installed": serial_installed,
    "serial_returned": serial_returned,
}


def mark_installed(session: Session, claim: Claim) -> None:
    """An approved install: its unit (if registered) is installed by the claimant, now."""
    if claim.kind != ClaimKind.INSTALL or not claim.serial:
        return
    unit = unit_of(session, claim.serial, lock=True)
    if unit is None or unit.status == SerialStatus.INSTALLED:
        return
    now = utcnow()
    unit.status, unit.installed_by_id, unit.installed_at, unit.updated_at = (
        SerialStatus.INSTALLED,
        claim.person_id,
        now,
        now,
    )
    session.add(
        SerialEvent(
            serial_id=unit.id,
            status=SerialStatus.INSTALLED,
            partner_id=claim.partner_id,
            person_id=claim.person_id,
            happened_on=claim.occurred_on,
            recorded_at=now,
        )
    )
    session.flush()
