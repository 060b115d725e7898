"""Dashboard figures against a small constructed data set whose answers are known by hand."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from channel import dashboards as d
from channel.claims import Claim
from channel.ledger import Activity
from channel.models import Enrollment
from channel.postings import Line, person_account, pool_account, post
from tests.builders import make_partner, make_person, make_program

SEPT = datetime(2026, 9, 10, tzinfo=UTC)
OCT = datetime(2026, 10, 10, tzinfo=UTC)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass
class Known:
    riga: object
    warsaw: object
    program: object
    s1: object
    s2: object
    t1: object
    s3: object


def _earn(program, person, points, month, *, bucket="available"):
    return Line(
        account=person_account(person.id),
        points=points,
        kind="earn",
        partner_id=person.partner_id,
        person_id=person.id,
        program_id=program.id,
        budget_points=points,
        bucket=bucket,
        month=month,
    )


def _debit(person, points, kind):
    return Line(
        account=person_account(person.id),
        points=-points,
        kind=kind,
        partner_id=person.partner_id,
        person_id=person.id,
    )


@pytest.fixture
def known(db):
    """Two sellers and a technician at a Latvian partner, a seller at a Polish one.

    September: s1, s2 and t1 enrolled (t1 leaves on the 20th); s1 and t1 earn.
    October: s1, s2 and s3 enrolled; s2 makes a claim, s3 earns (pending).
    Points: s1 300, t1 200, s3 100 earned; s1 redeems 50, t1's 20 expire → 530 outstanding.
    """
    riga = make_partner(db, name="Riga Heat", country="LV")
    warsaw = make_partner(db, name="Warsaw Heat", country="PL")
    program = make_program(db, partners=[riga, warsaw], budget_points=1000)
    program.status = "active"
    s1 = make_person(db, riga, ["seller"], full_name="Seller One")
    s2 = make_person(db, riga, ["seller"], full_name="Seller Two")
    t1 = make_person(db, riga, ["technician"], full_name="Tech One")
    s3 = make_person(db, warsaw, ["seller"], full_name="Seller Three")
    start = datetime(2026, 9, 1, tzinfo=UTC)
    db.add_all(
        [
            Enrollment(program_id=program.id, person_id=s1.id, enrolled_at=start),
            Enrollment(program_id=program.id, person_id=s2.id, enrolled_at=start),
            Enrollment(
                program_id=program.id,
                person_id=t1.id,
                enrolled_at=start,
                ended_at=datetime(2026, 9, 20, tzinfo=UTC),
            ),
            Enrollment(program_id=program.id, person_id=s3.id, enrolled_at=OCT),
            Claim(
                person_id=s2.id,
                partner_id=riga.id,
                kind="install",
                occurred_on=date(2026, 10, 9),
                serial="KNOWN-1",
                status="pending",
                flags=["burst"],
                created_at=OCT,
            ),
            Activity(
                kind="training",
                occurred_at=SEPT,
                partner_id=riga.id,
                person_id=t1.id,
                source_key="training:known:t1",
                module="m1",
            ),
        ]
    )
    db.flush()
    post(db, "known:s1", [_earn(program, s1, 300, "2026-09")])
    post(db, "known:t1", [_earn(program, t1, 200, "2026-09")])
    post(db, "known:s3", [_earn(program, s3, 100, "2026-10", bucket="pending")])
    post(db, "known:s1:redeem", [_debit(s1, 50, "redeem")])
    post(db, "known:t1:expire", [_debit(t1, 20, "expire")])
    return Known(riga, warsaw, program, s1, s2, t1, s3)


def _by(rows):
    return {(r.month, r.group): (r.enrolled, r.active, r.share) for r in rows}


def test_last_months_are_twelve_calendar_months_ending_with_this_one():
    months = d.last_months(date(2026, 2, 15))
    assert [m.key for m in months][:2] == ["2025-03", "2025-04"]
    assert months[-1].key == "2026-02"
    assert months[-1].end == datetime(2026, 3, 1, tzinfo=UTC)
    assert len(months) == 12


def test_engagement_per_role_and_month(db, known):
    months = [d.month_of(SEPT.date()), d.month_of(OCT.date())]
    rows = _by(d.engagement(db, months, by="role"))
    assert rows == {
        ("2026-09", "seller"): (2, 1, Decimal("50.0")),
        ("2026-09", "technician"): (1, 1, Decimal("100.0")),
        ("2026-10", "seller"): (3, 2, Decimal("66.7")),
    }


def test_engagement_overall_by_partner_and_by_country(db, known):
    months = [d.month_of(SEPT.date()), d.month_of(OCT.date())]
    assert _by(d.engagement(db, months)) == {
        ("2026-09", None): (3, 2, Decimal("66.7")),
        ("2026-10", None): (3, 2, Decimal("66.7")),
    }
    by_partner = _by(d.engagement(db, months, by="partner"))
    assert by_partner[("2026-10", known.riga.id)] == (2, 1, Decimal("50.0"))
    assert by_partner[("2026-10", known.warsaw.id)] == (1, 1, Decimal("100.0"))
    by_country = _by(d.engagement(db, months, d.Filters(country="PL"), by="country"))
    assert by_country == {("2026-10", "PL"): (1, 1, Decimal("100.0"))}


def test_points_issued_redeemed_expired_outstanding_and_liability(db, known):
    summary = d.points_summary(db, *EVER, Decimal("0.01"))
    assert (summary.issued, summary.redeemed, summary.expired) == (600, -50, -20)
    assert summary.outstanding == 530
    assert summary.liability == Decimal("5.30")
    assert d.balances_total(db) == d.outstanding_points(db, None)
    riga = d.points_summary(db, *EVER, Decimal("0.01"), d.Filters(partner_id=known.riga.id))
    assert (riga.issued, riga.outstanding) == (500, 430)


def test_budget_used_per_program(db, known):
    (use,) = [u for u in d.budget_use(db) if u.program_id == known.program.id]
    assert (use.budget_points, use.used_points, use.share) == (1000, 600, Decimal("60.0"))
    assert use.used_money == Decimal("6.00")


def test_claims_by_status_and_fraud_flag(db, known):
    figures = d.claim_figures(db, *EVER)
    assert figures.by_status == {"pending": 1}
    assert figures.by_flag == {"burst": 1}
    assert d.claim_figures(db, *EVER, d.Filters(country="PL")).by_status == {}


def test_top_partners_and_people_by_points_earned(db, known):
    assert [(p.name, p.points) for p in d.top_partners(db, *EVER)] == [
        ("Riga Heat", 500),
        ("Warsaw Heat", 100),
    ]
    assert [(p.name, p.points) for p in d.top_people(db, *EVER)] == [
        ("Seller One", 300),
        ("Tech One", 200),
        ("Seller Three", 100),
    ]


def test_training_completion_among_enrolled_people(db, known):
    september = d.month_of(SEPT.date())
    training = d.training_completion(db, september.start, september.end)
    assert (training.enrolled, training.trained, training.share) == (3, 1, Decimal("33.3"))


def test_partner_view_staff_earnings_pool_and_pending(db, known):
    rows = d.staff_earnings(db, known.riga.id, *EVER)
    assert [(r.role, r.people, r.points) for r in rows] == [
        ("seller", 1, 300),
        ("technician", 1, 200),
    ]
    post(
        db,
        "known:pool",
        [
            Line(
                account=pool_account(known.riga.id),
                points=80,
                kind="earn",
                partner_id=known.riga.id,
                to_pool=True,
            )
        ],
    )
    from channel.pool import distribute

    distribute(db, known.riga, known.s2, 30, actor_id=known.s1.id, note="Thanks", request_key="k")
    pool = d.pool_figures(db, known.riga.id, *EVER)
    assert (pool.available, pool.received, pool.distributed) == (50, 80, 30)
    pending = d.pending_approvals(db, known.riga)
    assert pending.claims == 1
    assert pending.programs == [known.program]  # offered, not yet decided


def test_tier_progress_names_what_the_next_tier_needs(db, known):
    from channel.tiers import TierThreshold
    from tests.builders import make_tier

    silver = make_tier(db, "silver", 2)
    db.add(TierThreshold(tier_id=silver.id, metric="points", minimum=Decimal(1000)))
    db.flush()
    progress = d.tier_progress(db, known.riga, datetime.now(UTC) + timedelta(days=1))
    assert progress.tier is None and progress.next_tier == silver
    (step,) = progress.steps
    assert (step.metric, step.current, step.missing) == ("points", Decimal(500), Decimal(500))
