"""The API's reads: partners, people, products, programs, balances, ledger entries, serials.

A partner's token sees only its own partner's data, through the web app's scoped queries;
anything outside that scope answers 404, exactly as when it does not exist.
"""

from channel.api import queries
from channel.api.blueprint import bp, current_token
from channel.api.errors import ApiError
from channel.api.schemas import (
    BalanceSchema,
    LedgerArgs,
    LedgerEntrySchema,
    PageArgs,
    PartnerSchema,
    PeopleArgs,
    PersonSchema,
    ProductSchema,
    ProgramSchema,
    RewardSchema,
    SerialSchema,
    page_of,
)
from channel.models import Product
from channel.partner_models import PartnerOrganization
from channel.postings import balance_of, person_account
from channel.rewards import Reward, RewardKind, codes_left
from core.db import get_session
from roles.models import Person

#: An id in a path, within what the databases store (larger ones answer 404).
ID = "<int(max=2147483647):id>"


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"There is no such {what}.")


def page(stmt, args: dict) -> dict:
    """The page of `stmt` the query arguments ask for."""
    return queries.page(get_session(), stmt, args["page"], args["per_page"])


def found(obj, what: str):
    """`obj`, or a 404 naming `what` when there is none (or none the token may see)."""
    if obj is None:
        raise not_found(what)
    return obj


def _partner_out(partner: PartnerOrganization) -> dict:
    return {
        "id": partner.id,
        "name": partner.name,
        "kind": partner.kind,
        "country": partner.country,
        "legal_id": partner.legal_id,
        "status": partner.status,
        "parent_id": partner.parent_id,
        "tier": partner.tier.code if partner.tier else None,
        "contract_started_on": partner.contract_started_on,
    }


def _person_out(person: Person) -> dict:
    return {
        "id": person.id,
        "partner_id": person.partner_id,
        "full_name": person.full_name,
        "phone": person.phone,
        "email": person.email,
        "language": person.language,
        "roles": sorted(person.roles),
        "active": person.active,
    }


def _product_out(product: Product) -> dict:
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "group": product.group.code,
        "points_per_unit": product.unit_points,
        "active": product.active,
    }


def _with(result: dict, shape) -> dict:
    return {**result, "items": [shape(item) for item in result["items"]]}


@bp.get("/partners")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(PartnerSchema))
def partner_list(args):
    """Partners: the token's own partner, or every partner for a manufacturer's token."""
    return _with(page(queries.partners(current_token()), args), _partner_out)


@bp.get(f"/partners/{ID}")
@bp.response(200, PartnerSchema)
def partner_detail(id):
    """One partner."""
    partner = queries.partner(get_session(), current_token(), id)
    return _partner_out(found(partner, "partner"))


@bp.get("/people")
@bp.arguments(PeopleArgs, location="query")
@bp.response(200, page_of(PersonSchema))
def person_list(args):
    """People: partner staff (and, for a manufacturer's token, the manufacturer's people)."""
    stmt = queries.people(current_token(), args.get("partner_id"))
    return _with(page(stmt, args), _person_out)


@bp.get(f"/people/{ID}")
@bp.response(200, PersonSchema)
def person_detail(id):
    """One person."""
    return _person_out(found(queries.person(get_session(), current_token(), id), "person"))


@bp.get("/products")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(ProductSchema))
def product_list(args):
    """The product catalog."""
    return _with(page(queries.products(), args), _product_out)


@bp.get("/programs")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(ProgramSchema))
def program_list(args):
    """Programs: those offered to the token's partner, or every program."""
    return page(queries.programs(current_token()), args)


@bp.get(f"/programs/{ID}")
@bp.response(200, ProgramSchema)
def program_detail(id):
    """One program."""
    return found(queries.program(get_session(), current_token(), id), "program")


@bp.get("/rewards")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(RewardSchema))
def reward_list(args):
    """The rewards on offer, to redeem with POST /redemptions. A partner's token sees those
    offered in its partner's country, at the price there; a manufacturer's token every
    reward at its usual price, with the offers of each country."""
    session = get_session()
    country = queries.country_of_partner(session, current_token().partner_id)

    def shape(reward: Reward) -> dict:
        left = codes_left(session, reward) if reward.kind == RewardKind.GIFT_CARD else reward.stock
        offers = [o for o in reward.offers if country is None or o.country == country]
        here = offers[0] if country is not None else None
        return {
            "id": reward.id,
            "kind": reward.kind,
            "category": reward.category,
            "name": reward.name,
            "description": reward.description,
            "points_price": here.points_price if here else reward.points_price,
            "face_value": here.face_value if here else None,
            "currency": here.currency if here else None,
            "left": left,
            "offers": [
                {
                    "country": o.country,
                    "points_price": o.points_price,
                    "face_value": o.face_value,
                    "currency": o.currency,
                }
                for o in offers
            ],
        }

    return _with(page(queries.rewards_on_offer(country), args), shape)


@bp.get("/balances/<int(max=2147483647):person>")
@bp.response(200, BalanceSchema)
def balance(person):
    """A person's points: pending (inside a return window) and available to spend."""
    session = get_session()
    someone = found(queries.person(session, current_token(), person), "person")
    pending, available = balance_of(session, person_account(someone.id))
    return {"person_id": someone.id, "pending": pending, "available": available}


@bp.get("/ledger-entries")
@bp.arguments(LedgerArgs, location="query")
@bp.response(200, page_of(LedgerEntrySchema))
def ledger_entries(args):
    """Ledger entries, oldest first, by person, partner, program and day (UTC)."""
    stmt = queries.ledger_entries(
        current_token(),
        person_id=args.get("person_id"),
        partner_id=args.get("partner_id"),
        program_id=args.get("program_id"),
        since=args.get("since"),
        until=args.get("until"),
    )
    return page(stmt, args)


@bp.get("/serials/<string(maxlength=100):serial>")
@bp.response(200, SerialSchema)
def serial_detail(serial):
    """One shipped unit by its serial number: its state, who holds it, and what happened to it.

    A partner's token finds the serials its partner holds and those held by the dealers it
    supplies (with the unit's whole history, the manufacturer's shipment included); any
    other serial answers 404, as one never shipped.
    """
    return found(queries.serial(get_session(), current_token(), serial), "serial")
