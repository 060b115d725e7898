"""Who a campaign reaches: each segment filter, alone and together."""

from datetime import date, timedelta

from channel.claim_models import Claim
from channel.models import Enrollment
from messaging.campaigns.audience import SegmentFilters, segment_chunks, segment_size
from roles.permissions import Role
from tests.builders import make_partner, make_person, make_program, make_tier
from tests.messaging.campaigns.helpers import NOW


def _ids(db, **filters):
    chunks = segment_chunks(db, SegmentFilters(**filters), NOW, size=2)
    return {row.id for rows in chunks for row in rows}


def test_an_empty_segment_is_every_active_person_of_every_active_partner(db, world):
    everyone = _ids(db)
    partner_staff = {p.id for p in world.people.values() if p.partner_id} | {
        p.id for p in world.others.values()
    }
    assert everyone == partner_staff  # the manufacturer's own people are never in a segment
    assert segment_size(db, SegmentFilters(), NOW) == len(partner_staff)


def test_inactive_people_and_suspended_partners_are_left_out(db, world):
    world.people[Role.SELLER].active = False
    world.partner_b.status = "suspended"
    db.flush()
    assert _ids(db) == {p.id for r, p in world.people.items() if p.partner_id and r != Role.SELLER}


def test_filters_by_role_partner_country_tier_and_language(db, world):
    gold = make_tier(db)
    lv_gold = make_partner(db, country="LV", tier=gold)
    tech_ru = make_person(db, lv_gold, ["technician"], language="ru")
    seller_ru = make_person(db, lv_gold, ["seller", "engineer"], language="ru")
    assert _ids(db, roles=("technician",)) == {
        world.people[Role.TECHNICIAN].id,
        world.others[Role.TECHNICIAN].id,
        tech_ru.id,
    }
    assert _ids(db, roles=("engineer",), tier_ids=(gold.id,)) == {seller_ru.id}
    assert _ids(db, countries=("PL",)) == {p.id for p in world.others.values()}
    assert _ids(db, languages=("ru",)) == {tech_ru.id, seller_ru.id}
    assert _ids(db, partner_ids=(world.partner_a.id,), roles=("seller",)) == {
        world.people[Role.SELLER].id
    }
    assert _ids(db, languages=("ru",), countries=("PL",)) == set()


def test_filters_by_program_enrolment_and_claim_activity(db, world):
    program = make_program(db, partners=[world.partner_a])
    seller, tech = world.people[Role.SELLER], world.people[Role.TECHNICIAN]
    db.add(Enrollment(program_id=program.id, person_id=seller.id))
    db.add(Enrollment(program_id=program.id, person_id=tech.id, ended_at=NOW))
    for person, days_ago in ((seller, 3), (tech, 40)):
        db.add(
            Claim(
                person_id=person.id,
                partner_id=person.partner_id,
                kind="install",
                occurred_on=date(2026, 3, 1),
                serial=f"S-{person.id}",
                created_at=NOW - timedelta(days=days_ago),
            )
        )
    db.flush()
    assert _ids(db, program_ids=(program.id,)) == {seller.id}  # an ended enrolment is not one
    assert _ids(db, activity="active", activity_days=30) == {seller.id}
    idle = _ids(db, activity="idle", activity_days=30)
    assert seller.id not in idle and tech.id in idle
    assert tech.id in _ids(db, activity="active", activity_days=60)
