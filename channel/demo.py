"""The demo data set: a manufacturer, a distributor with two dealers, and staff in every role;
then a year of purchases with their rates and serials (`channel.demo_purchases`), a program in
motion (`channel.demo_program`), a program paying the companies on their purchases with its
last quarter closed, and what partners can get (`channel.demo_benefits`). Packages above
add theirs when `demo_seeded` is sent (`messaging.demo`: an open conversation in Hebrew).

Loading it twice changes nothing: every row is found by its natural key first.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.demo_benefits import (
    seed_demo_coop,
    seed_demo_learning,
    seed_demo_rewards,
    seed_demo_tiers,
)
from channel.demo_fulfilment import seed_demo_fulfilment
from channel.demo_program import seed_demo_catalog, seed_demo_program
from channel.demo_purchases import (
    close_last_quarter,
    seed_demo_purchases,
    seed_sell_in_program,
)
from channel.demo_tiers import seed_demo_tier_benefits
from channel.partner_models import Manufacturer, PartnerOrganization, Tier
from channel.signals import demo_seeded
from core.db import utcnow
from roles.models import Person
from roles.people import PersonDetails, Placement, save_person
from roles.permissions import Role

DEMO_PASSWORD = "partnerlift-demo"  # noqa: S105  (documented in the README)

TIERS = (("bronze", "Bronze", 1), ("silver", "Silver", 2), ("gold", "Gold", 3))

#: (key, name, kind, country, legal id, tier code, parent key)
#: The day each demo partner's contract started (tenure counts from it).
CONTRACT_STARTS = {"baltic": date(2016, 3, 1), "instal": date(2021, 9, 15)}

PARTNERS = (
    ("baltic", "Baltic Heat Distribution SIA", "distributor", "LV", "LV40003000001", "gold", None),
    ("instal", "Instal-Serwis Sp. z o.o.", "dealer", "PL", "PL5260000001", "silver", "baltic"),
    ("hom", "חום הצפון בע״מ", "dealer", "IL", "515000001", "bronze", "baltic"),
)

#: (partner key or None for the manufacturer, name, phone, e-mail, roles, language, zone)
PEOPLE = (
    (
        None,
        "Anna Admin",
        "+4915123456780",
        "admin@demo.partnerlift.example",
        ["admin"],
        "en",
        "Europe/Berlin",
    ),
    (
        None,
        "Mārtiņš Ozols",
        "+37120000001",
        "channel@demo.partnerlift.example",
        ["channel_manager"],
        "lv",
        "Europe/Riga",
    ),
    (
        "baltic",
        "Ilze Kalniņa",
        "+37120000002",
        "ilze@baltic.example",
        ["partner_manager"],
        "lv",
        "Europe/Riga",
    ),
    ("baltic", "Дмитрий Соколов", "+37120000003", None, ["seller"], "ru", "Europe/Riga"),
    ("baltic", "Līga Bērziņa", "+37120000004", None, ["procurement"], "lv", "Europe/Riga"),
    (
        "instal",
        "Katarzyna Wiśniewska",
        "+48501000001",
        "katarzyna@instal.example",
        ["partner_manager"],
        "pl",
        "Europe/Warsaw",
    ),
    (
        "instal",
        "Piotr Zieliński",
        "+48501000002",
        None,
        ["engineer", "seller"],
        "pl",
        "Europe/Warsaw",
    ),
    ("instal", "Tomasz Nowak", "+48501000003", None, ["technician"], "pl", "Europe/Warsaw"),
    (
        "hom",
        "נועה לוי",
        "+972502345678",
        "noa@hom.example",
        ["partner_manager"],
        "he",
        "Asia/Jerusalem",
    ),
    ("hom", "יוסי כהן", "+972522345678", None, ["technician"], "he", "Asia/Jerusalem"),
    (
        "hom",
        "داریوش رحیمی",
        "+972542345679",
        None,
        ["seller", "technician"],
        "fa",
        "Asia/Jerusalem",
    ),
)


def seed_demo(session: Session, password_hash: str) -> dict[str, int]:
    """Load the demo; returns how many rows of each kind were created this time."""
    created = {"manufacturer": 0, "tiers": 0, "partners": 0, "people": 0}
    if session.scalar(select(Manufacturer)) is None:
        session.add(Manufacturer(name="Nordheat Manufacturing GmbH", country="DE"))
        created["manufacturer"] += 1

    tiers = {}
    for code, name, rank in TIERS:
        tier = session.scalar(select(Tier).where(Tier.code == code))
        if tier is None:
            tier = Tier(code=code, name=name, rank=rank)
            session.add(tier)
            created["tiers"] += 1
        tiers[code] = tier
    session.flush()

    partners = {}
    for key, name, kind, country, legal_id, tier_code, parent_key in PARTNERS:
        partner = session.scalar(
            select(PartnerOrganization).where(
                PartnerOrganization.country == country, PartnerOrganization.legal_id == legal_id
            )
        )
        if partner is None:
            partner = PartnerOrganization(
                name=name,
                kind=kind,
                country=country,
                legal_id=legal_id,
                tier_id=tiers[tier_code].id,
                parent_id=partners[parent_key].id if parent_key else None,
                contract_started_on=CONTRACT_STARTS.get(key),
            )
            session.add(partner)
            session.flush()
            created["partners"] += 1
        partners[key] = partner

    for partner_key, name, phone, email, roles, language, zone in PEOPLE:
        if session.scalar(select(Person.id).where(Person.phone == phone)) is not None:
            continue
        partner = partners[partner_key] if partner_key else None
        person = save_person(
            session,
            PersonDetails(
                full_name=name,
                phone=phone,
                email=email,
                roles=roles,
                language=language,
                timezone=zone,
            ),
            Placement.at(partner, assignable=Role, phone_region="LV"),
        )
        if email:
            person.password_hash = password_hash
        created["people"] += 1
    session.flush()
    today = utcnow().date()
    seed_demo_catalog(session)
    created["purchase lines"] = seed_demo_purchases(session, today)
    created["programs"] = seed_demo_program(session)
    created["programs"] += seed_sell_in_program(session, today)
    created["rewards"] = seed_demo_rewards(session)
    created["co-op funds"] = seed_demo_coop(session)
    created["tier thresholds"] = seed_demo_tiers(session)
    created["tier benefits"] = seed_demo_tier_benefits(session)
    created["articles"] = seed_demo_learning(session)
    created["delivered redemptions"] = seed_demo_fulfilment(session, today)
    created["rebate statements"] = close_last_quarter(session, today)
    demo_seeded.send(seed_demo, session=session, created=created, today=today)
    return created
