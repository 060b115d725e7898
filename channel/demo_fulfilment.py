"""What the demo's people got for their points, delivered: a coalition brand's reward and its
month's settlement, cash-out amounts in each country's money with one cash-out approved for
payment, and goods shipped with their tracking number.

The redemptions go through `redeem`, the shipment through the shipments import and the
cash-out through its approval, as an operator's would; each is keyed, so loading the demo
again adds nothing.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.coalition import Brand, BrandDetails, BrandFulfilment, save_brand
from channel.demo_benefits import DemoReward, seed_demo_rewards
from channel.payout_models import cash_out_value_of
from channel.payouts import approve_cash_out, set_cash_out_value
from channel.reward_categories import RewardCategory
from channel.rewards import Redemption, Reward, RewardKind, redeem
from channel.shipments import import_shipments, reference_of
from roles.models import Person

BRAND = BrandDetails(
    name="Nord Coffee",
    currency="EUR",
    rate_per_point="0.020000",
    fulfilment=BrandFulfilment.CODES,
    contact="partners@nordcoffee.example",
)
_CASH = "%s paid into the bank account (IBAN) you give, with the next transfer."

COFFEE = DemoReward(
    RewardKind.GIFT_CARD,
    (
        "Coffee for two at Nord Coffee",
        "A voucher for two coffees at any Nord Coffee café. You get the code at once.",
    ),
    {"LV": (150, "3", "EUR"), "PL": (150, "12", "PLN"), "IL": (160, "12", "ILS")},
    {
        "lv": (
            "Kafija diviem kafejnīcā Nord Coffee",
            "Kupons divām kafijām jebkurā Nord Coffee kafejnīcā. Kodu saņemsiet uzreiz.",
        ),
        "ru": (
            "Кофе на двоих в Nord Coffee",
            "Купон на две чашки кофе в любом кафе Nord Coffee. Код вы получите сразу.",
        ),
        "pl": (
            "Kawa dla dwojga w Nord Coffee",
            "Kupon na dwie kawy w dowolnej kawiarni Nord Coffee. Kod otrzymasz od razu.",
        ),
        "he": (
            "קפה לשניים ב-Nord Coffee",
            "שובר לשתי כוסות קפה בכל בית קפה של Nord Coffee. את הקוד תקבלו מיד.",
        ),
        "fa": (
            "قهوه برای دو نفر در Nord Coffee",
            "کوپن دو فنجان قهوه در هر کافه‌ی Nord Coffee. کد را بی‌درنگ دریافت می‌کنید.",
        ),
    },
    codes=("NORD-KAFE", 20),
)
GLOVES = DemoReward(
    RewardKind.PHYSICAL,
    (
        "Work gloves with our logo",
        "A pair of sturdy work gloves with the Nordheat logo, sent to the address you give.",
    ),
    {"LV": (150, "", ""), "PL": (150, "", ""), "IL": (160, "", "")},
    {
        "lv": (
            "Darba cimdi ar mūsu logo",
            "Izturīgu darba cimdu pāris ar Nordheat logo; nosūtīsim uz jūsu norādīto adresi.",
        ),
        "ru": (
            "Рабочие перчатки с нашим логотипом",
            "Пара прочных рабочих перчаток с логотипом Nordheat; пришлём по указанному вами "
            "адресу.",
        ),
        "pl": (
            "Rękawice robocze z naszym logo",
            "Para mocnych rękawic roboczych z logo Nordheat; wyślemy je pod podany adres.",
        ),
        "he": (
            "כפפות עבודה עם הלוגו שלנו",
            "זוג כפפות עבודה עמידות עם הלוגו של Nordheat, נשלח לכתובת שתמסרו.",
        ),
        "fa": (
            "دستکش کار با نشان ما",
            "یک جفت دستکش کار محکم با نشان Nordheat، به نشانی‌ای که می‌دهید فرستاده می‌شود.",
        ),
    },
    category=RewardCategory.HOBBY_AND_BRANDED,
    stock=50,
)
CASH_EUR = DemoReward(
    RewardKind.CASHOUT,
    ("5 EUR to your bank account", _CASH % "5 EUR"),
    {"LV": (250, "5", "EUR")},
    {
        "lv": (
            "5 EUR uz jūsu bankas kontu",
            "5 EUR, ko ieskaitīsim jūsu norādītajā bankas kontā (IBAN) ar nākamo pārskaitījumu.",
        ),
        "ru": (
            "5 EUR на ваш банковский счёт",
            "5 EUR, которые мы перечислим на указанный вами банковский счёт (IBAN) со "
            "следующим переводом.",
        ),
    },
)
CASH_PLN = DemoReward(
    RewardKind.CASHOUT,
    ("20 PLN to your bank account", _CASH % "20 PLN"),
    {"PL": (250, "20", "PLN")},
    {
        "pl": (
            "20 zł na Twoje konto bankowe",
            "20 zł przelejemy na podane konto bankowe (IBAN) z najbliższym przelewem.",
        )
    },
)
CASH_ILS = DemoReward(
    RewardKind.CASHOUT,
    ("20 ILS to your bank account", _CASH % "20 ILS"),
    {"IL": (270, "20", "ILS")},
    {
        "he": (
            "20 ₪ לחשבון הבנק שלכם",
            "20 ₪ שיועברו לחשבון הבנק (IBAN) שתמסרו, בהעברה הבאה.",
        ),
        "fa": (
            "۲۰ شِکِل به حساب بانکی شما",
            "۲۰ شِکِل که با واریز بعدی به حساب بانکی (IBAN) که می‌دهید پرداخت می‌شود.",
        ),
    },
)
FULFILMENT_REWARDS = (COFFEE, GLOVES, CASH_EUR, CASH_PLN, CASH_ILS)


@dataclass(frozen=True)
class DemoRedemption:
    key: str
    phone: str
    reward: DemoReward
    shipping_address: str | None = None
    iban: str | None = None


#: Dmitry's coffee (settled to the brand), Tomasz's gloves (shipped), Līga's cash-out
#: (approved, waiting for the next SEPA batch).
REDEMPTIONS = (
    DemoRedemption("demo:coffee:dmitry", "+37120000003", COFFEE),
    DemoRedemption(
        "demo:gloves:tomasz",
        "+48501000003",
        GLOVES,
        shipping_address="ul. Długa 5, 00-238 Warszawa",
    ),
    DemoRedemption("demo:cashout:liga", "+37120000004", CASH_EUR, iban="LV80BANK0000435195001"),
)
SHIPMENT = {"tracking_number": "620000123456789012345678", "carrier": "InPost"}


def seed_demo_fulfilment(session: Session, today: date) -> int:
    """The brand, the rewards and the three redemptions; returns how many redemptions it
    added (none when loaded before)."""
    seed_demo_rewards(session, FULFILMENT_REWARDS)
    rewards = {demo.text[0]: _reward(session, demo) for demo in FULFILMENT_REWARDS}
    brand = session.scalar(select(Brand).where(Brand.name == BRAND.name))
    if brand is None:
        brand = save_brand(session, BRAND)
    rewards[COFFEE.text[0]].brand_id = brand.id
    for demo in (CASH_EUR, CASH_PLN, CASH_ILS):
        if cash_out_value_of(session, rewards[demo.text[0]].id) is None:
            (_, face_value, currency), *_ = demo.offers.values()
            set_cash_out_value(session, rewards[demo.text[0]], face_value, currency)
    session.flush()
    people = {p.phone: p for p in session.scalars(select(Person))}
    added = 0
    for demo in REDEMPTIONS:
        if session.scalar(select(Redemption.id).where(Redemption.request_key == demo.key)):
            continue
        redemption = redeem(
            session,
            people[demo.phone],
            rewards[demo.reward.text[0]],
            request_key=demo.key,
            shipping_address=demo.shipping_address,
            iban=demo.iban,
        )
        added += 1
        if demo.reward is GLOVES:
            row = {"reference": reference_of(redemption.id), **SHIPMENT}
            import_shipments(
                session, [(1, {**row, "shipped_on": today - timedelta(days=1)})], today=today
            )
        elif demo.reward is CASH_EUR:
            approve_cash_out(session, redemption.cash_out)
    session.flush()
    return added


def _reward(session: Session, demo: DemoReward) -> Reward:
    return session.scalar(select(Reward).where(Reward.name == demo.text[0]))
