"""The API's writes: claims, sell-out lines, redemptions, purchases and exchange rates, each
idempotent by its key.

Every write needs a write token, acts only on people within the token's scope, and runs
through the same operations as the web app.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from flask import current_app, jsonify, request

from channel.api import queries
from channel.api.blueprint import bp, require_write
from channel.api.errors import ApiError, error_body
from channel.api.idempotency import KeyReused, request_hash, run_once
from channel.api.reads import found, not_found
from channel.api.schemas import (
    ClaimInSchema,
    ClaimSchema,
    ExchangeRatesInSchema,
    IdempotencyHeader,
    PurchaseLinesInSchema,
    PurchasesReportSchema,
    RatesReportSchema,
    RedemptionInSchema,
    RedemptionSchema,
    SalesLinesInSchema,
    SalesReportSchema,
)
from channel.claims import ClaimDetails, referred_partner_id, submit_claim
from channel.exchange_rates import add_rates
from channel.purchase_import import import_purchases
from channel.rewards import Reward, redeem
from channel.sales_import import import_sales
from core.db import get_session, utcnow
from core.errors import InvalidInput
from roles.models import Person


def _return_window() -> timedelta:
    return timedelta(days=current_app.config["RETURN_WINDOW_DAYS"])


def _refused(message: str):
    def refusal(invalid: InvalidInput) -> tuple[int, dict]:
        fields = {name: [str(text)] for name, text in invalid.errors.items()}
        return 422, error_body(422, "invalid_input", message, {"fields": {"json": fields}})

    return refusal


def _idempotent(headers: dict, write, refusal):
    """Run `write` once for this token and Idempotency-Key; answer with what it returned."""
    token = require_write()
    key = headers.get("idempotency_key")
    digest = request_hash(request.method, request.path, request.get_json(silent=True))
    session = get_session()
    try:
        status, body, replayed = run_once(
            session, token_id=token.id, key=key, digest=digest, write=write, refusal=refusal
        )
    except KeyReused:
        session.rollback()
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request.",
            {"idempotency_key": key},
        ) from None
    session.commit()
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _staff(person_id: int) -> Person:
    return found(queries.person(get_session(), require_write(), person_id), "person")


def _claim_out(claim) -> dict:
    return ClaimSchema().dump(
        {
            "id": claim.id,
            "person_id": claim.person_id,
            "partner_id": claim.partner_id,
            "kind": claim.kind,
            "status": claim.status,
            "occurred_on": claim.occurred_on,
            "invoice_number": claim.invoice_number,
            "serial": claim.serial,
            "flags": list(claim.flags or []),
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in claim.lines],
        }
    )


@bp.post("/claims")
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(ClaimInSchema)
@bp.response(201, ClaimSchema)
def claim_create(claim, **headers):
    """Submit a claim for a person; it passes the fraud rules like one made on the web.

    A clean claim is approved at once and earns; a flagged one waits for review. Needs a
    write token.
    """
    require_write()
    person = _staff(claim["person_id"])
    amount = claim["amount"]
    details = ClaimDetails(
        kind=claim["kind"],
        occurred_on=claim["occurred_on"],
        lines=[(line["sku"], line["quantity"]) for line in claim["lines"]],
        invoice_number=claim["invoice_number"],
        serial=claim["serial"],
        site=claim["site"],
        amount=Decimal(amount) if amount is not None else Decimal(0),
        due_on=claim["due_on"],
        shares={share["person_id"]: share["percent"] for share in claim["shares"]},
        referred_partner_id=referred_partner_id(get_session(), claim["referred_legal_id"], person)
        if claim["kind"] == "referral"
        else None,
    )

    def write(session):
        made = submit_claim(
            session, person, details, today=person.day_at(utcnow()), return_window=_return_window()
        )
        return 201, _claim_out(made)

    return _idempotent(headers, write, _refused("The claim was refused."))


@bp.post("/sales-lines")
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(SalesLinesInSchema)
@bp.response(200, SalesReportSchema)
def sales_lines_create(payload, **headers):
    """Import sell-out lines, as from a distributor's file.

    A line already imported is counted, not imported again. Each line is matched to a seller (phone or e-mail; for a partner's token, only that
    partner's staff) and a product. A matched line becomes an approved claim; every other
    line is reported with its reason. Needs a write token.
    """
    token = require_write()
    rows = [
        (index, {**line, "line": str(line["line"])})
        for index, line in enumerate(payload["lines"], 1)
    ]

    def write(session):
        report = import_sales(
            session,
            rows,
            now=utcnow(),
            return_window=_return_window(),
            partner_id=token.partner_id,
        )
        return 200, SalesReportSchema().dump(
            {
                "imported": report.imported,
                "already_imported": report.already_imported,
                "rejected": [
                    {"index": index, "reason": str(reason)} for index, reason in report.rejected
                ],
            }
        )

    return _idempotent(headers, write, _refused("The sales lines were refused."))


@bp.post("/redemptions")
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(RedemptionInSchema)
@bp.response(201, RedemptionSchema)
def redemption_create(payload, **headers):
    """Spend a person's available points on a reward, reserving its stock. Needs a write token."""
    token = require_write()
    person = _staff(payload["person_id"])
    reward = get_session().get(Reward, payload["reward_id"])
    if reward is None:
        raise not_found("reward")
    key = headers.get("idempotency_key")
    request_key = f"api:{token.id}:{key}" if key else f"api:{uuid.uuid4().hex}"

    def write(session):
        made = redeem(
            session,
            person,
            reward,
            request_key=request_key,
            shipping_address=payload["shipping_address"],
            iban=payload["iban"],
        )
        return 201, RedemptionSchema().dump(
            {
                "id": made.id,
                "person_id": made.person_id,
                "reward_id": made.reward_id,
                "points": made.points,
                "status": made.status,
                "gift_card_code": made.code.code if made.code else None,
            }
        )

    return _idempotent(headers, write, _refused("The redemption was refused."))


def _purchase_row(line: dict) -> dict:
    """A purchase line as the file reader gives it: text cells, serials space-separated."""
    return {
        **line,
        "line": str(line["line"]),
        "quantity": str(line["quantity"]),
        "serials": " ".join(line["serials"]),
    }


def _own_invoices(token, lines: list[dict]):
    """(rows to import, rejected) for a partner's token: only lines it invoiced itself, to
    a dealer it supplies."""
    if token.partner_id is None:
        return [(n, _purchase_row(line)) for n, line in enumerate(lines, 1)], []
    own = token.partner
    supplied = queries.dealers(get_session(), own.id)
    rows, rejected = [], []
    for number, line in enumerate(lines, 1):
        seller = (line["seller"].strip() or own.legal_id).upper()
        seller_country = line["seller_country"].strip().upper()
        buyer, country = line["partner"].strip().upper(), line["country"].strip().upper()
        if seller != own.legal_id.upper() or seller_country not in ("", own.country):
            rejected.append((number, _OTHER_SELLER))
        elif not any(b == buyer and country in ("", c) for b, c in supplied):
            rejected.append((number, _NOT_A_DEALER))
        else:
            line = {**line, "seller": own.legal_id, "seller_country": own.country}
            rows.append((number, _purchase_row(line)))
    return rows, rejected


_OTHER_SELLER = (
    "A partner's token reports only the partner's own invoices: the seller must be its own "
    "legal id."
)
_NOT_A_DEALER = "A partner's token reports sales only to the dealers the partner supplies."


@bp.post("/purchases")
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(PurchaseLinesInSchema)
@bp.response(200, PurchasesReportSchema)
def purchases_create(payload, **headers):
    """Import purchase (sell-in) lines with the serials they shipped, as from a purchases file.

    Each line is stored whole (with its serials' moves) or rejected with its reason; a line
    stored before (same seller, document, number and line), under any key, counts as already
    imported and changes nothing. A line in a currency with no rate for its date yet is stored
    and listed as held. A manufacturer's write token may send any lines. A partner's write
    token (a distributor reporting its invoices to the dealers it supplies) may send only
    lines it sold itself (`seller` empty or its own legal id) to a dealer it supplies (one
    whose parent it is); any other line is rejected.
    """
    token = require_write()
    rows, outside = _own_invoices(token, payload["lines"])

    def write(session):
        report = import_purchases(session, rows, today=utcnow().date())
        rejected = sorted([*outside, *report.rejected])
        return 200, PurchasesReportSchema().dump(
            {
                "imported": report.imported,
                "already_imported": report.already_imported,
                "serials": report.serials,
                "rejected": [{"line": n, "reason": str(reason)} for n, reason in rejected],
                "held": [{"line": n, "reason": str(reason)} for n, reason in report.held],
            }
        )

    return _idempotent(headers, write, _refused("The purchase lines were refused."))


@bp.post("/exchange-rates")
@bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@bp.arguments(ExchangeRatesInSchema)
@bp.response(200, RatesReportSchema)
def exchange_rates_create(payload, **headers):
    """Store daily exchange rates: units of a currency for one euro on a day.

    A rate stored before with the same value counts as unchanged; one with another value is
    rejected (statements may have used it), as is a day in the future. Needs the
    manufacturer's write token.
    """
    token = require_write()
    if token.partner_id is not None:
        raise ApiError(403, "forbidden", "Only the manufacturer's token may store exchange rates.")
    rates = [
        (number, rate["currency"], rate["day"], rate["per_eur"])
        for number, rate in enumerate(payload["rates"], 1)
    ]

    def write(session):
        report = add_rates(session, rates)
        return 200, RatesReportSchema().dump(
            {
                "added": report.added,
                "unchanged": report.unchanged,
                "rejected": [
                    {"line": n, "currency": currency, "reasons": reasons}
                    for n, currency, reasons in sorted(report.rejected)
                ],
            }
        )

    return _idempotent(headers, write, _refused("The exchange rates were refused."))
