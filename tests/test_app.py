import pytest

from app import create_app


def test_health_check_reports_ok_after_reaching_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_health_check_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}


def test_app_refuses_to_start_without_a_secret_key_in_production(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app({"DATABASE_URL": "sqlite://"})


#: What production must set besides the database.
PRODUCTION = {"SECRET_KEY": "x" * 32, "PUBLIC_URL": "https://partnerlift.example.com"}


def test_app_refuses_to_start_without_its_public_address_in_production(monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="PUBLIC_URL is not set"):
        create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be an http"):
        create_app(
            {**PRODUCTION, "PUBLIC_URL": "partnerlift.example.com", "DATABASE_URL": "sqlite://"}
        )


def test_production_serves_only_its_own_host_names(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    app = create_app({**PRODUCTION, "DATABASE_URL": "sqlite://"})
    assert app.config["TRUSTED_HOSTS"] == ["partnerlift.example.com"]
    client = app.test_client()
    assert client.get("/healthz", base_url="https://partnerlift.example.com").status_code == 200
    forged = client.get("/sign-in/phone", base_url="https://evil.example")
    assert forged.status_code == 400
    monkeypatch.setenv("TRUSTED_HOSTS", "partnerlift.example.com, 10.0.0.7")
    app = create_app({**PRODUCTION, "DATABASE_URL": "sqlite://"})
    assert app.config["TRUSTED_HOSTS"] == ["partnerlift.example.com", "10.0.0.7"]
    assert app.test_client().get("/healthz", base_url="http://10.0.0.7").status_code == 200


def test_session_cookie_is_secure_httponly_and_samesite_outside_debug(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({**PRODUCTION, "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_configuration_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", "https://partnerlift.example.com")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    monkeypatch.setenv("BABEL_DEFAULT_LOCALE", "lv")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["DATABASE_URL"] == "sqlite:///elsewhere.sqlite3"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "lv"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is no such page" in response.get_data(as_text=True)


def test_every_page_carries_a_strict_content_security_policy(client):
    response = client.get("/sign-in/phone")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_logs_mask_phone_numbers_whoever_logs_them():
    import io
    import json
    import logging

    from core.logs import configure_logging

    for log_format in ("text", "json"):
        stream = io.StringIO()
        handler = configure_logging(log_format, stream)
        try:
            logging.getLogger("some.library").warning(
                "sent to %s and whatsapp:%s", "+37120000001", "+972542345679"
            )
        finally:
            logging.getLogger().removeHandler(handler)
        line = stream.getvalue().strip().splitlines()[-1]
        message = json.loads(line)["message"] if log_format == "json" else line
        assert "sent to +371…01 and whatsapp:+972…79" in message
        assert "20000001" not in line and "2345679" not in line


@pytest.mark.parametrize("where", ["form", "query", "repeated field"])
def test_a_nul_character_is_refused_with_a_message_and_nothing_is_saved(client, db, world, where):
    from sqlalchemy import func, select
    from werkzeug.datastructures import MultiDict

    from channel.models import ProductGroup
    from roles.permissions import Role
    from tests.builders import login_as

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = {"code": "pumps", "name": "Heat\x00pumps", "default_points_per_unit": "5"}
    if where == "query":
        form["name"] = "Heat pumps"
    if where == "repeated field":  # only its second value holds the NUL
        form = [(k, "Heat pumps" if k == "name" else v) for k, v in form.items()]
        form.append(("name", "Heat\x00pumps"))
        form = MultiDict(form)
    response = client.post("/catalog/groups" + ("?next=%00" if where == "query" else ""), data=form)
    assert response.status_code == 400
    assert "invisible NUL character" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(ProductGroup)) == 0
