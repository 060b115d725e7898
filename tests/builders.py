"""Small builders for partners, people and a two-partner world; one place for test data."""

import itertools
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from channel.models import PartnerOrganization, Tier
from roles.models import Person, RoleAssignment
from roles.permissions import FIELD_ROLES, Role

PASSWORD = "correct horse battery"
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
_serial = itertools.count(1)


def next_phone() -> str:
    return f"+3712{next(_serial):07d}"


def make_partner(db, *, name=None, country="LV", kind="dealer", parent=None, tier=None, **extra):
    n = next(_serial)
    partner = PartnerOrganization(
        name=name or f"Partner {n}",
        country=country,
        legal_id=extra.pop("legal_id", f"LV{n:011d}"),
        kind=kind,
        parent_id=parent.id if parent else None,
        tier_id=tier.id if tier else None,
        **extra,
    )
    db.add(partner)
    db.flush()
    return partner


def make_tier(db, code="gold", rank=3):
    tier = Tier(code=code, name=code.title(), rank=rank)
    db.add(tier)
    db.flush()
    return tier


def make_person(db, partner=None, roles=("technician",), *, email=None, password=True, **extra):
    n = next(_serial)
    if email is None and any(Role(r) not in FIELD_ROLES for r in roles):
        email = f"person{n}@example.com"
    person = Person(
        partner_id=partner.id if partner else None,
        full_name=extra.pop("full_name", f"Person {n}"),
        phone=extra.pop("phone", next_phone()),
        email=email,
        password_hash=_HASH if (email and password) else None,
        language=extra.pop("language", "en"),
        timezone=extra.pop("timezone", "Europe/Riga"),
        role_assignments=[RoleAssignment(role=Role(r).value) for r in roles],
        **extra,
    )
    db.add(person)
    db.flush()
    return person


@dataclass
class World:
    partner_a: PartnerOrganization
    partner_b: PartnerOrganization
    #: role -> person: partner roles at partner A, manufacturer roles at the manufacturer.
    people: dict[Role, Person] = field(default_factory=dict)
    #: role -> person at partner B.
    others: dict[Role, Person] = field(default_factory=dict)


def build_world(db) -> World:
    world = World(
        partner_a=make_partner(db, name="Alpha Heating SIA"),
        partner_b=make_partner(db, name="Bravo Instal Sp. z o.o.", country="PL"),
    )
    for role in Role:
        if role in (Role.CHANNEL_MANAGER, Role.ADMIN):
            world.people[role] = make_person(db, None, [role])
        else:
            world.people[role] = make_person(db, world.partner_a, [role])
            world.others[role] = make_person(
                db, world.partner_b, [role], full_name=f"Bravo {role.value}"
            )
    db.commit()
    return world


def login_as(client, person) -> None:
    """Sign a test client in without the sign-in forms (those have tests of their own)."""
    with client.session_transaction() as session:
        session["_user_id"] = str(person.id)
        session["_fresh"] = True
