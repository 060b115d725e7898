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
from sqlalchemy.orm import Session

from channel import rules as engine
from channel.claim_models import Claim, ClaimKind, ClaimLine, ClaimStatus
from channel.claim_rollups import add_claim_counts
from channel.earning import award_lines
from channel.ledger import Activity
from channel.models import (
    Program,
)
from channel.postings import Deferred, Posting, post_many
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


def import_chunk(
    session: Session, lines: list[SalesLine], context: ImportContext, return_window: timedelta
):
    """Write `lines` (all new) as approved claims and post what they earn, all or nothing;
    returns the first claim's id, the ledger rows written and the balance moves and people's
    months they make, not yet written (`channel.postings.Deferred`; None if there were no
    lines)."""
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
    deferred = Deferred()
    deferred.person_months.add_claims(
        Counter((month_key(now), line.person_id, line.partner_id) for line in lines).items()
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
    entries = _post_awards(session, lines, context, days, activity_ids, activity_keys, deferred)
    return claim_ids[0], entries, deferred


def _post_awards(session, lines, context, days, activity_ids, activity_keys, deferred):
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
    return post_many(session, postings, deferred=deferred)
