"""What the demo's partners can get: rewards to redeem, co-op funds, tier thresholds and
articles to learn from.

Loading them twice changes nothing: what is there already is left as it is.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.models import ProductGroup
from channel.partner_models import PartnerOrganization, Tier
from channel.reward_categories import RewardCategory
from channel.rewards import RewardKind
from roles.models import Person

#: The demo's rewards, each named in every language the demo's people read.
DEMO_REWARD_NAMES = {
    "Fuel card 20 EUR": {
        "lv": "Degvielas karte 20 EUR",
        "pl": "Karta paliwowa 20 EUR",
        "ru": "Топливная карта на 20 EUR",
        "he": "כרטיס דלק בשווי 20 אירו",
        "fa": "کارت سوخت ۲۰ یورویی",
    },
    "Cordless drill": {
        "lv": "Akumulatora urbjmašīna",
        "pl": "Wiertarko-wkrętarka akumulatorowa",
        "ru": "Аккумуляторная дрель",
        "he": "מקדחה נטענת",
        "fa": "دریل شارژی",
    },
    "Heat pump installer course, Riga": {
        "lv": "Siltumsūkņu uzstādītāju kurss Rīgā",
        "pl": "Kurs dla instalatorów pomp ciepła w Rydze",
        "ru": "Курс для монтажников тепловых насосов, Рига",
        "he": "קורס למתקיני משאבות חום בריגה",
        "fa": "دوره‌ی آموزشی نصب پمپ حرارتی در ریگا",
    },
    "Plant ten trees in your name": {
        "lv": "Desmit koki, iestādīti jūsu vārdā",
        "pl": "Dziesięć drzew posadzonych w Twoim imieniu",
        "ru": "Десять деревьев, посаженных от вашего имени",
        "he": "נטיעת עשרה עצים על שמכם",
        "fa": "کاشت ده درخت به نام شما",
    },
}


def _texts(name: str):
    from channel.rewards import RewardText

    return [RewardText(language=code, name=text) for code, text in DEMO_REWARD_NAMES[name].items()]


def seed_demo_rewards(session: Session) -> int:
    """A small rewards catalog: a gift card with codes, goods, a training seat, a donation.

    A catalog loaded before the rewards had their names in every language gets the missing
    names; nothing else is changed."""
    from channel.rewards import GiftCardCode, Reward, RewardText

    existing = list(session.scalars(select(Reward)))
    if existing:
        for reward in existing:
            have = {text.language for text in reward.texts}
            for code, text in DEMO_REWARD_NAMES.get(reward.name, {}).items():
                if code not in have:
                    reward.texts.append(RewardText(language=code, name=text))
        session.flush()
        return 0
    gift = Reward(
        kind=RewardKind.GIFT_CARD,
        name="Fuel card 20 EUR",
        points_price=2000,
        texts=_texts("Fuel card 20 EUR"),
    )
    rewards = [
        gift,
        Reward(
            kind=RewardKind.PHYSICAL,
            category=RewardCategory.HOBBY_AND_BRANDED,
            name="Cordless drill",
            points_price=6000,
            stock=12,
            texts=_texts("Cordless drill"),
        ),
        Reward(
            kind=RewardKind.TRAINING_SEAT,
            name="Heat pump installer course, Riga",
            points_price=3000,
            stock=8,
            texts=_texts("Heat pump installer course, Riga"),
        ),
        Reward(
            kind=RewardKind.DONATION,
            name="Plant ten trees in your name",
            points_price=500,
            stock=None,
            texts=_texts("Plant ten trees in your name"),
        ),
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
