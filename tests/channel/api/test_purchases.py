"""Purchases, exchange rates and serials through the API: sell-in lines as from the file,
scoped by token, idempotent by key and by line."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from channel.exchange_rates import ExchangeRate
from channel.purchases import PurchaseLine, Serial
from core.db import get_session
from tests.builders import make_api_token, make_group, make_partner, make_product, utc_today

TODAY = utc_today()
DAY = (TODAY - timedelta(days=3)).isoformat()


@pytest.fixture
def chain(db):
    """A distributor, a dealer it supplies, another distributor, and a product."""
    make_product(db, make_group(db, "boilers"), "BX-24")
    distributor = make_partner(db, kind="distributor", legal_id="LV-DIST")
    dealer = make_partner(db, parent=distributor, legal_id="LV-DEAL")
    other = make_partner(db, kind="distributor", legal_id="LV-OTHER")
    db.commit()
    return distributor, dealer, other


@pytest.fixture
def manufacturer(db):
    _, headers = make_api_token(db, scope="write")
    db.commit()
    return headers


def token(db, partner=None, scope="write"):
    _, headers = make_api_token(db, scope=scope, partner=partner)
    db.commit()
    return headers


def purchase(**fields):
    line = {
        "document": "invoice",
        "seller": "",
        "partner": "LV-DIST",
        "invoice_number": "M-1",
        "line": 1,
        "date": DAY,
        "sku": "BX-24",
        "quantity": 3,
        "amount": "2850.00",
        "currency": "EUR",
        "serials": ["SN-1", "SN-2", "SN-3"],
    }
    return {**line, **fields}


def post(client, headers, lines, key=None):
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post("/api/v1/purchases", headers=headers, json={"lines": lines})


def _lines(db) -> int:
    return db.scalar(select(func.count(PurchaseLine.id)))


def test_purchases_posted_by_the_manufacturer_are_imported_and_the_serials_follow(
    client, db, chain, manufacturer
):
    distributor, dealer, _ = chain
    lines = [
        purchase(),
        purchase(
            seller="LV-DIST",
            partner="LV-DEAL",
            invoice_number="D-7",
            quantity=1,
            amount="1100.00",
            serials=["sn-2"],
        ),
    ]
    response = post(client, manufacturer, lines)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "imported": 2,
        "already_imported": 0,
        "serials": 4,
        "rejected": [],
        "held": [],
    }
    unit = client.get("/api/v1/serials/sn-2", headers=manufacturer).get_json()
    assert unit["state"] == "sold_on" and unit["sku"] == "BX-24"
    assert unit["holder"] == {"id": dealer.id, "legal_id": "LV-DEAL", "name": dealer.name}
    assert [(e["status"], e["partner_id"], e["invoice_number"]) for e in unit["history"]] == [
        ("shipped", distributor.id, "M-1"),
        ("sold_on", dealer.id, "D-7"),
    ]


def test_a_credit_note_returns_its_serials_to_the_manufacturer(client, db, chain, manufacturer):
    post(client, manufacturer, [purchase()])
    credit = purchase(
        document="credit_note", invoice_number="C-1", quantity=1, amount="950.00", serials=["SN-3"]
    )
    report = post(client, manufacturer, [credit]).get_json()
    assert (report["imported"], report["serials"], report["rejected"]) == (1, 1, [])
    amount = db.scalar(select(PurchaseLine.amount).where(PurchaseLine.number == "C-1"))
    assert str(amount) == "-950.00"
    unit = client.get("/api/v1/serials/SN-3", headers=manufacturer).get_json()
    assert unit["state"] == "returned"
    assert [event["document"] for event in unit["history"]] == ["invoice", "credit_note"]


def test_the_same_lines_under_another_key_are_already_imported(client, db, chain, manufacturer):
    lines = [purchase(), purchase(line=2, serials=[], quantity=1, amount="10")]
    first = post(client, manufacturer, lines, key="p-1").get_json()
    again = post(client, manufacturer, lines, key="p-2").get_json()
    assert (first["imported"], first["already_imported"]) == (2, 0)
    assert (again["imported"], again["already_imported"], again["serials"]) == (0, 2, 0)
    assert _lines(db) == 2


def test_the_same_key_and_body_answer_the_same_and_another_body_is_refused(
    client, db, chain, manufacturer
):
    first = post(client, manufacturer, [purchase()], key="p-1")
    again = post(client, manufacturer, [purchase()], key="p-1")
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(client, manufacturer, [purchase(line=2)], key="p-1")
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _lines(db) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 2850.0}, "amount"),
        ({"amount": "28,50"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"quantity": 1.5}, "quantity"),
        ({"date": "03.12.2026"}, "date"),
        ({"serials": ["SN 1"]}, "serials"),
        ({"document": "receipt"}, "document"),
    ],
)
def test_a_malformed_line_refuses_the_whole_request(client, db, chain, manufacturer, change, field):
    response = post(client, manufacturer, [purchase(line=2), purchase(**change)])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]["fields"]["json"]["lines"]["1"]
    assert _lines(db) == 0


def test_more_than_1000_lines_are_refused(client, db, chain, manufacturer):
    lines = [purchase(line=n, serials=[], quantity=1) for n in range(1, 1002)]
    response = post(client, manufacturer, lines)
    assert response.status_code == 422
    assert "lines" in response.get_json()["error"]["details"]["fields"]["json"]
    assert _lines(db) == 0


def test_a_line_the_import_refuses_is_reported_and_the_others_imported(
    client, db, chain, manufacturer
):
    lines = [
        purchase(partner="LV-NOBODY"),
        purchase(line=2, serials=[], sku="NOPE"),
        purchase(line=3, serials=["SN-9"], quantity=1),
        purchase(line=4, serials=[], quantity=1, amount="-5.00"),
    ]
    report = post(client, manufacturer, lines).get_json()
    assert report["imported"] == 1
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons) == [1, 2, 4]
    assert "LV-NOBODY" in reasons[1] and "NOPE" in reasons[2] and "credit note" in reasons[4]
    assert _lines(db) == 1


def test_a_line_in_a_currency_without_a_rate_is_stored_and_held(client, db, chain, manufacturer):
    report = post(client, manufacturer, [purchase(currency="PLN", amount="12000")]).get_json()
    assert report["imported"] == 1
    assert [held["line"] for held in report["held"]] == [1]
    assert "PLN" in report["held"][0]["reason"]


def test_a_distributor_token_reports_only_its_own_invoices_to_its_dealers(
    client, db, chain, manufacturer
):
    distributor, dealer, other = chain
    post(client, manufacturer, [purchase()])
    headers = token(db, distributor)
    lines = [
        purchase(partner="LV-DEAL", invoice_number="D-1", quantity=1, serials=["SN-1"]),
        purchase(seller="lv-dist", partner="lv-deal", invoice_number="D-2", serials=[]),
        purchase(seller="LV-OTHER", partner="LV-DEAL", invoice_number="X-1", serials=[]),
        purchase(invoice_number="D-3", partner="LV-OTHER", serials=[]),
        purchase(invoice_number="D-4", partner="LV-DEAL", country="PL", serials=[]),
    ]
    report = post(client, headers, lines).get_json()
    assert report["imported"] == 2
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons) == [3, 4, 5]
    assert "own invoices" in reasons[3]
    assert "dealers the partner supplies" in reasons[4] and reasons[4] == reasons[5]
    sellers = db.scalars(select(PurchaseLine.seller_id).where(PurchaseLine.number != "M-1"))
    assert set(sellers) == {distributor.id}
    unit = client.get("/api/v1/serials/SN-1", headers=headers).get_json()
    assert (unit["state"], unit["holder"]["id"]) == ("sold_on", dealer.id)


def test_a_read_token_cannot_post_purchases_or_rates(client, db, chain):
    headers = token(db, scope="read")
    assert post(client, headers, [purchase()]).status_code == 403
    rates = {"rates": [{"day": DAY, "currency": "PLN", "per_eur": "4.25"}]}
    assert client.post("/api/v1/exchange-rates", headers=headers, json=rates).status_code == 403
    assert _lines(db) == 0


# ---------------------------------------------------------------- exchange rates


def rates(client, headers, *entries, key=None):
    if key:
        headers = {**headers, "Idempotency-Key": key}
    body = {"rates": [{"day": d, "currency": c, "per_eur": v} for d, c, v in entries]}
    return client.post("/api/v1/exchange-rates", headers=headers, json=body)


def test_rates_are_added_once_and_a_different_rate_for_a_stored_day_is_refused(
    client, db, manufacturer
):
    first = rates(client, manufacturer, (DAY, "PLN", "4.2675"), (DAY, "usd", "1.0812"))
    assert first.status_code == 200
    assert first.get_json() == {"added": 2, "unchanged": 0, "rejected": []}
    again = rates(client, manufacturer, (DAY, "PLN", "4.2675"), (DAY, "PLN", "4.30")).get_json()
    assert (again["added"], again["unchanged"]) == (0, 1)
    assert [(r["line"], r["currency"]) for r in again["rejected"]] == [(2, "PLN")]
    stored = db.scalar(select(ExchangeRate.per_eur).where(ExchangeRate.currency == "PLN"))
    assert str(stored.normalize()) == "4.2675"


def test_rates_in_no_currency_for_the_euro_or_in_the_future_are_rejected(client, db, manufacturer):
    future = (TODAY + timedelta(days=5)).isoformat()
    report = rates(
        client, manufacturer, (DAY, "EUR", "1"), (DAY, "XYZ", "2"), (future, "PLN", "4.2"),
        (DAY, "PLN", "0"),
    ).get_json()  # fmt: skip
    assert report["added"] == 0
    assert [(r["line"], r["currency"]) for r in report["rejected"]] == [
        (1, "EUR"), (2, "XYZ"), (3, "PLN"), (4, "PLN"),
    ]  # fmt: skip
    assert "future" in report["rejected"][2]["reasons"][0]


@pytest.mark.parametrize("value", [4.25, "4,25", "-4", "", "4.25.1"])
def test_a_rate_not_sent_as_a_decimal_string_is_refused(client, db, manufacturer, value):
    response = rates(client, manufacturer, (DAY, "PLN", value))
    assert response.status_code == 422
    assert "per_eur" in response.get_json()["error"]["details"]["fields"]["json"]["rates"]["0"]
    assert db.scalar(select(func.count()).select_from(ExchangeRate)) == 0


def test_only_the_manufacturer_may_store_rates(client, db, chain):
    response = rates(client, token(db, chain[0]), (DAY, "PLN", "4.25"))
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(ExchangeRate)) == 0


def test_rates_retried_under_their_key_answer_the_same(client, db, manufacturer):
    first = rates(client, manufacturer, (DAY, "PLN", "4.25"), key="r-1")
    again = rates(client, manufacturer, (DAY, "PLN", "4.25"), key="r-1")
    assert first.get_json() == again.get_json() == {"added": 1, "unchanged": 0, "rejected": []}
    other = rates(client, manufacturer, (DAY, "PLN", "4.26"), key="r-1")
    assert other.status_code == 422


# ---------------------------------------------------------------- serials


def test_a_distributor_sees_its_own_and_its_dealers_serials_and_no_others(
    client, db, chain, manufacturer
):
    distributor, dealer, other = chain
    post(client, manufacturer, [
        purchase(),
        purchase(partner="LV-OTHER", invoice_number="M-2", quantity=1, serials=["SN-9"]),
        purchase(seller="LV-DIST", partner="LV-DEAL", invoice_number="D-1", quantity=1,
                 serials=["SN-1"]),
    ])  # fmt: skip
    reader = token(db, distributor, scope="read")
    assert client.get("/api/v1/serials/SN-1", headers=reader).get_json()["holder"]["id"] == (
        dealer.id
    )
    assert client.get("/api/v1/serials/SN-2", headers=reader).get_json()["state"] == "shipped"
    hidden = client.get("/api/v1/serials/SN-9", headers=reader)
    missing = client.get("/api/v1/serials/NEVER", headers=reader)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    dealer_reader = token(db, dealer, scope="read")
    assert client.get("/api/v1/serials/SN-1", headers=dealer_reader).status_code == 200
    assert client.get("/api/v1/serials/SN-2", headers=dealer_reader).status_code == 404
    assert db.scalar(select(func.count(Serial.id))) == 4


# ---------------------------------------------------------------- concurrency


def test_the_same_lines_posted_at_once_under_two_keys_are_imported_once(committed_postgres_app):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        make_product(db, make_group(db, "boilers"), "BX-24")
        make_partner(db, kind="distributor", legal_id="LV-DIST")
        _, headers = make_api_token(db, scope="write")
        db.commit()
    lines = [purchase(line=n, serials=[f"SN-{n}"], quantity=1) for n in range(1, 41)]
    start = threading.Barrier(2)
    answers = []

    def send(key):
        start.wait()
        response = app.test_client().post(
            "/api/v1/purchases", headers={**headers, "Idempotency-Key": key}, json={"lines": lines}
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200, 200]
    counts = sorted((body["imported"], body["already_imported"]) for _, body in answers)
    assert counts == [(0, 40), (40, 0)]
    assert all(body["rejected"] == [] for _, body in answers)
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count(PurchaseLine.id))) == 40
        assert db.scalar(select(func.count(Serial.id))) == 40


def test_the_openapi_document_describes_the_purchase_lines_and_the_report(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    line = schemas["PurchaseLine"]["properties"]
    assert line["amount"]["type"] == "string" and line["amount"]["format"] == "decimal"
    assert line["serials"]["type"] == "array"
    assert schemas["PurchaseLinesIn"]["properties"]["lines"]["maxItems"] == 1000
    assert set(schemas["PurchasesReport"]["required"]) == {
        "imported", "already_imported", "serials", "rejected", "held",
    }  # fmt: skip
    purchases = spec["paths"]["/api/v1/purchases"]["post"]
    assert "lines it sold itself" in " ".join(purchases["description"].split())
    assert {"state", "holder", "history"} <= set(schemas["Serial"]["required"])
