"""Small builders for partners, people and a two-partner world; one place for test data."""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from argon2 import PasswordHasher

from channel.partner_models import PartnerOrganization, Tier
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


def login_as(client, person) -> str:
    """Sign a test client in without the sign-in forms (those have tests of their own): a
    sign-in session is opened (and committed) in the session holding `person`. Returns its token."""
    from sqlalchemy.orm import object_session

    from core.db import utcnow
    from roles.browser_sessions import TOKEN_KEY
    from roles.sign_in_sessions import session_policy, start_sign_in_session

    db = object_session(person)
    token = start_sign_in_session(db, person, session_policy(client.application.config), utcnow())
    db.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(person.id)
        session["_fresh"] = True
        session[TOKEN_KEY] = token
    return token


def session_cookie(app, db, person) -> str:
    """The signed value of a session cookie that signs `person` in, with a sign-in session
    opened in `db` (committed by the caller): for requests to real server processes."""
    from core.db import utcnow
    from roles.browser_sessions import TOKEN_KEY
    from roles.sign_in_sessions import session_policy, start_sign_in_session

    token = start_sign_in_session(db, person, session_policy(app.config), utcnow())
    signer = app.session_interface.get_signing_serializer(app)
    return signer.dumps({"_user_id": str(person.id), "_fresh": True, TOKEN_KEY: token})


# ---------------------------------------------------------------- catalog and programs


def make_group(db, code="boilers", points=10):
    from channel.models import ProductGroup

    group = ProductGroup(code=code, name=code.title(), default_points_per_unit=points)
    db.add(group)
    db.flush()
    return group


def make_product(db, group, sku="BX-24", points=None):
    from channel.models import Product

    product = Product(sku=sku, name=f"Product {sku}", group_id=group.id, points_per_unit=points)
    db.add(product)
    db.flush()
    return product


def utc_today() -> date:
    """Today as the app and these builders count it (the UTC date), never the machine's zone:
    every test takes its dates from here."""
    return datetime.now(UTC).date()


def make_program(db, *, partners=(), tiers=(), days=(-1, 60), **terms):
    """A draft program over [today+days[0], today+days[1]) offered to `partners`/`tiers`."""
    from datetime import time, timedelta
    from decimal import Decimal

    from channel.models import Program, ProgramTarget

    today = datetime.combine(utc_today(), time.min, tzinfo=UTC)
    program = Program(
        name=terms.pop("name", "Winter push"),
        starts_at=today + timedelta(days=days[0]),
        ends_at=today + timedelta(days=days[1]),
        currency=terms.pop("currency", "EUR"),
        point_value=terms.pop("point_value", Decimal("0.01")),
        status="draft",
        version=1,
        targets=[ProgramTarget(partner_id=p.id) for p in partners]
        + [ProgramTarget(tier_id=t.id) for t in tiers],
        **terms,
    )
    db.add(program)
    db.flush()
    return program


def add_scheme(db, program, roles, *rules, company=False, name=None):
    """A scheme with `rules` given as (kind, params) pairs."""
    from channel.scheme_models import EarningRule, Scheme, SchemeRole

    scheme = Scheme(
        program_id=program.id,
        name=name or ("Company" if company else "+".join(roles)),
        company_level=company,
        added_in_version=program.version,
        role_links=[SchemeRole(role=r) for r in roles],
        rules=[EarningRule(kind=k, params=p, added_in_version=program.version) for k, p in rules],
    )
    db.add(scheme)
    db.flush()
    db.refresh(program)
    return scheme


def offer(db, program, actor):
    from channel.programs import offer_program

    offer_program(db, program, actor_id=actor.id)
    db.flush()


def approve(db, program, partner, manager, **conditions):
    from channel.approvals import DecisionDetails, decide

    return decide(
        db, program, partner, DecisionDetails(approve=True, **conditions), actor_id=manager.id
    )


def record(db, kind, person=None, partner=None, key=None, **facts):
    """Record an activity now (or at `occurred_at`) for `person` (or company `partner`)."""
    from channel.earning import record_activity
    from channel.ledger import Activity

    activity = Activity(
        kind=kind,
        occurred_at=facts.pop("occurred_at", datetime.now(UTC)),
        partner_id=(partner or person.partner).id,
        person_id=person.id if person else None,
        source_key=key or f"{kind}:{next(_serial)}",
        **facts,
    )
    return record_activity(db, activity)


# ---------------------------------------------------------------- the REST API


def make_api_token(db, *, scope="read", partner=None, name="Test integration"):
    """(token, headers with its bearer secret) for calling the API."""
    from channel.api.tokens import create_token

    issued = create_token(db, name=name, scope=scope, partner_id=partner.id if partner else None)
    db.flush()
    return issued.token, {"Authorization": f"Bearer {issued.secret}"}


def give_points(db, person, points: int, key=None) -> None:
    """Credit available points to a person, as an earning would."""
    from channel.postings import Line, person_account, post

    post(
        db,
        key or f"gift:{next(_serial)}",
        [
            Line(
                account=person_account(person.id),
                points=points,
                kind="earn",
                partner_id=person.partner_id,
                person_id=person.id,
            )
        ],
    )
    db.flush()


#: Where test rewards are offered unless a test says otherwise: `build_world`'s partners'
#: countries and the demo's.
TEST_COUNTRIES = ("LV", "PL", "IL")


def offered(reward, countries=TEST_COUNTRIES):
    """`reward` offered in `countries` at its usual price, for tests not about countries."""
    from channel.reward_offers import RewardOffer

    reward.offers = [RewardOffer(country=c, points_price=reward.points_price) for c in countries]
    return reward


#: What the reward form needs to offer a reward in Latvia: the country, and the name and
#: description in Latvian and Russian.
IN_LATVIA = {
    "offer_LV": "yes",
    "name_lv": "Iestādi koku",
    "description_lv": "Viens koks jūsu vārdā.",
    "name_ru": "Посадите дерево",
    "description_ru": "Одно дерево от вашего имени.",
}
