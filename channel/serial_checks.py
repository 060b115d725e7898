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

from functools import cached_property

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from channel.approvals import approved_programs_on
from channel.claim_models import Claim, ClaimKind
from channel.models import Program, SerialCheck
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


class ClaimFacts:
    """What the checks of one claim read about its company and the serial registry: each read
    once, when a check first asks, and passed down to every check of that claim (made for the
    claim and dropped with it, so nothing read here outlives the transaction)."""

    def __init__(self, session: Session, partner: PartnerOrganization | None, day):
        self.session, self.partner, self.day = session, partner, day
        #: serial -> its unit, read under a row lock (None: never shipped).
        self._locked_units: dict[str, Serial | None] = {}

    @cached_property
    def approved_programs(self) -> list[Program]:
        """The programs the company approved that run on the claim's day."""
        return approved_programs_on(self.session, self.partner, self.day)

    @cached_property
    def registry_in_use(self) -> bool:
        return bool(self.session.scalar(select(exists().where(Serial.id.is_not(None)))))

    @cached_property
    def strictness(self) -> SerialCheck:
        """The strictest serial check among the approved programs of the claim's day."""
        return strictness(self.approved_programs)

    def locked_unit(self, serial: str) -> Serial | None:
        # Locked to the end of the claim's transaction: a purchase import moving this unit
        # waits, or, already under way, is waited for and then read as it left the unit.
        if serial not in self._locked_units:
            self._locked_units[serial] = unit_of(self.session, serial, lock=True)
        return self._locked_units[serial]


def strictness(programs: list[Program]) -> SerialCheck:
    """The strictest serial check among `programs` (those a company takes part in on a day)."""
    chosen = [SerialCheck(program.serial_check) for program in programs]
    if not chosen:
        return SerialCheck.REVIEW
    return min(chosen, key=_STRICTNESS.index)


def unit_of(session: Session, serial: str, *, lock: bool = False) -> Serial | None:
    query = select(Serial).where(Serial.serial == serial)
    return session.scalar(query.with_for_update() if lock else query)


def refused_serial(session: Session, facts: ClaimFacts, serial: str):
    """Why an install on `serial` is refused outright, or None (checked before it is saved)."""
    if not serial or not facts.registry_in_use or unit_of(session, serial) is not None:
        return None
    if facts.strictness != SerialCheck.REFUSE:
        return None
    return _l(
        "We have no record of shipping the serial number %(serial)s. Check the plate and "
        "send it again, or ask your manager.",
        serial=serial,
    )


def _checked_unit(claim: Claim, facts: ClaimFacts) -> tuple[Serial | None, bool]:
    """(the unit, whether the checks apply to this claim)."""
    if claim.kind != ClaimKind.INSTALL or not claim.serial or not facts.registry_in_use:
        return None, False
    if facts.strictness == SerialCheck.OFF:
        return None, False
    return facts.locked_unit(claim.serial), True


def serial_unknown(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    unit, applies = _checked_unit(claim, facts)
    return applies and unit is None


def serial_other_chain(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    unit, applies = _checked_unit(claim, facts)
    if not applies or unit is None:
        return False
    return unit.holder_id not in (facts.partner.id, facts.partner.parent_id)


def serial_installed(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    unit, applies = _checked_unit(claim, facts)
    return applies and unit is not None and unit.status == SerialStatus.INSTALLED


def serial_returned(session: Session, claim: Claim, facts: ClaimFacts) -> bool:
    unit, applies = _checked_unit(claim, facts)
    return applies and unit is not None and unit.status == SerialStatus.RETURNED


SERIAL_RULES = {
    "serial_unknown": serial_unknown,
    "serial_other_chain": serial_other_chain,
    "serial_installed": serial_installed,
    "serial_returned": serial_returned,
}


def mark_installed(session: Session, claim: Claim, facts: ClaimFacts | None = None) -> None:
    """An approved install: its unit (if registered) is installed by the claimant, now.
    `facts`: the claim's checks, which may have read (and locked) the unit already."""
    if claim.kind != ClaimKind.INSTALL or not claim.serial:
        return
    unit = facts.locked_unit(claim.serial) if facts else unit_of(session, claim.serial, lock=True)
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
