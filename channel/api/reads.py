"""The API's reads: partners, people, products, programs, balances and ledger entries.

A partner's token sees only its own partner's data, through the web app's scoped queries;
anything outside that scope answers 404, exactly as when it does not exist.
"""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

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
    page_of,
)
from channel.ledger import LedgerEntry
from channel.models import Product, Program
from channel.partner_models import PartnerOrganization
from channel.postings import balance_of, person_account
from channel.rewards import Reward, codes_left
from channel.scoping import scoped_partners, scoped_programs
from core.db import get_session
from roles.models import Person
from roles.scoping import scoped_people

#: An id in a path, within what the databases store (larger ones answer 404).
ID = "<int(max=2147483647):id>"


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"There is no such {what}.")


def page(stmt: Select, args: dict, order_by) -> dict:
    """One page of `stmt` with the total it came from."""
    session = get_session()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = session.scalars(
        stmt.order_by(order_by)
        .limit(args["per_page"])
        .offset((args["page"] - 1) * args["per_page"])
    ).all()
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


def _one(stmt: Select, what: str):
    obj = get_session().scalar(stmt)
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
    stmt = scoped_partners(current_token()).options(selectinload(PartnerOrganization.tier))
    return _with(page(stmt, args, PartnerOrganization.id), _partner_out)


@bp.get(f"/partners/{ID}")
@bp.response(200, PartnerSchema)
def partner_detail(id):
    """One partner."""
    stmt = scoped_partners(current_token()).where(PartnerOrganization.id == id)
    return _partner_out(_one(stmt, "partner"))


@bp.get("/people")
@bp.arguments(PeopleArgs, location="query")
@bp.response(200, page_of(PersonSchema))
def person_list(args):
    """People: partner staff (and, for a manufacturer's token, the manufacturer's people)."""
    stmt = scoped_people(current_token()).options(selectinload(Person.role_assignments))
    if args.get("partner_id"):
        stmt = stmt.where(Person.partner_id == args["partner_id"])
    return _with(page(stmt, args, Person.id), _person_out)


@bp.get(f"/people/{ID}")
@bp.response(200, PersonSchema)
def person_detail(id):
    """One person."""
    return _person_out(_one(scoped_people(current_token()).where(Person.id == id), "person"))


@bp.get("/products")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(ProductSchema))
def product_list(args):
    """The product catalog."""
    stmt = select(Product).options(selectinload(Product.group))
    return _with(page(stmt, args, Product.id), _product_out)


@bp.get("/programs")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(ProgramSchema))
def program_list(args):
    """Programs: those offered to the token's partner, or every program."""
    return page(scoped_programs(current_token()), args, Program.id)


@bp.get(f"/programs/{ID}")
@bp.response(200, ProgramSchema)
def program_detail(id):
    """One program."""
    return _one(scoped_programs(current_token()).where(Program.id == id), "program")


@bp.get("/rewards")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(RewardSchema))
def reward_list(args):
    """The rewards on offer, to redeem with POST /redemptions."""
    session = get_session()

    def shape(reward: Reward) -> dict:
        left = codes_left(session, reward) if reward.kind == "gift_card" else reward.stock
        return {
            "id": reward.id,
            "kind": reward.kind,
            "name": reward.name,
            "description": reward.description,
            "points_price": reward.points_price,
            "left": left,
        }

    stmt = select(Reward).where(Reward.active.is_(True))
    return _with(page(stmt, args, Reward.id), shape)


@bp.get("/balances/<int(max=2147483647):person>")
@bp.response(200, BalanceSchema)
def balance(person):
    """A person's points: pending (inside a return window) and available to spend."""
    found = _one(scoped_people(current_token()).where(Person.id == person), "person")
    pending, available = balance_of(get_session(), person_account(found.id))
    return {"person_id": found.id, "pending": pending, "available": available}


@bp.get("/ledger-entries")
@bp.arguments(LedgerArgs, location="query")
@bp.response(200, page_of(LedgerEntrySchema))
def ledger_entries(args):
    """Ledger entries, oldest first, by person, partner, program and day (UTC)."""
    token = current_token()
    stmt = select(LedgerEntry)
    if token.partner_id is not None:
        stmt = stmt.where(LedgerEntry.partner_id == token.partner_id)
    for name, column in (
        ("person_id", LedgerEntry.person_id),
        ("partner_id", LedgerEntry.partner_id),
        ("program_id", LedgerEntry.program_id),
    ):
        if args.get(name):
            stmt = stmt.where(column == args[name])
    if args.get("since"):
        stmt = stmt.where(LedgerEntry.created_at >= datetime.combine(args["since"], time(), UTC))
    if args.get("until") and args["until"] < date.max:
        end = datetime.combine(args["until"], time(), UTC) + timedelta(days=1)
        stmt = stmt.where(LedgerEntry.created_at < end)
    return page(stmt, args, LedgerEntry.id)
