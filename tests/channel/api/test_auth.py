"""API tokens: who may call, what a partner's token reaches, one error shape, pages, limits."""

import pytest
from sqlalchemy import func, select

from channel.api.models import ApiToken
from channel.claim_models import Claim
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    give_points,
    make_api_token,
    make_program,
    offer,
    offered,
    utc_today,
)


@pytest.fixture
def tokens(db, world):
    """Tokens for partner A (read and write) and for the manufacturer (read)."""
    _, a_read = make_api_token(db, partner=world.partner_a)
    _, a_write = make_api_token(db, scope="write", partner=world.partner_a)
    _, everyone = make_api_token(db)
    db.commit()
    return {"a_read": a_read, "a_write": a_write, "manufacturer": everyone}


def _error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer plk_not-a-token", "Basic dXNlcjpwYXNz", "plk_no-scheme"],
)
def test_a_request_without_a_valid_token_answers_401(client, world, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/partners", headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working_at_once(client, db, world):
    from channel.api.tokens import revoke_token

    token, headers = make_api_token(db)
    db.commit()
    assert client.get("/api/v1/partners", headers=headers).status_code == 200
    revoke_token(db, token)
    db.commit()
    _error(client.get("/api/v1/partners", headers=headers), 401, "unauthorized")


def test_only_the_hash_of_the_secret_is_stored_and_its_use_is_recorded(client, db, world):
    token, headers = make_api_token(db)
    db.commit()
    secret = headers["Authorization"].removeprefix("Bearer ")
    assert secret.startswith("plk_") and len(secret) > 40
    assert secret not in token.token_hash and len(token.token_hash) == 64
    assert token.last_used_at is None
    client.get("/api/v1/products", headers=headers)
    db.refresh(token)
    assert token.last_used_at is not None


def test_a_partner_token_cannot_reach_another_partners_data(client, db, world, tokens):
    a, b = world.partner_a, world.partner_b
    own, other = world.people[Role.SELLER], world.others[Role.SELLER]
    give_points(db, own, 50)
    give_points(db, other, 70)
    program_b = make_program(db, partners=[b], name="Only for Bravo")
    add_scheme(db, program_b, ["seller"], ("referral", {"points": 5}))
    offer(db, program_b, world.people[Role.CHANNEL_MANAGER])
    from channel.rewards import Reward

    reward = offered(Reward(kind="physical", name="Torch", points_price=10, stock=5))
    db.add(reward)
    db.commit()
    read, write = tokens["a_read"], tokens["a_write"]

    partners = client.get("/api/v1/partners", headers=read).get_json()
    assert [p["id"] for p in partners["items"]] == [a.id] and partners["total"] == 1
    assert client.get(f"/api/v1/partners/{a.id}", headers=read).status_code == 200
    _error(client.get(f"/api/v1/partners/{b.id}", headers=read), 404, "not_found")

    people = client.get("/api/v1/people?per_page=100", headers=read).get_json()["items"]
    assert people and {p["partner_id"] for p in people} == {a.id}
    assert client.get(f"/api/v1/people?partner_id={b.id}", headers=read).get_json()["items"] == []
    _error(client.get(f"/api/v1/people/{other.id}", headers=read), 404, "not_found")

    assert client.get(f"/api/v1/balances/{own.id}", headers=read).get_json()["available"] == 50
    _error(client.get(f"/api/v1/balances/{other.id}", headers=read), 404, "not_found")

    entries = client.get("/api/v1/ledger-entries", headers=read).get_json()["items"]
    assert entries and {e["partner_id"] for e in entries} == {a.id}
    filtered = client.get(f"/api/v1/ledger-entries?partner_id={b.id}", headers=read).get_json()
    assert filtered["items"] == [] and filtered["total"] == 0
    by_person = client.get(f"/api/v1/ledger-entries?person_id={other.id}", headers=read)
    assert by_person.get_json()["items"] == []

    assert program_b.id not in {
        p["id"] for p in client.get("/api/v1/programs", headers=read).get_json()["items"]
    }
    _error(client.get(f"/api/v1/programs/{program_b.id}", headers=read), 404, "not_found")

    claim = {"person_id": other.id, "kind": "install", "occurred_on": "2026-01-05", "serial": "S1"}
    _error(client.post("/api/v1/claims", headers=write, json=claim), 404, "not_found")
    redemption = {"person_id": other.id, "reward_id": reward.id}
    _error(client.post("/api/v1/redemptions", headers=write, json=redemption), 404, "not_found")
    line = {
        "invoice_number": "B-1",
        "line": 1,
        "date": "2026-01-05",
        "sku": "NONE",
        "quantity": 1,
        "seller": other.phone,
    }
    report = client.post("/api/v1/sales-lines", headers=write, json={"lines": [line]}).get_json()
    assert report["imported"] == 0 and len(report["rejected"]) == 1
    assert db.scalar(select(func.count(Claim.id)).where(Claim.partner_id == b.id)) == 0
    db.refresh(reward)
    assert reward.stock == 5

    on_offer = client.get("/api/v1/rewards", headers=read).get_json()["items"]
    assert [(r["id"], r["left"]) for r in on_offer] == [(reward.id, 5)]

    # The manufacturer's token reaches both partners.
    everyone = tokens["manufacturer"]
    listed = client.get("/api/v1/partners", headers=everyone).get_json()["items"]
    assert {a.id, b.id} <= {p["id"] for p in listed}
    assert client.get(f"/api/v1/people/{other.id}", headers=everyone).status_code == 200
    assert (
        client.get(f"/api/v1/balances/{other.id}", headers=everyone).get_json()["available"] == 70
    )
    assert client.get(f"/api/v1/programs/{program_b.id}", headers=everyone).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/claims", {"person_id": 1, "kind": "install", "occurred_on": "2026-01-05"}),
        ("/api/v1/sales-lines", {"lines": []}),
        ("/api/v1/redemptions", {"person_id": 1, "reward_id": 1}),
    ],
)
def test_a_read_token_cannot_write(client, db, world, tokens, path, body):
    _error(client.post(path, headers=tokens["a_read"], json=body), 403, "forbidden")
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_errors_have_one_shape(client, world, tokens):
    headers = tokens["a_write"]
    _error(client.get("/api/v1/nowhere", headers=headers), 404, "not_found")
    _error(client.get("/api/v1/people/99999999999", headers=headers), 404, "not_found")
    response = client.delete("/api/v1/claims", headers=headers)
    _error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    _error(
        client.post("/api/v1/claims", headers=headers, data="person_id=1"),
        415,
        "unsupported_media_type",
    )
    invalid = _error(
        client.post("/api/v1/claims", headers=headers, json={"person_id": "x"}),
        422,
        "invalid_input",
    )
    assert set(invalid["details"]["fields"]["json"]) == {"person_id", "kind", "occurred_on"}
    _error(client.get("/api/v1/partners?per_page=101", headers=headers), 422, "invalid_input")


def test_a_refused_claim_lists_every_problem(client, world, tokens):
    seller = world.people[Role.SELLER]
    response = client.post(
        "/api/v1/claims",
        headers=tokens["a_write"],
        json={"person_id": seller.id, "kind": "sale", "occurred_on": "2999-01-01"},
    )
    error = _error(response, 422, "invalid_input")
    assert {"occurred_on", "lines", "invoice_number"} <= set(error["details"]["fields"]["json"])


def test_lists_are_paged_with_their_total(client, db, world, tokens):
    headers = tokens["manufacturer"]
    total = db.scalar(select(func.count()).select_from(select(ApiToken.id).subquery()))
    assert total == 3
    first = client.get("/api/v1/people?per_page=5", headers=headers).get_json()
    second = client.get("/api/v1/people?per_page=5&page=2", headers=headers).get_json()
    assert first["page"] == 1 and first["per_page"] == 5 and len(first["items"]) == 5
    assert first["total"] == second["total"] >= 12
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
    far = client.get("/api/v1/people?page=1000", headers=headers).get_json()
    assert far["items"] == [] and far["total"] == first["total"]


def test_ledger_entries_filter_by_day(client, db, world, tokens):
    give_points(db, world.people[Role.SELLER], 5)
    db.commit()
    headers = tokens["a_read"]
    today = utc_today().isoformat()
    assert client.get(f"/api/v1/ledger-entries?since={today}", headers=headers).get_json()["total"]
    assert (
        client.get("/api/v1/ledger-entries?until=2000-01-01", headers=headers).get_json()["total"]
        == 0
    )


def test_the_api_is_rate_limited_per_token(app, client, db, world, tokens):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        for _ in range(2):
            assert client.get("/api/v1/products", headers=tokens["a_read"]).status_code == 200
        _error(client.get("/api/v1/products", headers=tokens["a_read"]), 429, "rate_limited")
        assert client.get("/api/v1/products", headers=tokens["a_write"]).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


def test_made_up_tokens_share_their_callers_limit(app, client, db, world, tokens):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        for n in range(3):
            guess = {"Authorization": f"Bearer plk_guess{n}"}
            _error(client.get("/api/v1/products", headers=guess), 401, "unauthorized")
        guess = {"Authorization": "Bearer plk_guess-again"}
        _error(client.get("/api/v1/products", headers=guess), 429, "rate_limited")
        assert client.get("/api/v1/products", headers=tokens["a_read"]).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


def test_the_api_needs_no_csrf_token(app, db, world):
    from tests.conftest import TEST_CONFIG  # noqa: F401

    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = app.test_client().post(
            "/api/v1/sales-lines", headers=headers, json={"lines": []}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    _error(response, 422, "invalid_input")


def test_an_unexpected_failure_answers_500_in_the_same_shape(database_url):
    from app import create_app
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/api/v1/failing")
    def failing():
        raise RuntimeError("secret internals")

    try:
        response = app.test_client().get("/api/v1/failing")
    finally:
        app.extensions["partnerlift.engine"].dispose()
    error = _error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert error["message"]
