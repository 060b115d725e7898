"""Importing many sales lines at once: the same rules and ledger, written in bulk.

A chunk of new lines becomes claims, claim lines and activities by bulk INSERTs; the rules
engine then runs over them in memory with one running `Usage` per program (read once per
chunk, under the program row lock), and the ledger entries and balance changes are written
in bulk too. Points come out exactly as `record_activity` would give them line by line.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from channel.approvals import current_decision, programs_for_partner
from channel.claims import Claim, ClaimLine
from channel.earning import award_lines, engine_approval, engine_terms, product_facts
from channel.ledger import Activity, Balance, LedgerEntry
from channel.models import Enrollment, PartnerOrganization, Program
from core.db import utcnow
from roles import rules as engine
from roles.models import Person
from roles.rule_params import EventKind


@dataclass(frozen=True)
class SalesLine:
    number: int
    key: str
    person_id: int
    partner_id: int
    invoice: str
    day: date
    sku: str
    quantity: int


class ImportContext:
    """What stays the same for a whole file: programs per partner, people, products."""

    def __init__(self, session: Session):
        self.session = session
        self.programs: dict[int, list] = {}
        self.products: dict[str, tuple] = {}
        self.roles: dict[int, frozenset[str]] = {}

    def programs_of(self, partner_id: int) -> list[tuple[Program, engine.Terms, engine.Approval]]:
        if partner_id not in self.programs:
            partner = self.session.get(PartnerOrganization, partner_id)
            found = []
            for program in programs_for_partner(self.session, partner):
                if program.status != "active":
                    continue
                decision = current_decision(self.session, program, partner)
                approval = engine_approval(decision, partner)
                if approval is not None:
                    terms = engine_terms(
                        self.session, program, decision.approved_version, active=True
                    )
                    found.append((program, terms, approval))
            self.programs[partner_id] = found
        return self.programs[partner_id]

    def product(self, sku: str):
        if sku not in self.products:
            self.products[sku] = product_facts(self.session, sku)
        return self.products[sku]

    def person_roles(self, person_ids) -> None:
        missing = set(person_ids) - set(self.roles)
        for person in self.session.scalars(select(Person).where(Person.id.in_(missing))):
            self.roles[person.id] = frozenset(r.value for r in person.roles)


def _usage(session: Session, program_id: int, person_ids) -> engine.Usage:
    """The program's totals the caps of sale rules need, each one summed in the database."""
    usage = engine.Usage()
    earned = (LedgerEntry.program_id == program_id, LedgerEntry.kind.in_(("earn", "reverse")))
    usage.program_points = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.budget_points), 0)).where(*earned)
    )
    for partner_id, total in session.execute(
        select(LedgerEntry.partner_id, func.sum(LedgerEntry.budget_points))
        .where(*earned)
        .group_by(LedgerEntry.partner_id)
    ):
        usage.partner_points[partner_id] = int(total or 0)
    for person_id, month, total in session.execute(
        select(LedgerEntry.person_id, LedgerEntry.month, func.sum(LedgerEntry.points))
        .where(*earned, LedgerEntry.person_id.in_(person_ids))
        .group_by(LedgerEntry.person_id, LedgerEntry.month)
    ):
        usage.person_month_points[(person_id, month)] = int(total or 0)
    return usage


def import_chunk(
    session: Session, lines: list[SalesLine], context: ImportContext, return_window: timedelta
):
    """Write `lines` (all new) as approved claims and post what they earn; all or nothing."""
    if not lines:
        return
    now = utcnow()
    session.execute(
        Claim.__table__.insert(),
        [
            {
                "person_id": line.person_id,
                "partner_id": line.partner_id,
                "kind": "sale",
                "status": "approved",
                "occurred_on": line.day,
                "invoice_number": line.invoice,
                "source_key": line.key,
                "flags": [],
                "created_at": now,
                "decided_at": now,
            }
            for line in lines
        ],
    )
    # Plain executemany and one look-up: much faster than INSERT … RETURNING row by row.
    claim_ids = dict(
        session.execute(
            select(Claim.source_key, Claim.id).where(
                Claim.source_key.in_([line.key for line in lines])
            )
        ).all()
    )
    session.execute(
        ClaimLine.__table__.insert(),
        [
            {
                "claim_id": claim_ids[line.key],
                "line_no": 1,
                "sku": line.sku,
                "quantity": line.quantity,
            }
            for line in lines
        ],
    )
    moments = {line.key: datetime.combine(line.day, time(12), tzinfo=UTC) for line in lines}
    activity_keys = {line.key: f"claim:{claim_ids[line.key]}:1:{line.person_id}" for line in lines}
    session.execute(
        Activity.__table__.insert(),
        [
            {
                "kind": "sale",
                "occurred_at": moments[line.key],
                "partner_id": line.partner_id,
                "person_id": line.person_id,
                "source_key": activity_keys[line.key],
                "sku": line.sku,
                "quantity": line.quantity,
                "claim_id": claim_ids[line.key],
                "amount": 0,
                "share_percent": 100,
                "is_first_order": False,
                "created_at": now,
            }
            for line in lines
        ],
    )
    activity_ids = dict(
        session.execute(
            select(Activity.source_key, Activity.id).where(
                Activity.source_key.in_(list(activity_keys.values()))
            )
        ).all()
    )
    _post_awards(session, lines, context, return_window, moments, claim_ids, activity_ids, now)


def _post_awards(session, lines, context, return_window, moments, claim_ids, activity_ids, now):
    person_ids = {line.person_id for line in lines}
    context.person_roles(person_ids)
    programs = {}
    for partner_id in {line.partner_id for line in lines}:
        for program, _terms, _approval in context.programs_of(partner_id):
            programs[program.id] = program
    for program_id in sorted(programs):  # the same lock `record_activity` takes, in one order
        session.execute(select(Program.id).where(Program.id == program_id).with_for_update())
    usages = {program_id: _usage(session, program_id, person_ids) for program_id in programs}
    enrolled = set(
        session.execute(
            select(Enrollment.program_id, Enrollment.person_id).where(
                Enrollment.program_id.in_(programs),
                Enrollment.person_id.in_(person_ids),
                Enrollment.ended_at.is_(None),
            )
        ).all()
    )
    entries, deltas = [], defaultdict(int)
    for line in lines:
        group, unit_points = context.product(line.sku)
        activity_key = f"claim:{claim_ids[line.key]}:1:{line.person_id}"
        activity = SimpleNamespace(id=activity_ids[activity_key], occurred_at=moments[line.key])
        event = engine.Event(
            kind=EventKind.SALE,
            occurred_at=moments[line.key],
            partner_id=line.partner_id,
            person_id=line.person_id,
            key=activity_key,
            sku=line.sku,
            product_group=group,
            unit_points=unit_points,
            quantity=line.quantity,
        )
        for program, terms, approval in context.programs_of(line.partner_id):
            participant = engine.Participant(
                person_id=line.person_id,
                partner_id=line.partner_id,
                roles=context.roles.get(line.person_id, frozenset()),
                enrolled=(program.id, line.person_id) in enrolled,
            )
            outcome = engine.evaluate(event, terms, approval, participant, usages[program.id])
            pending_until = moments[line.key] + return_window if return_window else None
            key = f"award:{activity.id}:{program.id}"
            for number, award in enumerate(
                award_lines(activity, outcome, pending_until=pending_until)
            ):
                deltas[(award.account, award.bucket)] += award.points
                entries.append(_entry_row(key, number, award, now))
    if entries:
        session.execute(LedgerEntry.__table__.insert(), entries)
    _move_balances(session, deltas)


def _entry_row(key: str, number: int, line, now: datetime) -> dict:
    return {
        "created_at": now,
        "posting_key": key,
        "line": number,
        "account_key": line.account,
        "bucket": line.bucket,
        "kind": line.kind,
        "points": line.points,
        "memo": line.memo,
        "refers_to_id": line.refers_to_id,
        "available_at": line.available_at,
        "program_id": line.program_id,
        "partner_id": line.partner_id,
        "person_id": line.person_id,
        "to_pool": line.to_pool,
        "budget_points": line.budget_points,
        "money": line.money,
        "discount_percent": line.discount_percent,
        "activity_id": line.activity_id,
        "scheme_id": line.scheme_id,
        "rule_id": line.rule_id,
        "rule_kind": line.rule_kind,
        "once_key": line.once_key,
        "reason": line.reason,
        "month": line.month,
    }


def _move_balances(session: Session, deltas: dict) -> None:
    """Credit each account once for the whole chunk (a sale only ever credits)."""
    accounts = {account for account, _ in deltas}
    known = set(
        session.scalars(select(Balance.account_key).where(Balance.account_key.in_(accounts)))
    )
    missing = sorted(accounts - known)
    if missing:
        session.execute(
            Balance.__table__.insert(),
            [{"account_key": a, "pending": 0, "available": 0} for a in missing],
        )
    for (account, bucket), delta in sorted(deltas.items()):
        if delta:
            column = getattr(Balance, bucket)
            session.execute(
                update(Balance)
                .where(Balance.account_key == account)
                .values({bucket: column + delta})
                .execution_options(synchronize_session=False)
            )
