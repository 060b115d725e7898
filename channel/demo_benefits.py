"""What the demo's partners can get: rewards to redeem, co-op funds, tier thresholds and
articles to learn from.

Loading them twice changes nothing: what is there already is left as it is.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.models import ProductGroup
from channel.partner_models import PartnerOrganization, Tier
from channel.reward_categories import RewardCategory
from channel.rewards import RewardKind
from roles.models import Person


@dataclass(frozen=True)
class DemoReward:
    kind: str
    #: (English name, English description): the source texts.
    text: tuple[str, str]
    #: country -> (price in points, face value, currency); face value "" for none.
    offers: dict[str, tuple[int, str, str]]
    #: language -> (name, description), for at least every language of its countries.
    texts: dict[str, tuple[str, str]]
    category: str | None = None
    stock: int | None = None
    #: Gift-card codes loaded with it: (prefix, how many).
    codes: tuple[str, int] | None = None


_COURSE = "Two days of hands-on training on our heat pumps at the training centre in %s, with a certificate."
_FUEL = "A %s fuel card for the big filling-station chains in %s. You get the code at once."

#: The demo's rewards: each offered in some of its three countries at a local price, and
#: named and described in the languages read there (`core.config.COUNTRY_LANGUAGES`).
DEMO_REWARDS = (
    DemoReward(
        RewardKind.GIFT_CARD,
        ("Fuel card 20 EUR", _FUEL % ("20 EUR", "Latvia")),
        {"LV": (2000, "20", "EUR")},
        {
            "lv": (
                "Degvielas karte 20 EUR",
                "20 EUR degvielas karte lielākajos Latvijas degvielas uzpildes staciju tīklos. "
                "Kodu saņemsiet uzreiz.",
            ),
            "ru": (
                "Топливная карта на 20 EUR",
                "Топливная карта на 20 EUR для крупных сетей заправок в Латвии. "
                "Код вы получите сразу.",
            ),
        },
        codes=("FUEL-20", 25),
    ),
    DemoReward(
        RewardKind.GIFT_CARD,
        ("Fuel card 100 PLN", _FUEL % ("100 PLN", "Poland")),
        {"PL": (2000, "100", "PLN")},
        {
            "pl": (
                "Karta paliwowa 100 zł",
                "Karta paliwowa o wartości 100 zł na dużych stacjach paliw w Polsce. "
                "Kod otrzymasz od razu.",
            )
        },
        codes=("PALIWO-100", 25),
    ),
    DemoReward(
        RewardKind.GIFT_CARD,
        ("Fuel card 100 ILS", _FUEL % ("100 ILS", "Israel")),
        {"IL": (2200, "100", "ILS")},
        {
            "he": (
                "כרטיס דלק בשווי 100 ₪",
                "כרטיס דלק בשווי 100 ₪ לרשתות תחנות הדלק הגדולות בישראל. את הקוד תקבלו מיד.",
            ),
            "fa": (
                "کارت سوخت ۱۰۰ شِکِلی",
                "کارت سوخت به ارزش ۱۰۰ شِکِل برای جایگاه‌های سوخت بزرگ در اسرائیل. "
                "کد را بی‌درنگ دریافت می‌کنید.",
            ),
        },
        codes=("DELEK-100", 25),
    ),
    DemoReward(
        RewardKind.PHYSICAL,
        (
            "Cordless drill",
            "An 18 V cordless drill-driver with two batteries and a case, sent to the address "
            "you give.",
        ),
        {"LV": (6000, "129", "EUR"), "PL": (6000, "549", "PLN"), "IL": (6500, "499", "ILS")},
        {
            "lv": (
                "Akumulatora urbjmašīna",
                "18 V akumulatora urbjmašīna ar divām baterijām un koferi; nosūtīsim uz jūsu "
                "norādīto adresi.",
            ),
            "ru": (
                "Аккумуляторная дрель",
                "Аккумуляторная дрель-шуруповёрт 18 В с двумя аккумуляторами и кейсом; пришлём "
                "по указанному вами адресу.",
            ),
            "pl": (
                "Wiertarko-wkrętarka akumulatorowa",
                "Wiertarko-wkrętarka 18 V z dwoma akumulatorami i walizką; wyślemy ją pod "
                "podany adres.",
            ),
            "he": (
                "מקדחה נטענת",
                "מקדחה-מברגה נטענת 18 וולט עם שתי סוללות ומזוודה, נשלחת לכתובת שתמסרו.",
            ),
            "fa": (
                "دریل شارژی",
                "دریل‌پیچ‌گوشتی شارژی ۱۸ ولت با دو باتری و کیف، به نشانی‌ای که می‌دهید فرستاده می‌شود.",
            ),
        },
        category=RewardCategory.HOBBY_AND_BRANDED,
        stock=12,
    ),
    DemoReward(
        RewardKind.TRAINING_SEAT,
        ("Heat pump installer course, Riga", _COURSE % "Riga"),
        {"LV": (3000, "", "")},
        {
            "lv": (
                "Siltumsūkņu uzstādītāju kurss Rīgā",
                "Divu dienu praktiskas mācības par mūsu siltumsūkņiem mācību centrā Rīgā, ar "
                "sertifikātu.",
            ),
            "ru": (
                "Курс для монтажников тепловых насосов, Рига",
                "Два дня практических занятий по нашим тепловым насосам в учебном центре в "
                "Риге, с сертификатом.",
            ),
        },
        stock=8,
    ),
    DemoReward(
        RewardKind.TRAINING_SEAT,
        ("Heat pump installer course, Warsaw", _COURSE % "Warsaw"),
        {"PL": (3000, "", "")},
        {
            "pl": (
                "Kurs dla instalatorów pomp ciepła w Warszawie",
                "Dwa dni praktycznych zajęć z naszych pomp ciepła w centrum szkoleniowym w "
                "Warszawie, z certyfikatem.",
            )
        },
        stock=8,
    ),
    DemoReward(
        RewardKind.TRAINING_SEAT,
        ("Heat pump installer course, Haifa", _COURSE % "Haifa"),
        {"IL": (3200, "", "")},
        {
            "he": (
                "קורס למתקיני משאבות חום בחיפה",
                "יומיים של הדרכה מעשית על משאבות החום שלנו במרכז ההדרכה בחיפה, עם תעודה.",
            ),
            "fa": (
                "دوره‌ی آموزشی نصب پمپ حرارتی در حیفا",
                "دو روز آموزش عملی پمپ‌های حرارتی ما در مرکز آموزشی حیفا، همراه با گواهی‌نامه.",
            ),
        },
        stock=8,
    ),
    DemoReward(
        RewardKind.DONATION,
        (
            "Plant ten trees in your name",
            "We plant ten trees in your name with a local forestry partner and send you the "
            "certificate.",
        ),
        {"LV": (500, "", ""), "PL": (500, "", ""), "IL": (500, "", "")},
        {
            "lv": (
                "Desmit koki, iestādīti jūsu vārdā",
                "Kopā ar vietējo mežsaimniecības partneri iestādīsim desmit kokus jūsu vārdā un "
                "nosūtīsim jums sertifikātu.",
            ),
            "ru": (
                "Десять деревьев, посаженных от вашего имени",
                "Вместе с местным лесным хозяйством мы посадим десять деревьев от вашего имени "
                "и пришлём вам сертификат.",
            ),
            "pl": (
                "Dziesięć drzew posadzonych w Twoim imieniu",
                "Razem z lokalnym nadleśnictwem posadzimy dziesięć drzew w Twoim imieniu i "
                "wyślemy Ci certyfikat.",
            ),
            "he": (
                "נטיעת עשרה עצים על שמכם",
                "ניטע עשרה עצים על שמכם בשיתוף גוף ייעור מקומי ונשלח לכם תעודה.",
            ),
            "fa": (
                "کاشت ده درخت به نام شما",
                "با یک همکار جنگل‌داری محلی ده درخت به نام شما می‌کاریم و گواهی آن را "
                "برایتان می‌فرستیم.",
            ),
        },
    ),
)


def seed_demo_rewards(session: Session, rewards: tuple[DemoReward, ...] = DEMO_REWARDS) -> int:
    """A small rewards catalog in three countries: gift cards with codes, goods, training
    seats, a donation; returns how many rewards it added.

    A demo loaded before has each of these rewards completed, not changed: texts it lacks
    are added, and its offers become the demo's (a catalog migrated from before countries
    offered everything everywhere)."""
    from channel.reward_offers import RewardOffer
    from channel.rewards import GiftCardCode, Reward, RewardText

    created = 0
    for demo in rewards:
        name, description = demo.text
        reward = session.scalar(select(Reward).where(Reward.name == name))
        new = reward is None
        if new:
            reward = Reward(
                kind=demo.kind,
                category=demo.category,
                name=name,
                description=description,
                points_price=min(price for price, _, _ in demo.offers.values()),
                stock=demo.stock,
            )
            session.add(reward)
            created += 1
        texts = {text.language: text for text in reward.texts}
        for language, (local_name, local_description) in demo.texts.items():
            if language not in texts:
                reward.texts.append(
                    RewardText(language=language, name=local_name, description=local_description)
                )
            elif not texts[language].description:
                texts[language].description = local_description
        offers = {offer.country: offer for offer in reward.offers}
        reward.offers = [
            offers.get(country)
            or RewardOffer(
                country=country,
                points_price=price,
                face_value=Decimal(face_value) if face_value else None,
                currency=currency or None,
            )
            for country, (price, face_value, currency) in demo.offers.items()
        ]
        session.flush()
        if new and demo.codes:
            prefix, count = demo.codes
            session.add_all(
                GiftCardCode(reward_id=reward.id, code=f"{prefix}-{n:04d}")
                for n in range(1, count + 1)
            )
            session.flush()
    return created


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
