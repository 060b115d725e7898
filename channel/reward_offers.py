"""Where a reward is offered: one offer per country, with that country's price in points and,
where the reward has one, its face value in the country's money.

People see and redeem only the rewards offered in their partner's country, at that country's
price (`channel.rewards`). A reward's name and description are required in the languages of
every country it is offered in (`core.config.COUNTRY_LANGUAGES`), so nobody is offered a
reward they cannot read about.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from channel.partner_models import PartnerOrganization
from core.config import COUNTRY_LANGUAGES
from core.db import Base
from core.i18n import format_list, is_currency, language_name

#: Far above any real price, and far below what the integer column holds.
MAX_POINTS_PRICE = 100_000_000
#: The most a Numeric(12, 2) column holds.
MAX_FACE_VALUE = Decimal("9999999999.99")


class RewardOffer(Base):
    __tablename__ = "reward_offers"
    __table_args__ = (
        UniqueConstraint("reward_id", "country"),
        CheckConstraint("points_price > 0", name="price_positive"),
        CheckConstraint(
            "(face_value IS NULL AND currency IS NULL)"
            " OR (face_value > 0 AND currency IS NOT NULL)",
            name="face_value_with_currency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    #: ISO 3166 code of the country whose partners' staff may redeem it.
    country: Mapped[str] = mapped_column(String(2), index=True)
    #: What it costs there; this, not the reward's usual price, is what redeeming spends.
    points_price: Mapped[int] = mapped_column(Integer)
    #: What it is worth there in money (a 100 PLN card: 100, "PLN"); NULL for none.
    face_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))


@dataclass(frozen=True)
class OfferTerms:
    """An offer as typed: a country, and text for the price (empty: the reward's usual price)
    and the face value with its currency (both empty: none)."""

    country: str
    points_price: str = ""
    face_value: str = ""
    currency: str = ""


def check_offers(
    terms: list[OfferTerms], usual_price: int | None, errors: dict
) -> list[RewardOffer]:
    """The offers `terms` describe; what is wrong goes into `errors` under `offer_<country>`."""
    offers = []
    countries = list(dict.fromkeys((term.country or "").strip().upper() for term in terms))
    if not [country for country in countries if country]:
        errors["offers"] = _l("Choose at least one country to offer the reward in.")
    for term in terms:
        country = (term.country or "").strip().upper()
        if not country:
            continue
        if len(country) != 2 or not country.isalpha() or not country.isascii():
            errors["offers"] = _l("Choose countries from the list.")
            continue
        if any(offer.country == country for offer in offers):
            continue
        field = f"offer_{country}"
        price = _price(term.points_price, usual_price, errors, field)
        face_value, currency = _face_value(term.face_value, term.currency, errors, field)
        offers.append(
            RewardOffer(
                country=country, points_price=price, face_value=face_value, currency=currency
            )
        )
    return offers


def _price(raw: str, usual_price: int | None, errors: dict, field: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return usual_price
    try:
        price = int(raw)
    except ValueError:
        errors[field] = _l("The price must be a whole number of points.")
        return None
    if price <= 0:
        errors[field] = _l("The price must be at least one point.")
    elif price > MAX_POINTS_PRICE:
        errors[field] = lazy_ngettext(
            "The price can be at most %(num)s point.",
            "The price can be at most %(num)s points.",
            MAX_POINTS_PRICE,
        )
    return price


def _face_value(raw: str, currency: str, errors: dict, field: str):
    raw, currency = (raw or "").strip().replace(",", "."), (currency or "").strip().upper()
    if not raw:
        return None, None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0 or value > MAX_FACE_VALUE:
        errors[field] = _l("The face value must be an amount of money above zero.")
        return None, None
    if not is_currency(currency):
        errors[field] = _l("Give the face value's currency as its ISO code (EUR, PLN, ILS).")
        return None, None
    return value.quantize(Decimal("0.01")), currency


def languages_needed(countries) -> list[str]:
    """The languages a reward offered in `countries` needs its texts in, each once."""
    return list(
        dict.fromkeys(code for country in countries for code in COUNTRY_LANGUAGES.get(country, ()))
    )


def check_texts(countries, texts: dict[str, tuple[str, str]], errors: dict) -> None:
    """Each language the countries need has a name and a description in `texts`; the form
    marks each missing one and says which languages lack something."""
    lacking = []
    for code in languages_needed(countries):
        name, description = texts.get(code, ("", ""))
        if not (name or "").strip():
            errors[f"name_{code}"] = _l("Needed: the reward is offered where this is read.")
        if not (description or "").strip():
            errors[f"description_{code}"] = _l("Needed: the reward is offered where this is read.")
        if f"name_{code}" in errors or f"description_{code}" in errors:
            lacking.append(language_name(code))
    if lacking:
        errors["texts"] = _l(
            "The name and description are missing in %(languages)s, which people read in the "
            "countries the reward is offered in.",
            languages=format_list(lacking),
        )


def offer_countries(session: Session) -> list[str]:
    """The countries a reward may be offered in: those of the partners, and those whose
    languages the platform knows."""
    partners = session.scalars(select(PartnerOrganization.country).distinct())
    return sorted({*partners, *COUNTRY_LANGUAGES})
