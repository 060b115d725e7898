"""Importing many sales lines at once: the same rules and ledger, written in bulk.

A chunk of new lines becomes claims, claim lines and activities written straight through the
driver (`core.bulk`), with their ids allocated first; the rules engine then runs over them in
memory with one running `Usage` per program, read once per import under the program row lock
and kept up to date as the chunks post; the ledger entries and balance changes are written in
bulk by `channel.postings.post_many`. Points come out exactly as `record_activity` would give
them line by line.
"""

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from channel import rules as engine
from channel.claim_models import Claim, ClaimKind, ClaimLine, ClaimStatus
from channel.claim_rollups import add_claim_counts
from channel.earning import award_lines, engine_approval, engine_terms, product_facts
from channel.ledger import Activity, add_cap_totals, person_earnings
from channel.models import (
    Enrollment,
    Product,
    Program,
    ProgramDecision,
    ProgramStatus,
    ProgramTarget,
)
from channel.partner_models import PartnerOrganization
from channel.postings import EntryRow, Posting, post_many
from channel.rule_params import EventKind
from core.bulk import BulkWriter, in_values
from core.db import utcnow
from core.months import month_key
from core.zones import noon_utc
from roles.models import RoleAssignment


class SalesLine(NamedTuple):
    number: int
    key: str
    person_id: int
    partner_id: int
    invoice: str
    day: date
    sku: str
    quantity: int


def _programs_for_partners(session: Session, partners) -> dict[int, list[Program]]:
    """`programs_for_partner` of many partners in one look-up, each list newest first."""
    tiers = sorted({p.tier_id for p in partners if p.tier_id is not None})
    targets = ProgramTarget.partner_id.in_(sorted(p.id for p in partners))
    if tiers:
        targets = targets | ProgramTarget.tier_id.in_(tiers)
    rows = session.execute(
        select(Program, ProgramTarget.partner_id, ProgramTarget.tier_id)
        .join(ProgramTarget, ProgramTarget.program_id == Program.id)
        .where(Program.status != ProgramStatus.DRAFT, targets)
        .order_by(Program.starts_at.desc(), Program.id.desc())
    ).all()
    found: dict[int, list[Program]] = {}
    for partner in partners:
        programs = found.setdefault(partner.id, [])
        for program, partner_id, tier_id in rows:
            offered = partner_id == partner.id or (
                tier_id is not None and tier_id == partner.tier_id
            )
            if offered and program not in programs:
                programs.append(program)
    return found


class ImportContext:
    """What stays the same for a whole file: programs per partner, people, products, and the
    programs' running usage (exact while this transaction holds their row locks)."""

    def __init__(self, session: Session):
        self.session = session
        self.programs: dict[int, list] = {}
        self.products: dict[str, tuple] = {}
        self.roles: dict[int, frozenset[str]] = {}
        #: (program id, approved version) -> the engine's terms, shared by its partners
        self.terms: dict[tuple[int, int], engine.Terms] = {}
        #: program id -> (usage, partners and people whose totals it holds)
        self.usages: dict[int, tuple[engine.Usage, set[int], set[int]]] = {}
        #: (program id, person id) -> enrolled
        self.enrolled: dict[tuple[int, int], bool] = {}
        #: person id -> (points earned by this import's bulk chunks, program ids), and the
        #: SKUs and the first claim of those chunks: what the import tells people afterwards.
        self.earned: dict[int, tuple[int, set[int]]] = {}
        self.skus: set[str] = set()
        self.first_claim_id: int | None = None

    def load_partners(self, partner_ids) -> None:
        """The live programs each of `partner_ids` approved, with their evaluators: the
        partners, their programs, decisions (with exclusions) and terms each read once for
        all of them, whatever the number of partners."""
        missing = sorted(set(partner_ids) - set(self.programs))
        if not missing:
            return
        partners = self.session.scalars(
            select(PartnerOrganization)
            .where(PartnerOrganization.id.in_(missing))
            .options(joinedload(PartnerOrganization.tier))
        ).all()
        offered = _programs_for_partners(self.session, partners)
        live = {p.id for programs in offered.values() for p in programs}
        decisions = {
            (decision.program_id, decision.partner_id): decision
            for decision in self.session.scalars(
                select(ProgramDecision)
                .where(
                    ProgramDecision.program_id.in_(sorted(live)),
                    ProgramDecision.partner_id.in_(missing),
                )
                .options(selectinload(ProgramDecision.exclusions))
            )
        }
        for partner in partners:
            found = []
            for program in offered[partner.id]:
                if program.status != ProgramStatus.ACTIVE:
                    continue
                decision = decisions.get((program.id, partner.id))
                approval = engine_approval(decision, partner)
                if approval is not None:
                    found.append(
                        (program, engine.Evaluator(self._terms(program, decision), approval))
                    )
            self.programs[partner.id] = found

    def _terms(self, program: Program, decision) -> engine.Terms:
        key = (program.id, decision.approved_version)
        if key not in self.terms:
            self.terms[key] = engine_terms(
                self.session, program, decision.approved_version, active=True
            )
        return self.terms[key]

    def programs_of(self, partner_id: int) -> list[tuple[Program, engine.Evaluator]]:
        self.load_partners([partner_id])
        return self.programs[partner_id]

    def load_products(self, skus) -> None:
        """Each SKU's (group code, points a unit), read once for all of `skus`."""
        missing = sorted(set(skus) - set(self.products))
        if not missing:
            return
        self.products.update(dict.fromkeys(missing, (None, None)))
        for product in self.session.scalars(
            select(Product).where(Product.sku.in_(missing)).options(joinedload(Product.group))
        ):
            self.products[product.sku] = (product.group.code, product.unit_points)

    def product(self, sku: str):
        if sku not in self.products:
            self.products[sku] = product_facts(self.session, sku)
        return self.products[sku]

    def person_roles(self, person_ids) -> None:
        missing = sorted(set(person_ids) - set(self.roles))
        if not missing:
            return
        found: dict[int, set[str]] = {person_id: set() for person_id in missing}
        for person_id, role in self.session.execute(
            select(RoleAssignment.person_id, RoleAssignment.role).where(
                in_values(self.session, RoleAssignment.person_id, missing)
            )
        ):
            found[person_id].add(role)
        self.roles.update((person_id, frozenset(roles)) for person_id, roles in found.items())

    def usage(self, program_id: int, partner_ids: set[int], person_ids: set[int]) -> engine.Usage:
        """The program's usage, with the totals of `partner_ids` and the monthly totals of
        `person_ids` (call under its lock)."""
        if program_id not in self.usages:
            self.usages[program_id] = (engine.Usage(), set(), set())
            add_cap_totals(self.session, program_id, self.usages[program_id][0])
        usage, partners, people = self.usages[program_id]
        # Only the partners and people a chunk names: an API call of a few lines reads a few
        # partners' entries, not the totals of every partner in the program's history.
        if partner_ids - partners or person_ids - people:
            add_cap_totals(
                self.session,
                program_id,
                usage,
                program=False,
                partner_ids=partner_ids - partners,
                person_ids=person_ids - people,
            )
            partners |= partner_ids
            people |= person_ids
        return usage

    def load_enrolments(self, program_ids, person_ids) -> None:
        missing = {
            person_id
            for person_id in person_ids
            for program_id in program_ids
            if (program_id, person_id) not in self.enrolled
        }
        if not missing:
            return
        found = set(
            self.session.execute(
                select(Enrollment.program_id, Enrollment.person_id).where(
                    Enrollment.program_id.in_(program_ids),
                    Enrollment.person_id.in_(missing),
                    Enrollment.current,
                )
            ).all()
        )
        for program_id in program_ids:
            for person_id in missing:
                self.enrolled[(program_id, person_id)] = (program_id, person_id) in found

    def count_earnings(self, entries: list[tuple], skus, first_claim_id: int) -> None:
        """Add a posted chunk's ledger rows (in ENTRY_COLUMNS order) to what people earned."""
        person_earnings(map(EntryRow._make, entries), self.earned)
        self.skus.update(skus)
        if self.first_claim_id is None:
            self.first_claim_id = first_claim_id

    def forget_usage(self) -> None:
        """After a chunk was rolled back, or lines were posted one by one: read it again."""
        self.usages.clear()


CLAIM_COLUMNS = (
    "id",
    "person_id",
    "partner_id",
    "kind",
    "status",
    "occurred_on",
    "invoice_number",
    "source_key",
    "flags",
    "amount",
    "created_at",
    "decided_at",
)
CLAIM_LINE_COLUMNS = ("claim_id", "line_no", "sku", "quantity")
ACTIVITY_COLUMNS = (
    "id",
    "kind",
    "occurred_at",
    "partner_id",
    "person_id",
    "source_key",
    "sku",
    "quantity",
    "claim_id",
    "amount",
    "share_percent",
    "is_first_order",
    "created_at",
)


class _Day(NamedTuple):
    """A sale day's values, converted for the driver once per chunk."""

    occurred_on: object
    moment: datetime
    occurred_at: object
    pending_until: datetime | None


def import_chunk(
    session: Session, lines: list[SalesLine], context: ImportContext, return_window: timedelta
):
    """Write `lines` (all new) as approved claims and post what they earn, all or nothing;
    returns the first claim's id and the ledger rows written (None if there were no lines)."""
    if not lines:
        return None
    writer = BulkWriter(session)
    value = writer.value
    claims, activities = Claim.__table__, Activity.__table__
    claim_ids = writer.next_ids(claims, len(lines))
    activity_ids = writer.next_ids(activities, len(lines))
    now = utcnow()
    created = value(claims.c.created_at, now)
    flags = value(claims.c.flags, [])
    no_amount = value(claims.c.amount, Decimal(0))
    not_first = value(activities.c.is_first_order, False)
    days: dict[date, _Day] = {}
    for day in {line.day for line in lines}:
        moment = noon_utc(day)
        days[day] = _Day(
            value(claims.c.occurred_on, day),
            moment,
            value(activities.c.occurred_at, moment),
            moment + return_window if return_window else None,
        )
    writer.insert(
        claims,
        CLAIM_COLUMNS,
        [
            (
                claim_id,
                line.person_id,
                line.partner_id,
                ClaimKind.SALE,
                ClaimStatus.APPROVED,
                days[line.day].occurred_on,
                line.invoice,
                line.key,
                flags,
                no_amount,
                created,
                created,
            )
            for line, claim_id in zip(lines, claim_ids, strict=True)
        ],
    )
    # Written without the ORM: counted here, one upsert row per partner.
    add_claim_counts(
        session.execute,
        session.get_bind().dialect.name,
        Counter(
            (month_key(now), line.partner_id, ClaimStatus.APPROVED, ()) for line in lines
        ).items(),
    )
    writer.insert(
        ClaimLine.__table__,
        CLAIM_LINE_COLUMNS,
        [
            (claim_id, 1, line.sku, line.quantity)
            for line, claim_id in zip(lines, claim_ids, strict=True)
        ],
    )
    activity_keys = [
        f"claim:{claim_id}:1:{line.person_id}"
        for line, claim_id in zip(lines, claim_ids, strict=True)
    ]
    writer.insert(
        activities,
        ACTIVITY_COLUMNS,
        [
            (
                activity_id,
                "sale",
                days[line.day].occurred_at,
                line.partner_id,
                line.person_id,
                activity_key,
                line.sku,
                line.quantity,
                claim_id,
                no_amount,
                100,
                not_first,
                created,
            )
            for line, claim_id, activity_id, activity_key in zip(
                lines, claim_ids, activity_ids, activity_keys, strict=True
            )
        ],
    )
    entries = _post_awards(session, lines, context, days, activity_ids, activity_keys)
    return claim_ids[0], entries


def _post_awards(session, lines, context, days, activity_ids, activity_keys):
    person_ids = {line.person_id for line in lines}
    context.person_roles(person_ids)
    context.load_partners({line.partner_id for line in lines})
    context.load_products({line.sku for line in lines})
    programs = {}
    for partner_id in {line.partner_id for line in lines}:
        for program, _evaluator in context.programs_of(partner_id):
            programs[program.id] = program
    for program_id in sorted(programs):  # the same lock `record_activity` takes, in one order
        session.execute(select(Program.id).where(Program.id == program_id).with_for_update())
    partner_ids = {line.partner_id for line in lines}
    usages = {
        program_id: context.usage(program_id, partner_ids, person_ids) for program_id in programs
    }
    context.load_enrolments(list(programs), person_ids)
    #: partner id -> (program id, evaluator, usage) of each program it takes part in
    plans = {
        partner_id: [
            (program.id, evaluator, usages[program.id])
            for program, evaluator in context.programs_of(partner_id)
        ]
        for partner_id in {line.partner_id for line in lines}
    }
    postings = []
    #: (id of an outcome, day) -> (the outcome, kept so its id stays its own; its lines)
    alike: dict[tuple[int, datetime], tuple] = {}
    participants: dict[tuple[int, int, int], engine.Participant] = {}
    for line, activity_id, activity_key in zip(lines, activity_ids, activity_keys, strict=True):
        group, unit_points = context.product(line.sku)
        day = days[line.day]
        event = engine.Event(
            kind=EventKind.SALE,
            occurred_at=day.moment,
            partner_id=line.partner_id,
            person_id=line.person_id,
            key=activity_key,
            sku=line.sku,
            product_group=group,
            unit_points=unit_points,
            quantity=line.quantity,
        )
        for program_id, evaluator, usage in plans[line.partner_id]:
            who = (program_id, line.person_id, line.partner_id)
            participant = participants.get(who)
            if participant is None:
                participant = participants[who] = engine.Participant(
                    person_id=line.person_id,
                    partner_id=line.partner_id,
                    roles=context.roles.get(line.person_id, frozenset()),
                    enrolled=context.enrolled[(program_id, line.person_id)],
                )
            outcome = evaluator.evaluate(event, participant, usage)
            if outcome.awards:
                # Alike outcomes on one day share their lines, which post_many converts once.
                shared = alike.get((id(outcome), day.moment))
                if shared is None:
                    shared = alike[(id(outcome), day.moment)] = (
                        outcome,
                        award_lines(
                            SimpleNamespace(id=None, occurred_at=day.moment),
                            outcome,
                            pending_until=day.pending_until,
                        ),
                    )
                postings.append(
                    Posting(f"award:{activity_id}:{program_id}", shared[1], activity_id)
                )
    return post_many(session, postings)
