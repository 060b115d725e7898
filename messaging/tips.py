"""The "Did you know…" tips the channel manager keeps per product group and language."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channel.learning import Article
from channel.models import ProductGroup
from core.config import LANGUAGES
from core.errors import InvalidInput
from messaging.models import Tip
from messaging.segments import count_segments

#: The longest tip with its link, in GSM-7 septets or UCS-2 units: what is left of two SMS
#: segments (306 / 134) once the points sentence and "Did you know?" are written.
TIP_UNITS = {"GSM-7": 140, "UCS-2": 55}


class InvalidTip(InvalidInput):
    """A tip cannot be saved as given; nothing was."""


@dataclass
class TipDetails:
    #: A product group's code; empty: a tip about no product in particular.
    group_code: str
    language: str
    text: str
    link_url: str = ""


def save_tip(session: Session, details: TipDetails, existing: Tip | None = None) -> Tip:
    """Add or change a tip, short enough (with its link) for the points message that carries
    it to stay within two SMS segments."""
    errors = {}
    group = None
    code = (details.group_code or "").strip()
    if code:
        group = session.scalar(select(ProductGroup).where(ProductGroup.code == code))
        if group is None:
            errors["group"] = _l("Choose a product group from the list.")
    if details.language not in LANGUAGES:
        errors["language"] = _l("Choose a language.")
    text = " ".join((details.text or "").split())
    link = (details.link_url or "").strip()
    size = count_segments(f"{text} {link}".strip())
    if not text:
        errors["text"] = _l("Write the tip.")
    elif size.units > TIP_UNITS[size.encoding]:
        errors["text"] = _l("Too long for one text message: shorten the tip or the link.")
    if link and not link.startswith(("https://", "http://")):
        errors["link_url"] = _l("A link starts with https://.")
    if len(link) > 500:
        errors["link_url"] = _l("The link is too long.")
    if errors:
        raise InvalidTip(errors)
    tip = existing or Tip()
    tip.product_group_id = group.id if group else None
    tip.language, tip.text, tip.link_url = details.language, text, link or None
    if existing is None:
        session.add(tip)
    session.flush()
    return tip


def all_tips(session: Session) -> list[Tip]:
    """Every tip, by product group (general ones first), then language."""
    return list(
        session.scalars(
            select(Tip)
            .options(selectinload(Tip.product_group))
            .outerjoin(ProductGroup, ProductGroup.id == Tip.product_group_id)
            .order_by(ProductGroup.code.nulls_first(), Tip.language, Tip.id)
        )
    )


def product_groups(session: Session) -> list[ProductGroup]:
    """The product groups a tip can be about, by code."""
    return list(session.scalars(select(ProductGroup).order_by(ProductGroup.code)))


def articles(session: Session) -> list[Article]:
    """The learning articles a tip can link to, by language and title."""
    return list(session.scalars(select(Article).order_by(Article.language, Article.title)))


def delete_tip(session: Session, tip: Tip) -> None:
    session.delete(tip)
    session.flush()
