"""The dashboards read rollups, never disagree with the ledger, and cost the same for any history."""

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import sessionmaker

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel import partner_dashboard as pd
from channel.ledger import EARNED_KINDS, LedgerEntry, LedgerMonth
from channel.models import EarningMonth, EngagementMonth, Enrollment, MonthRefresh
from channel.month_rollups import check_months, refresh_months, stored_months
from channel.person_months import PersonMonth, check_person_months
from channel.postings import InsufficientPoints, Line, person_account, post
from channel.rollups import NO_PROGRAM, check_rollups
from core.db import get_session
from core.months import month_key
from roles.models import RoleAssignment
from roles.permissions import Role
from tests.builders import build_world, login_as, make_program
from tests.channel.conftest import OCT, OCT_KEY, SEPT, SEPT_KEY

NOW = datetime.now(UTC)
THIS_MONTH = datetime(NOW.year, NOW.month, 1, tzinfo=UTC)


def months_ago(n: int) -> datetime:
    """The first instant of the month `n` months before this one."""
    year, month = divmod(THIS_MONTH.year * 12 + THIS_MONTH.month - 1 - n, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- periods as whole months


def test_a_period_up_to_now_is_read_from_the_rollups_whole():
    span = cd.split_period(months_ago(11), NOW + timedelta(days=1), NOW)
    assert (span.first, span.until, span.parts) == (month_key(months_ago(11)), None, [])


def test_part_months_at_either_end_of_a_past_period_are_read_from_the_entries():
    start, end = months_ago(5) + timedelta(days=3), months_ago(2) + timedelta(days=9)
    span = cd.split_period(start, end, NOW)
    assert (span.first, span.until) == (month_key(months_ago(4)), month_key(months_ago(2)))
    assert span.parts == [(start, months_ago(4)), (months_ago(2), end)]


def test_a_period_inside_one_past_month_is_read_from_the_entries_alone():
    start, end = months_ago(3) + timedelta(days=1), months_ago(3) + timedelta(days=8)
    span = cd.split_period(start, end, NOW)
    assert (span.whole, span.parts) == (False, [(start, end)])


# ---------------------------------------------------------------- the property


#: (months before this one, which person (0, 1: partner A; 2: partner B), program (2: none),
#:  operation, points, day of the month)
STEPS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=2),
        st.sampled_from(["earn", "earn", "reverse", "redeem", "expire"]),
        st.integers(min_value=1, max_value=40),
        st.integers(min_value=1, max_value=27),
    ),
    max_size=20,
)
#: Moments a period may start or end at: month starts, mid-months, now and later.
MOMENTS = st.one_of(
    st.builds(months_ago, st.integers(min_value=0, max_value=4)),
    st.builds(
        lambda n, days: months_ago(n) + timedelta(days=days, hours=5),
        st.integers(min_value=1, max_value=4),
        st.integers(min_value=0, max_value=27),
    ),
    st.just(NOW + timedelta(days=1)),
)
FILTERS = st.sampled_from(["everything", "program", "partner", "country"])


def _direct(entries, start, end, keep):
    """What the dashboard must show, summed straight from the entries in [start, end)."""
    flows: dict[str, int] = defaultdict(int)
    partners: dict[int, int] = defaultdict(int)
    people: dict[int, int] = defaultdict(int)
    outstanding = 0
    for e in entries:
        if not keep(e) or e.created_at >= end:
            continue
        outstanding += e.points
        if e.created_at < start:
            continue
        if e.kind in cd.FLOW_KINDS:
            flows[cd.FLOW_KINDS[e.kind]] += e.points
        if e.kind in EARNED_KINDS:
            partners[e.partner_id] += e.points
            if e.person_id is not None and not e.to_pool:
                people[e.person_id] += e.points
    return dict(flows), dict(partners), dict(people), outstanding


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=STEPS,
    periods=st.lists(st.tuples(MOMENTS, MOMENTS, FILTERS), max_size=4),
    refreshed=st.sets(st.integers(min_value=1, max_value=4)),
)
def test_postings_over_months_programs_and_partners_keep_rollups_and_figures_equal_to_the_ledger(
    db, world, steps, periods, refreshed
):
    people = (world.people[Role.SELLER], world.people[Role.TECHNICIAN], world.others[Role.SELLER])
    nested = db.begin_nested()
    try:
        programs = (
            make_program(db, partners=[world.partner_a, world.partner_b]),
            make_program(db, partners=[world.partner_a, world.partner_b]),
            None,
        )
        earned: list[str] = []
        for n, (back, who, which, operation, points, day) in enumerate(steps):
            person, program = people[who], programs[which]
            base = dict(
                account=person_account(person.id),
                partner_id=person.partner_id,
                person_id=person.id,
                program_id=program.id if program else None,
            )
            moment = months_ago(back) + timedelta(days=day - 1, hours=n % 24)
            with time_machine.travel(min(moment, NOW), tick=False):
                try:
                    if operation == "earn":
                        post(
                            db,
                            f"p:{n}",
                            [Line(points=points, kind="earn", budget_points=points, **base)],
                        )
                        earned.append(f"p:{n}")
                    elif operation == "reverse" and earned:
                        key = earned.pop()
                        (e,) = db.scalars(select(LedgerEntry).where(LedgerEntry.posting_key == key))
                        reversal = Line(
                            account=e.account_key,
                            points=-e.points,
                            kind="reverse",
                            partner_id=e.partner_id,
                            person_id=e.person_id,
                            program_id=e.program_id,
                            budget_points=-e.budget_points,
                            refers_to_id=e.id,
                        )
                        post(db, f"reverse:{key}", [reversal])
                    elif operation in ("redeem", "expire"):
                        post(
                            db,
                            f"p:{n}",
                            [Line(points=-points, kind=operation, **{**base, "program_id": None})],
                        )
                except InsufficientPoints:
                    pass  # refused: nothing written
        entries = db.scalars(select(LedgerEntry)).all()

        # The rollups are a direct aggregate of the ledger.
        aggregate: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        for e in entries:
            row = aggregate[
                (month_key(e.created_at), e.kind, e.program_id or NO_PROGRAM, e.partner_id)
            ]
            row[0] += e.points
            row[1] += e.budget_points
            row[2] += 1
        stored = {
            (r.month, r.kind, r.program_id, r.partner_id): [r.points, r.budget_points, r.lines]
            for r in db.scalars(select(LedgerMonth))
        }
        assert stored == dict(aggregate)
        assert check_rollups(db) == []
        # Each person's months, a direct aggregate of the entries too.
        people_months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        for e in entries:
            if e.person_id is None:
                continue
            program = e.program_id or NO_PROGRAM
            if e.kind == "earn":
                people_months[(e.month, e.person_id, program, e.partner_id)][0] += 1
            if e.kind in EARNED_KINDS and not e.to_pool:
                row = people_months[(month_key(e.created_at), e.person_id, program, e.partner_id)]
                row[1] += e.points
                row[2] += 1
        kept = {
            (r.month, r.person_id, r.program_id, r.partner_id): [r.earn_lines, r.points, r.lines]
            for r in db.scalars(select(PersonMonth))
        }
        assert kept == dict(people_months)
        assert check_person_months(db) == []
        # Some closed months stored by the refresh, the others read from the entries.
        refresh_months(db, [month_key(months_ago(n)) for n in refreshed])
        assert check_months(db) == []

        # The figures read from them equal sums of the entries, for any period and filter.
        # The page's own period (up to now) first, then any others.
        for first, second, narrowed in [
            (months_ago(4), NOW + timedelta(days=1), "everything")
        ] + periods:
            start, end = sorted((first, second))
            filters, keep = {
                "everything": (d.EVERYTHING, lambda e: True),
                "program": (
                    d.Filters(program_id=programs[0].id),
                    lambda e: e.program_id == programs[0].id,
                ),
                "partner": (
                    d.Filters(partner_id=world.partner_b.id),
                    lambda e: e.partner_id == world.partner_b.id,
                ),
                "country": (d.Filters(country="LV"), lambda e: e.partner_id == world.partner_a.id),
            }[narrowed]
            flows, partners, earners, outstanding = _direct(entries, start, end, keep)
            summary = cd.points_summary(db, start, end, Decimal("0.01"), filters)
            shown = {
                name: getattr(summary, name)
                for name in ("issued", "reversed", "redeemed", "expired")
                if getattr(summary, name)
            }
            assert shown == {k: v for k, v in flows.items() if v}
            assert summary.outstanding == outstanding
            by_month = defaultdict(int)
            for kinds in summary.by_month.values():
                for name, points in kinds.items():
                    by_month[name] += points
            assert {k: v for k, v in by_month.items() if v} == shown
            leaders = {p.id: p.points for p in cd.top_partners(db, start, end, filters)}
            assert leaders == {p: v for p, v in partners.items() if p in leaders}
            assert set(leaders) == set(partners)
            best = {p.id: p.points for p in cd.top_people(db, start, end, filters)}
            assert best == {p: v for p, v in earners.items() if v}
            if narrowed == "partner":  # partner B's one seller holds one role
                staff = pd.staff_earnings(db, world.partner_b.id, start, end)
                assert sum(r.points for r in staff) == sum(
                    e.points
                    for e in entries
                    if keep(e)
                    and e.kind in EARNED_KINDS
                    and e.program_id is not None
                    and start <= e.created_at < end
                )
    finally:
        nested.rollback()


# ---------------------------------------------------------------- engagement, stored


GROUPINGS = [None, "role", "partner", "country"]


def _engagement(db, filters):
    months = [d.month_of(SEPT.date()), d.month_of(OCT.date())]
    return {by: d.engagement(db, months, filters, by) for by in GROUPINGS}


#: The channel dashboard's months: September and October, and this month (live) as the latest.
def _dashboard_months():
    return [d.month_of(SEPT.date()), d.month_of(OCT.date()), d.month_of(NOW.date())]


def _breakdowns(db, filters):
    months = _dashboard_months()
    return d.engagement_breakdowns(db, months, months[-1:], filters)


def _one_by_one(db, filters):
    months = _dashboard_months()
    return {None: d.engagement(db, months, filters)} | {
        by: d.engagement(db, months[-1:], filters, by) for by in d.BREAKDOWNS
    }


def test_stored_engagement_equals_the_live_count_for_every_grouping_and_filter(db, known):
    narrowings = [
        d.EVERYTHING,
        d.Filters(program_id=known.program.id),
        d.Filters(partner_id=known.riga.id),
        d.Filters(country="PL"),
    ]
    # A person in two roles counts once overall and once in each role.
    db.add(RoleAssignment(person_id=known.s1.id, role="technician"))
    db.flush()
    live = [_engagement(db, filters) for filters in narrowings]
    for filters in narrowings:
        assert _breakdowns(db, filters) == _one_by_one(db, filters)
    assert stored_months(db, [SEPT_KEY, OCT_KEY]) == set()
    assert refresh_months(db, [SEPT_KEY, OCT_KEY, month_key(NOW)]) == 2
    assert stored_months(db, [SEPT_KEY, OCT_KEY, month_key(NOW)]) == {SEPT_KEY, OCT_KEY}
    assert [_engagement(db, filters) for filters in narrowings] == live
    for filters in narrowings:
        assert _breakdowns(db, filters) == _one_by_one(db, filters)
    assert live[0][None][0].enrolled == 3  # and not vacuous


def test_a_stored_month_is_read_from_the_rollup_and_a_stale_one_reported_until_refreshed(
    app, db, known
):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rollups", "refresh"])
    assert result.exit_code == 0, result.output
    assert "engagement and earnings stored for" in result.output
    assert {SEPT_KEY, OCT_KEY} <= set(db.scalars(select(MonthRefresh.month)))
    assert month_key(NOW) not in set(db.scalars(select(MonthRefresh.month)))
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0

    # Seller Two's enrolment is found to have ended in September: October is stale.
    db.execute(
        update(Enrollment)
        .where(Enrollment.person_id == known.s2.id)
        .values(ended_at=SEPT.replace(day=15))
    )
    db.commit()
    october = [d.month_of(OCT.date())]
    assert d.engagement(db, october)[0].enrolled == 3  # the stored count
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert f"engagement ('{OCT_KEY}', 0, {known.riga.id}, '')" in result.output

    assert runner.invoke(args=["rollups", "refresh", "--all"]).exit_code == 0
    assert d.engagement(db, october)[0].enrolled == 2
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_a_tampered_engagement_row_fails_the_ledger_check(app, db, known):
    refresh_months(db, [SEPT_KEY])
    db.execute(update(EngagementMonth).values(active=EngagementMonth.active + 1))
    db.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "engagement" in result.output


# ---------------------------------------------------------------- statements per page


def _history(db, world, months: int) -> None:
    """`months` months of enrolments, earnings and redemptions at both partners."""
    program = make_program(db, partners=[world.partner_a, world.partner_b])
    people = [world.people[Role.SELLER], world.others[Role.SELLER], world.people[Role.TECHNICIAN]]
    for person in people:
        db.add(
            Enrollment(program_id=program.id, person_id=person.id, enrolled_at=months_ago(months))
        )
    db.flush()
    for back in range(months, -1, -1):
        with time_machine.travel(min(months_ago(back) + timedelta(days=2), NOW), tick=False):
            for person in people:
                base = dict(
                    account=person_account(person.id),
                    partner_id=person.partner_id,
                    person_id=person.id,
                )
                post(
                    db,
                    f"h:{back}:{person.id}",
                    [
                        Line(
                            points=30,
                            kind="earn",
                            program_id=program.id,
                            budget_points=30,
                            month=month_key(months_ago(back)),
                            **base,
                        )
                    ],
                )
                post(db, f"h:{back}:{person.id}:r", [Line(points=-5, kind="redeem", **base)])
    refresh_months(db, [month_key(months_ago(n)) for n in range(1, months + 1)])
    db.commit()


def _statements(app, client, path, query) -> tuple[int, str]:
    engine = app.extensions["partnerlift.engine"]
    seen = []

    def count(*_):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path, query_string=query)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["channel", "partner"])
def test_a_dashboards_statements_are_few_and_do_not_grow_with_months_of_history(
    app, client, db, world, page
):
    _history(db, world, 20)
    if page == "channel":
        login_as(client, world.people[Role.CHANNEL_MANAGER])
        path = "/dashboard"
    else:
        login_as(client, world.people[Role.PARTNER_MANAGER])
        path = f"/partners/{world.partner_a.id}/dashboard"
    counts = {}
    for months in (2, 12, 20):
        counts[months], body = _statements(
            app, client, path, {"from": months_ago(months - 1).date().isoformat()}
        )
    assert counts[2] == counts[12] == counts[20], counts
    assert counts[20] <= 30, counts
    if page == "channel":
        assert "Alpha Heating SIA" in body  # the page shows the history it read


# ---------------------------------------------------------------- the people's leader board


def test_the_people_leader_board_reads_two_months_totals_whatever_the_period(db, world):
    _history(db, world, 20)
    entries = db.scalars(
        select(LedgerEntry).where(
            LedgerEntry.kind.in_(EARNED_KINDS), LedgerEntry.person_id.is_not(None)
        )
    ).all()
    periods = [(months_ago(n), NOW + timedelta(days=1)) for n in (1, 2, 12, 19)]
    periods += [(months_ago(12) + timedelta(days=9), months_ago(3) + timedelta(days=1))]
    expected = []
    for start, end in periods:
        direct = defaultdict(int)
        for e in entries:
            if start <= e.created_at < end:
                direct[e.person_id] += e.points
        expected.append(dict(direct))
        assert {p.id: p.points for p in cd.top_people(db, start, end)} == expected[-1]
    # The months' own rows are not read: the totals through two months are.
    db.execute(update(EarningMonth).values(points=EarningMonth.points + 1000))
    for (start, end), direct in zip(periods, expected, strict=True):
        assert {p.id: p.points for p in cd.top_people(db, start, end)} == direct
    assert len(check_months(db)) > 0  # and the check sees the tampering


# ---------------------------------------------------------------- two refreshes at once


@pytest.mark.postgresql
def test_two_refreshes_of_one_month_at_once_both_finish_and_store_it_once(committed_postgres_app):
    app = committed_postgres_app
    last_month = month_key(months_ago(1))
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        program = make_program(db, partners=[world.partner_a])
        seller = world.people[Role.SELLER]
        db.add(Enrollment(program_id=program.id, person_id=seller.id, enrolled_at=months_ago(2)))
        with time_machine.travel(months_ago(1) + timedelta(days=3), tick=False):
            post(
                db,
                "refresh:race",
                [
                    Line(
                        account=person_account(seller.id),
                        points=25,
                        kind="earn",
                        partner_id=seller.partner_id,
                        person_id=seller.id,
                        program_id=program.id,
                        budget_points=25,
                        month=last_month,
                    )
                ],
            )
        db.commit()

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, failures = threading.Barrier(2), []

    def refresh():
        try:
            with factory() as session:
                start.wait()
                refresh_months(session, [last_month])
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with factory() as session:
        assert check_months(session) == []
        earned = session.scalars(select(EarningMonth).where(EarningMonth.month == last_month))
        assert [(e.person_id, e.points) for e in earned] == [(seller.id, 25)]
        assert (
            session.scalar(
                select(func.count())
                .select_from(MonthRefresh)
                .where(MonthRefresh.month == last_month)
            )
            == 1
        )
