"""Importing many sales lines at once: the same rules and ledger, written in bulk.

A chunk of new lines goes in three steps. `read_chunk` draws the ids of its claims and
activities and reads what it earns under (programs, people, products, and one running `Usage`
per program, read once per import under the program row lock). `compute_chunk` then runs the
rules engine over it in memory and makes every row (claims, claim lines, activities, ledger
entries: `channel.postings.prepare_postings`) without touching the database, so the import can
run it while the previous chunk's rows are written. `write_chunk` writes them straight through
the driver (`core.bulk`), all or nothing. Balance moves and the people's months are summed for
the whole file and written once (`channel.postings.Deferred`). Points come out exactly as
`record_activity` would give them line by line.
"""

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel import rules as engine
from channel.claim_models import Claim, ClaimKind, ClaimLine, ClaimStatus
from channel.claim_rollups import add_claim_counts
from channel.earning import award_lines
from channel.ledger import Activity
from channel.models import (
    Program,
)
from channel.postings import Deferred, Posting, PreparedPostings, prepare_postings, write_postings
from channel.rule_params import EventKind
from channel.sales_context import ImportContext
from core.bulk import BulkWriter
from core.db import utcnow
from core.months import month_key
from core.zones import noon_utc


class SalesLine(NamedTuple):
    number: int
    key: str
    person_id: int
    partner_id: int
    invoice: str
    day: date
    sku: str
    quantity: int


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


class ChunkReads(NamedTuple):
    """What a chunk read from the database before its rows are computed."""

    lines: list[SalesLine]
    #: Converts values for the driver while the rows are computed (no database work).
    writer: BulkWriter
    claim_ids: list[int]
    activity_ids: list[int]
    #: partner id -> (program id, evaluator, usage) of each program it takes part in
    plans: dict[int, list[tuple]]


class ChunkRows(NamedTuple):
    """A chunk's rows, ready to write (`write_chunk`)."""

    claims: list[tuple]
    claim_counts: list
    claim_lines: list[tuple]
    activities: list[tuple]
    postings: PreparedPostings
    first_claim_id: int

    @property
    def deferred(self) -> Deferred:
        """The chunk's balance moves and people's months, left for the import to write."""
        return self.postings.deferred


def read_chunk(session: Session, lines: list[SalesLine], context: ImportContext) -> ChunkReads:
    """Everything `compute_chunk` needs from the database for `lines` (all new): their ids,
    and the programs, people, products and running usage they earn under, the programs'
    rows locked as `record_activity` locks them."""
    writer = BulkWriter(session)
    claim_ids = writer.next_ids(Claim.__table__, len(lines))
    activity_ids = writer.next_ids(Activity.__table__, len(lines))
    person_ids = {line.person_id for line in lines}
    partner_ids = {line.partner_id for line in lines}
    context.person_roles(person_ids)
    context.load_partners(partner_ids)
    context.load_products({line.sku for line in lines})
    programs = {}
    for partner_id in partner_ids:
        for program, _evaluator in context.programs_of(partner_id):
            programs[program.id] = program
    # The same lock `record_activity` takes, in one order; held to the transaction's end, so
    # each program's is taken by the first chunk that earns under it.
    for program_id in sorted(set(programs) - context.locked):
        session.execute(select(Program.id).where(Program.id == program_id).with_for_update())
        context.locked.add(program_id)
    usages = context.usages_for(sorted(programs), partner_ids, person_ids)
    context.load_enrolments(list(programs), person_ids)
    plans = {
        partner_id: [
            (program.id, evaluator, usages[program.id])
            for program, evaluator in context.programs_of(partner_id)
        ]
        for partner_id in partner_ids
    }
    return ChunkReads(lines, writer, claim_ids, activity_ids, plans)


def compute_chunk(reads: ChunkReads, context: ImportContext, return_window: timedelta) -> ChunkRows:
    """The chunk's claims, claim lines and activities as approved claims, and the ledger rows
    of what they earn, with no database work: it may run while another chunk is written. The
    programs' usage in `context` is charged with what the chunk earns."""
    lines, writer, claim_ids, activity_ids = reads.lines, *reads[1:4]
    value = writer.value
    claims, activities = Claim.__table__, Activity.__table__
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
    claim_rows = [
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
    ]
    # Written without the ORM: counted here, one upsert row per partner.
    claim_counts = Counter(
        (month_key(now), line.partner_id, ClaimStatus.APPROVED, ()) for line in lines
    ).items()
    claim_lines = [
        (claim_id, 1, line.sku, line.quantity)
        for line, claim_id in zip(lines, claim_ids, strict=True)
    ]
    activity_keys = [
        f"claim:{claim_id}:1:{line.person_id}"
        for line, claim_id in zip(lines, claim_ids, strict=True)
    ]
    activity_rows = [
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
    ]
    postings = prepare_postings(
        writer, _awards(lines, context, reads.plans, days, activity_ids, activity_keys)
    )
    postings.deferred.person_months.add_claims(
        Counter((month_key(now), line.person_id, line.partner_id) for line in lines).items()
    )
    return ChunkRows(
        claim_rows, list(claim_counts), claim_lines, activity_rows, postings, claim_ids[0]
    )


def write_chunk(session: Session, rows: ChunkRows) -> None:
    """Write a computed chunk, all or nothing (a savepoint): IntegrityError if a concurrent
    import took one of its lines. Its balance moves and people's months are not written
    (`rows.deferred`)."""
    with session.begin_nested():
        # Made inside the savepoint, which the session opens when asked for its connection.
        writer = BulkWriter(session)
        writer.insert(Claim.__table__, CLAIM_COLUMNS, rows.claims)
        add_claim_counts(session.execute, session.get_bind().dialect.name, rows.claim_counts)
        writer.insert(ClaimLine.__table__, CLAIM_LINE_COLUMNS, rows.claim_lines)
        writer.insert(Activity.__table__, ACTIVITY_COLUMNS, rows.activities)
        write_postings(session, writer, rows.postings)


def _awards(lines, context, plans, days, activity_ids, activity_keys) -> list[Posting]:
    """What each line earns under each program its partner takes part in, as postings."""
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
            if not evaluator.may_pay(event, participant):
                continue
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
    return postings
