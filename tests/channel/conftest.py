"""Fixtures for the channel tests: a small data set whose dashboard figures are known by hand."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from channel.claim_models import Claim
from channel.ledger import Activity
from channel.models import Enrollment
from channel.postings import Line, person_account, post
from tests.builders import make_partner, make_person, make_program

# The two months before this one, called September and October in the docstrings.
_LAST_MONTH = datetime.now(UTC).replace(day=1) - timedelta(days=1)
OCT = datetime(_LAST_MONTH.year, _LAST_MONTH.month, 10, tzinfo=UTC)
_BEFORE = OCT.replace(day=1) - timedelta(days=1)
SEPT = datetime(_BEFORE.year, _BEFORE.month, 10, tzinfo=UTC)
SEPT_KEY, OCT_KEY = SEPT.strftime("%Y-%m"), OCT.strftime("%Y-%m")
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
    manager: object


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
    manager = make_person(db, riga, ["partner_manager"], full_name="Riga Manager")
    start = SEPT.replace(day=1)
    db.add_all(
        [
            Enrollment(program_id=program.id, person_id=s1.id, enrolled_at=start),
            Enrollment(program_id=program.id, person_id=s2.id, enrolled_at=start),
            Enrollment(
                program_id=program.id,
                person_id=t1.id,
                enrolled_at=start,
                ended_at=SEPT.replace(day=20),
            ),
            Enrollment(program_id=program.id, person_id=s3.id, enrolled_at=OCT),
            Claim(
                person_id=s2.id,
                partner_id=riga.id,
                kind="install",
                occurred_on=OCT.date().replace(day=9),
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
    post(db, "known:s1", [_earn(program, s1, 300, SEPT_KEY)])
    post(db, "known:t1", [_earn(program, t1, 200, SEPT_KEY)])
    post(db, "known:s3", [_earn(program, s3, 100, OCT_KEY, bucket="pending")])
    post(db, "known:s1:redeem", [_debit(s1, 50, "redeem")])
    post(db, "known:t1:expire", [_debit(t1, 20, "expire")])
    return Known(riga, warsaw, program, s1, s2, t1, s3, manager)
