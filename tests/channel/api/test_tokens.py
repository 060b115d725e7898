"""Admins make and revoke API tokens on the web and from the CLI; the secret shows once."""

from sqlalchemy import select

from channel.api.models import ApiToken
from channel.api.tokens import hash_secret
from roles.permissions import Role
from tests.builders import login_as


def _secret(body: str) -> str:
    start = body.index("plk_")
    return body[start : body.index("<", start)]


def test_an_admin_makes_a_partner_token_and_sees_its_secret_once(client, db, world):
    login_as(client, world.people[Role.ADMIN])
    response = client.post(
        "/admin/api-tokens/",
        data={"name": "Alpha ERP", "scope": "write", "partner_id": str(world.partner_a.id)},
    )
    assert response.status_code == 200
    secret = _secret(response.get_data(as_text=True))
    token = db.scalar(select(ApiToken).where(ApiToken.name == "Alpha ERP"))
    assert token.token_hash == hash_secret(secret)
    assert (token.scope, token.partner_id) == ("write", world.partner_a.id)
    assert token.created_by_id == world.people[Role.ADMIN].id

    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert "Alpha ERP" in listing and world.partner_a.name in listing
    assert secret not in listing

    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/partners", headers=headers).status_code == 200
    response = client.post(f"/admin/api-tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.refresh(token)
    assert token.revoked_at is not None
    assert client.get("/api/v1/partners", headers=headers).status_code == 401


def test_a_token_needs_a_name_and_a_scope(client, db, world):
    login_as(client, world.people[Role.ADMIN])
    response = client.post("/admin/api-tokens/", data={"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert db.scalar(select(ApiToken)) is None


def test_the_token_pages_are_translated(client, db, world):
    admin = world.people[Role.ADMIN]
    admin.language = "lv"
    db.commit()
    login_as(client, admin)
    assert "API pilnvaras" in client.get("/admin/api-tokens/").get_data(as_text=True)


def test_the_cli_makes_lists_and_revokes_tokens(app, db, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "api",
            "create-token",
            "--name",
            "Alpha ERP",
            "--scope",
            "read",
            "--partner",
            world.partner_a.legal_id,
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    assert token.partner_id == world.partner_a.id and token.scope == "read"
    listed = runner.invoke(args=["api", "list-tokens"]).output
    assert "Alpha ERP" in listed and secret not in listed
    assert runner.invoke(args=["api", "revoke-token", str(token.id)]).exit_code == 0
    db.refresh(token)
    assert token.revoked_at is not None
    unknown = runner.invoke(
        args=["api", "create-token", "--name", "X", "--scope", "read", "--partner", "NOPE"]
    )
    assert unknown.exit_code != 0


def test_the_docs_page_lists_every_operation_without_loading_anything_from_elsewhere(client):
    body = client.get("/api/v1/docs").get_data(as_text=True)
    for path in (
        "/api/v1/partners",
        "/api/v1/claims",
        "/api/v1/ledger-entries",
        "/api/v1/purchases",
        "/api/v1/exchange-rates",
        "/api/v1/serials/{serial}",
    ):
        assert path in body
    assert "openapi.json" in body
    assert "https://" not in body and "//cdn" not in body
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
