"""The demo data set: a manufacturer, a distributor with two dealers, and staff in every role.

Loading it twice changes nothing: every row is found by its natural key first.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.models import ProductGroup
from channel.partner_models import Manufacturer, PartnerOrganization, Tier
from roles.models import Person
from roles.people import PersonDetails, Placement, save_person
from roles.permissions import Role

DEMO_PASSWORD = "partnerlift-demo"  # noqa: S105  (documented in the README)

TIERS = (("bronze", "Bronze", 1), ("silver", "Silver", 2), ("gold", "Gold", 3))

#: (key, name, kind, country, legal id, tier code, parent key)
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
    created["programs"] = seed_demo_program(session)
    created["rewards"] = seed_demo_rewards(session)
    created["co-op funds"] = seed_demo_coop(session)
    created["tier thresholds"] = seed_demo_tiers(session)
    created["articles"] = seed_demo_learning(session)
    return created


# ---------------------------------------------------------------- a program in motion

DEMO_PROGRAM = "Winter heat"

GROUPS = (("boilers", "Gas boilers", 10), ("heatpumps", "Heat pumps", 25))
PRODUCTS = (
    ("NH-B24", "Condensing boiler 24 kW", "boilers", None),
    ("NH-B35", "Condensing boiler 35 kW", "boilers", 14),
    ("NH-HP8", "Air-to-water heat pump 8 kW", "heatpumps", None),
)


def seed_demo_program(session: Session) -> int:
    """The catalog and one program: approved by two partners (one with conditions), awaited
    by the third, launched, with a few weeks of activity. Returns 1 if it was created now."""
    from datetime import UTC, datetime, time, timedelta
    from decimal import Decimal

    from channel.approvals import DecisionDetails, decide
    from channel.earning import record_activity
    from channel.ledger import Activity
    from channel.models import Product, ProductGroup, Program
    from channel.programs import ProgramDetails, launch_program, offer_program, save_program
    from channel.schemes import RuleInput, SchemeDetails, save_scheme

    if session.scalar(select(Program).where(Program.name == DEMO_PROGRAM)) is not None:
        return 0
    for code, name, points in GROUPS:
        if session.scalar(select(ProductGroup).where(ProductGroup.code == code)) is None:
            session.add(ProductGroup(code=code, name=name, default_points_per_unit=points))
    session.flush()
    for sku, name, group, points in PRODUCTS:
        if session.scalar(select(Product).where(Product.sku == sku)) is None:
            group_id = session.scalar(select(ProductGroup.id).where(ProductGroup.code == group))
            session.add(Product(sku=sku, name=name, group_id=group_id, points_per_unit=points))
    session.flush()

    channel_manager = session.scalar(
        select(Person).where(Person.email == "channel@demo.partnerlift.example")
    )
    partners = {p.legal_id: p for p in session.scalars(select(PartnerOrganization))}
    baltic, instal, hom = partners["LV40003000001"], partners["PL5260000001"], partners["515000001"]
    today = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
    program = save_program(
        session,
        ProgramDetails(
            name=DEMO_PROGRAM,
            description="Sell, install and order our boilers and heat pumps this winter.",
            starts_at=today - timedelta(days=14),
            ends_at=today + timedelta(days=76),
            currency="EUR",
            point_value=Decimal("0.01"),
            budget_points=200_000,
            cap_per_person_month=3_000,
            texts={
                "lv": (
                    "Ziemas siltums",
                    "Pārdodiet, uzstādiet un pasūtiet mūsu katlus un siltumsūkņus šoziem.",
                ),
                "pl": (
                    "Zimowe ciepło",
                    "Sprzedawaj, instaluj i zamawiaj nasze kotły i pompy ciepła tej zimy.",
                ),
                "ru": (
                    "Зимнее тепло",
                    "Продавайте, устанавливайте и заказывайте наши котлы и тепловые насосы этой зимой.",
                ),
                "he": (
                    "חום של חורף",
                    "מוכרים, מתקינים ומזמינים את הדוודים ומשאבות החום שלנו בחורף הזה.",
                ),
                "fa": (
                    "گرمای زمستان",
                    "این زمستان دیگ‌ها و پمپ‌های حرارتی ما را بفروشید، نصب کنید و سفارش دهید.",
                ),
            },
            partner_ids=[baltic.id, instal.id, hom.id],
        ),
        actor_id=channel_manager.id,
    )
    schemes = (
        SchemeDetails(
            "Sellers",
            ["seller"],
            rules=[
                RuleInput("unit_sold", {"product_group": "boilers"}),
                RuleInput(
                    "unit_sold",
                    {
                        "product_group": "heatpumps",
                        "focus_multiplier": "2",
                        "focus_from": (today - timedelta(days=14)).isoformat(),
                        "focus_until": (today + timedelta(days=16)).isoformat(),
                    },
                ),
            ],
        ),
        SchemeDetails(
            "Installers",
            ["engineer", "technician"],
            rules=[RuleInput("install", {"points_per_install": 50})],
        ),
        SchemeDetails(
            "Procurement",
            ["procurement"],
            rules=[
                RuleInput(
                    "portal_order",
                    {"points_per_order": 15, "bulk_min_units": 20, "bulk_bonus": 100},
                ),
                RuleInput("early_payment", {"points": 40, "min_days_early": 5}),
            ],
        ),
        SchemeDetails(
            "Welcome",
            ["seller", "engineer", "technician", "procurement"],
            rules=[
                RuleInput("welcome", {"points": 100}),
                RuleInput("training", {"points": 30}),
            ],
        ),
        SchemeDetails(
            "Company rebate",
            [],
            company_level=True,
            rules=[
                RuleInput(
                    "volume_rebate",
                    {"percent_by_tier": {"gold": "2", "silver": "1.5"}, "default_percent": "1"},
                )
            ],
        ),
    )
    for details in schemes:
        save_scheme(session, program, details, actor_id=channel_manager.id)
    session.refresh(program)
    _seed_history(session, today, baltic, instal)
    offer_program(session, program, actor_id=channel_manager.id)
    managers = {
        p.partner_id: p for p in session.scalars(select(Person).where(Person.email.is_not(None)))
    }
    decide(session, program, baltic, DecisionDetails(approve=True), actor_id=managers[baltic.id].id)
    technician = session.scalar(select(Person).where(Person.phone == "+48501000003"))
    decide(
        session,
        program,
        instal,
        DecisionDetails(
            approve=True,
            reason="Installers only for now, with our own cap.",
            roles=["engineer", "technician"],
            cap_per_person_month=1_500,
        ),
        actor_id=managers[instal.id].id,
    )
    launch_program(session, program, actor_id=channel_manager.id)
    _seed_activity(session, today, baltic, instal, technician, record_activity, Activity)
    from channel.postings import release_due
    from core.db import utcnow

    release_due(session, utcnow())
    return 1


def _people_by_phone(session: Session) -> dict[str, Person]:
    return {p.phone: p for p in session.scalars(select(Person))}


def _seed_history(session: Session, today, baltic, instal) -> None:
    """Last quarter's activity, before the program: what simulations and estimates read."""
    from datetime import timedelta

    from channel.ledger import Activity

    people = _people_by_phone(session)
    for day in range(20, 100, 9):
        when = today - timedelta(days=day)
        session.add_all(
            [
                Activity(
                    kind="sale",
                    occurred_at=when,
                    partner_id=baltic.id,
                    person_id=people["+37120000003"].id,
                    source_key=f"demo:history:sale:{day}",
                    sku="NH-B24",
                    quantity=3 + day % 4,
                ),
                Activity(
                    kind="install",
                    occurred_at=when,
                    partner_id=instal.id,
                    person_id=people["+48501000003"].id,
                    source_key=f"demo:history:install:{day}",
                    sku="NH-HP8",
                    serial=f"HIST-{day}",
                ),
            ]
        )
    session.flush()


def _seed_activity(
    session, today, baltic, instal, technician, record_activity, activity_class
) -> None:
    from datetime import timedelta
    from decimal import Decimal

    people = _people_by_phone(session)
    seller, buyer = people["+37120000003"], people["+37120000004"]
    engineer = people["+48501000002"]
    events = [
        ("sale", seller, dict(sku="NH-B24", quantity=6), 10),
        ("sale", seller, dict(sku="NH-HP8", quantity=2), 6),
        ("install", technician, dict(sku="NH-HP8", serial="NH8-240001"), 5),
        ("install", technician, dict(sku="NH-B35", serial="NB35-240017"), 3),
        ("install", engineer, dict(sku="NH-HP8", serial="NH8-240002"), 2),
        ("sale", engineer, dict(sku="NH-B24", quantity=4), 2),  # Instal approved installers only
        ("order", buyer, dict(sku="NH-B24", quantity=24, amount=Decimal("16800.00")), 4),
        (
            "payment",
            buyer,
            dict(
                amount=Decimal("16800.00"),
                due_on=(today + timedelta(days=20)).date(),
                paid_on=(today - timedelta(days=1)).date(),
            ),
            1,
        ),
    ]
    for index, (kind, person, facts, days_ago) in enumerate(events):
        record_activity(
            session,
            activity_class(
                kind=kind,
                occurred_at=today - timedelta(days=days_ago, hours=-9),
                partner_id=person.partner_id,
                person_id=person.id,
                source_key=f"demo:{kind}:{index}",
                **facts,
            ),
            return_window=timedelta(days=7),
        )
    record_activity(
        session,
        activity_class(
            kind="purchase",
            occurred_at=today - timedelta(days=3),
            partner_id=baltic.id,
            source_key="demo:purchase:1",
            amount=Decimal("4820.00"),
        ),
    )


def seed_demo_rewards(session: Session) -> int:
    """A small rewards catalog: a gift card with codes, goods, a training seat, a donation."""
    from channel.rewards import GiftCardCode, Reward, RewardText

    if session.scalar(select(Reward)) is not None:
        return 0
    gift = Reward(
        kind="gift_card",
        name="Fuel card 20 EUR",
        points_price=2000,
        texts=[
            RewardText(language="lv", name="Degvielas karte 20 EUR"),
            RewardText(language="pl", name="Karta paliwowa 20 EUR"),
            RewardText(language="ru", name="Топливная карта 20 EUR"),
            RewardText(language="he", name="כרטיס דלק 20 EUR"),
            RewardText(language="fa", name="کارت سوخت ۲۰ یورو"),
        ],
    )
    rewards = [
        gift,
        Reward(
            kind="physical",
            name="Cordless drill",
            points_price=6000,
            stock=12,
            texts=[
                RewardText(language="pl", name="Wiertarko-wkrętarka"),
                RewardText(language="ru", name="Аккумуляторная дрель"),
            ],
        ),
        Reward(
            kind="training_seat",
            name="Heat pump installer course, Riga",
            points_price=3000,
            stock=8,
        ),
        Reward(kind="donation", name="Plant ten trees in your name", points_price=500, stock=None),
    ]
    session.add_all(rewards)
    session.flush()
    session.add_all(GiftCardCode(reward_id=gift.id, code=f"FUEL-20-{n:04d}") for n in range(1, 26))
    session.flush()
    return len(rewards)


def seed_demo_coop(session: Session) -> int:
    """A co-op fund and one request from Baltic Heat waiting for pre-approval."""
    from datetime import timedelta
    from decimal import Decimal

    from channel.coop import CoopAsk, CoopFund, request_funds
    from core.db import utcnow

    if session.scalar(select(CoopFund)) is not None:
        return 0
    fund = CoopFund(
        name="Co-op 2026/27", currency="EUR", budget=Decimal("20000"), share_percent=Decimal(50)
    )
    session.add(fund)
    session.flush()
    baltic = session.scalar(
        select(PartnerOrganization).where(PartnerOrganization.legal_id == "LV40003000001")
    )
    manager = session.scalar(select(Person).where(Person.email == "ilze@baltic.example"))
    request_funds(
        session,
        fund,
        baltic,
        manager,
        CoopAsk(
            description="Radio spot on Radio SWH: heat pumps, our brand only",
            cost="2400",
            planned_on=(utcnow() + timedelta(days=21)).date(),
            manufacturers_featured=1,
        ),
    )
    return 1


def seed_demo_tiers(session: Session) -> int:
    """Tier thresholds on rolling volume and tenure, and multipliers for rules that use them."""
    from decimal import Decimal

    from channel.tiers import TierThreshold

    if session.scalar(select(TierThreshold)) is not None:
        return 0
    tiers = {t.code: t for t in session.scalars(select(Tier))}
    tiers["silver"].multiplier, tiers["gold"].multiplier = Decimal("1.2"), Decimal("1.5")
    thresholds = [
        TierThreshold(tier_id=tiers["bronze"].id, metric="volume", minimum=Decimal(1)),
        TierThreshold(tier_id=tiers["silver"].id, metric="volume", minimum=Decimal(25000)),
        TierThreshold(tier_id=tiers["gold"].id, metric="volume", minimum=Decimal(100000)),
        TierThreshold(tier_id=tiers["gold"].id, metric="tenure_months", minimum=Decimal(36)),
    ]
    session.add_all(thresholds)
    session.flush()
    return len(thresholds)


DEMO_ARTICLES = (
    (
        "en",
        "Heat pumps in hard frost",
        "Our **NH-HP8** heat pump keeps heating down to **−25 °C**.\n\n"
        "## Tell the customer\n\n- Defrosting a few times a day is normal.\n"
        "- Keep 30 cm of free space around the outdoor unit.\n",
        "Down to which outdoor temperature does the NH-HP8 heat?\n* −25 °C\n−5 °C\n0 °C\n\n"
        "How much free space does the outdoor unit need around it?\n10 cm\n* 30 cm\n1 m",
    ),
    (
        "ru",
        "Тепловые насосы в сильный мороз",
        "Наш тепловой насос **NH-HP8** греет до **−25 °C**.\n\n"
        "## Скажите клиенту\n\n- Оттайка несколько раз в день — это нормально.\n"
        "- Вокруг наружного блока нужно 30 см свободного места.\n",
        "До какой наружной температуры греет NH-HP8?\n* −25 °C\n−5 °C\n0 °C\n\n"
        "Сколько свободного места нужно вокруг наружного блока?\n10 см\n* 30 см\n1 м",
    ),
    (
        "lv",
        "Siltumsūkņi stiprā salā",
        "Mūsu siltumsūknis **NH-HP8** silda līdz **−25 °C**.\n\n"
        "## Pastāstiet klientam\n\n- Atkausēšana dažas reizes dienā ir normāla.\n"
        "- Ap āra bloku jābūt 30 cm brīvas vietas.\n",
        "Līdz kādai āra temperatūrai silda NH-HP8?\n* −25 °C\n−5 °C\n0 °C\n\n"
        "Cik daudz brīvas vietas vajag ap āra bloku?\n10 cm\n* 30 cm\n1 m",
    ),
)


def seed_demo_learning(session: Session) -> int:
    """A short article about heat pumps with a quiz, in English, Russian and Latvian."""
    from channel.learning import Article, ArticleDetails, save_article

    group = session.scalar(select(ProductGroup).where(ProductGroup.code == "heatpumps"))
    created = 0
    for language, title, body, quiz in DEMO_ARTICLES:
        if session.scalar(select(Article.id).where(Article.title == title)) is None:
            details = ArticleDetails(
                title=title,
                language=language,
                product_group_id=str(group.id) if group else None,
                body=body,
                quiz=quiz,
            )
            save_article(session, details)
            created += 1
    return created
