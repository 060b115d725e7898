"""The claims' monthly counts move with every claim and never disagree with a direct count."""

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel.claim_models import Claim, ClaimMonth
from channel.claim_rollups import check_claim_months
from channel.claims import reject_claim
from channel.person_months import PersonMonth, check_person_months
from core.db import get_session
from core.months import month_key
from roles.permissions import Role
from tests.builders import build_world

NOW = datetime.now(UTC)
THIS_MONTH = datetime(NOW.year, NOW.month, 1, tzinfo=UTC)


def months_ago(n: int) -> datetime:
    year, month = divmod(THIS_MONTH.year * 12 + THIS_MONTH.month - 1 - n, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def _claim(person, created_at, flags=(), status="pending") -> Claim:
    return Claim(
        person_id=person.id,
        partner_id=person.partner_id,
        kind="install",
        occurred_on=date(2026, 1, 1),
        serial=f"S-{created_at.timestamp()}-{person.id}",
        status=status,
        flags=list(flags),
        created_at=created_at,
    )


#: (months before this one, day, who (0: partner A, 1: partner B), flags, what happens next)
STEPS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=1, max_value=27),
        st.integers(min_value=0, max_value=1),
        st.lists(
            st.sampled_from(["burst", "duplicate_serial", "duplicate_invoice_line"]), unique=True
        ),
        st.sampled_from(["stay", "reject", "approve", "approve and return", "reflag"]),
    ),
    max_size=15,
)
MOMENTS = st.one_of(
    st.builds(months_ago, st.integers(min_value=0, max_value=4)),
    st.builds(
        lambda n, days: months_ago(n) + timedelta(days=days, hours=7),
        st.integers(min_value=1, max_value=4),
        st.integers(min_value=0, max_value=27),
    ),
    st.just(NOW + timedelta(days=1)),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=STEPS,
    periods=st.lists(st.tuples(MOMENTS, MOMENTS, st.sampled_from(["all", "B", "LV"])), max_size=4),
)
def test_claims_submitted_and_decided_keep_counts_and_figures_equal_to_a_direct_count(
    db, world, steps, periods
):
    people = (world.people[Role.SELLER], world.others[Role.SELLER])
    reviewer = world.people[Role.CHANNEL_MANAGER]
    nested = db.begin_nested()
    try:
        for back, day, who, flags, then in steps:
            moment = min(months_ago(back) + timedelta(days=day - 1, hours=3), NOW)
            with time_machine.travel(moment, tick=False):
                claim = _claim(people[who], moment, flags)
                db.add(claim)
                db.flush()
            if then == "reject":
                reject_claim(db, claim, actor_id=reviewer.id, reason="no proof")
            elif then.startswith("approve"):
                claim.status = "approved"
                db.flush()
                if then == "approve and return":
                    claim.status = "returned"
            elif then == "reflag":
                claim.flags = ["burst"]
            db.flush()
        claims = db.scalars(select(Claim)).all()
        direct = Counter()
        for c in claims:
            for flag in ("", *c.flags):
                direct[(month_key(c.created_at), c.partner_id, c.status, flag)] += 1
        stored = {
            (r.month, r.partner_id, r.status, r.flag): r.claims
            for r in db.scalars(select(ClaimMonth))
            if r.claims
        }
        assert stored == dict(direct)
        assert check_claim_months(db) == []
        # Each person's claims by month, kept with them for the engagement of a month.
        made = Counter((month_key(c.created_at), c.person_id) for c in claims)
        kept = {(r.month, r.person_id): r.claims for r in db.scalars(select(PersonMonth))}
        assert {k: n for k, n in kept.items() if n} == dict(made)
        assert check_person_months(db) == []

        for first, second, narrowed in [(months_ago(4), NOW + timedelta(days=1), "all")] + periods:
            start, end = sorted((first, second))
            filters, keep = {
                "all": (d.EVERYTHING, lambda c: True),
                "B": (
                    d.Filters(partner_id=world.partner_b.id),
                    lambda c: c.partner_id == world.partner_b.id,
                ),
                "LV": (d.Filters(country="LV"), lambda c: c.partner_id == world.partner_a.id),
            }[narrowed]
            shown = [c for c in claims if keep(c) and start <= c.created_at < end]
            figures = cd.claim_figures(db, start, end, filters)
            assert figures.by_status == dict(Counter(c.status for c in shown))
            assert figures.by_flag == dict(Counter(f for c in shown for f in c.flags))
    finally:
        nested.rollback()


def test_a_tampered_count_fails_the_ledger_check(app, db, world):
    db.add(_claim(world.people[Role.SELLER], months_ago(1) + timedelta(days=2), ["burst"]))
    db.flush()
    assert check_claim_months(db) == []
    db.execute(update(ClaimMonth).where(ClaimMonth.flag == "burst").values(claims=5))
    wrong = check_claim_months(db)
    assert len(wrong) == 1 and "stored 5, counted 1" in wrong[0]
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "stored 5, counted 1" in result.output


@pytest.mark.postgresql
def test_claims_of_one_partner_written_at_once_all_count(committed_postgres_app):
    app = committed_postgres_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        seller, reviewer = world.people[Role.SELLER], world.people[Role.CHANNEL_MANAGER]
        decided = [_claim(seller, NOW - timedelta(seconds=n)) for n in range(4)]
        db.add_all(decided)
        db.commit()
        ids = [c.id for c in decided]

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, failures = threading.Barrier(8), []

    def submit(n):
        try:
            with factory() as session:
                start.wait()
                session.add(_claim(seller, NOW - timedelta(minutes=n), ["burst"]))
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    def decide(claim_id):
        # Two reviewers reject each claim at once: the second finds it decided.
        try:
            with factory() as session:
                claim = session.get(Claim, claim_id)
                start.wait()
                reject_claim(session, claim, actor_id=reviewer.id, reason="no proof")
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(type(error).__name__)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=decide, args=(ids[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(failures) == ["InvalidClaim", "InvalidClaim"]
    with factory() as session:
        assert check_claim_months(session) == []
        assert check_person_months(session) == []
        assert (
            session.scalar(
                select(func.sum(PersonMonth.claims)).where(PersonMonth.person_id == seller.id)
            )
            == len(decided) + 4
        )
        figures = cd.claim_figures(session, NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert figures.by_status == {"pending": 6, "rejected": 2}
        assert figures.by_flag == {"burst": 4}
