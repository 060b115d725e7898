"""Every form that a session cookie authenticates refuses a POST without its CSRF token.

Generated from the app's URL map: a new POST route is covered the day it is added, and only
the routes listed in CSRF_EXEMPT (authenticated by something a browser does not send on its
own) may skip the token.
"""

import functools
import re

import pytest
from werkzeug.routing.converters import AnyConverter

from roles.permissions import Role
from tests.builders import login_as

#: Blueprints that no cookie authenticates: a bearer token, or a sender's request signature.
CSRF_EXEMPT_BLUEPRINTS = {
    "api": "a bearer token in the Authorization header (tests/channel/api/test_auth.py)",
    "webhooks": "X-Twilio-Signature (tests/messaging/test_inbound.py)",
    "giftcards": "the provider's HMAC X-Signature (tests/channel/test_fulfilment.py)",
}


def post_routes(app):
    """(endpoint, URL with every argument filled in) of each route that takes a POST."""
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        values = {
            name: sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "1"
            for name, converter in rule._converters.items()
        }
        yield rule.endpoint, rule.build(values, append_unknown=False)[1]


@pytest.fixture
def csrf_client(app, db, world):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_as(client, world.people[Role.ADMIN])
    yield client
    app.config["WTF_CSRF_ENABLED"] = False


def recording(view, endpoint, reached):
    """`view`, noting each call; wraps keeps its name, which CSRF exemptions go by."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        reached.append(endpoint)
        return view(*args, **kwargs)

    return wrapper


def test_every_cookie_authenticated_post_needs_a_csrf_token(app, csrf_client, db, monkeypatch):
    reached = []
    for endpoint, view in list(app.view_functions.items()):
        monkeypatch.setitem(app.view_functions, endpoint, recording(view, endpoint, reached))
    unprotected = []
    for endpoint, url in post_routes(app):
        if endpoint.partition(".")[0] in CSRF_EXEMPT_BLUEPRINTS:
            continue
        reached.clear()
        response = csrf_client.post(url, data={"name": "forged"})
        if response.status_code != 400 or reached:
            unprotected.append((endpoint, url, response.status_code))
    assert unprotected == []


def test_a_signed_in_form_with_its_token_still_works(app, csrf_client, world):
    page = csrf_client.get("/profile").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = csrf_client.post(
        "/language", data={"csrf_token": token, "language": "lv"}, follow_redirects=False
    )
    assert response.status_code in (302, 303)


def test_the_exempt_blueprints_exist(app):
    blueprints = {endpoint.partition(".")[0] for endpoint, _ in post_routes(app)}
    assert set(CSRF_EXEMPT_BLUEPRINTS) <= blueprints
