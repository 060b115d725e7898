"""Links in outgoing messages are built on PUBLIC_URL, never on the request's Host header.

An attacker who asks for someone else's sign-in code with `Host: evil.example` must not get
a one-time link on his own host sent to the victim. Each route that writes a message with a
link is driven with a forged Host and X-Forwarded-Host: where the host is not trusted the
request is refused and nothing is written; where any host is served (debug, tests) the link
still points at the configured address.
"""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channel.claim_models import Claim
from channel.learning import Article
from channel.programs import launch_program
from messaging.campaigns.models import Campaign
from messaging.models import OutboxMessage, Tip
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_product,
    make_program,
    offer,
    utc_today,
)
from tests.conftest import ROOT
from tests.messaging.campaigns.test_pages import _form as campaign_form

EVIL = "evil.example"
#: A forged Host, a forged X-Forwarded-Host (as a proxy would pass it on), and both.
POISONS = {
    "host": {"base_url": f"http://{EVIL}"},
    "forwarded": {"headers": {"X-Forwarded-Host": EVIL}},
    "both": {"base_url": f"http://{EVIL}", "headers": {"X-Forwarded-Host": EVIL}},
}
URL = re.compile(r"https?://[^\s\"'<>)]+")


def _poisoned(client, poison: str) -> dict:
    """The request options of `poison`, with the signed-in person's cookies sent to the forged
    host too (the test client, like a browser, keeps cookies per host; an attacker replays
    them wherever he likes)."""
    for cookie in list(client._cookies.values()):
        client.set_cookie(cookie.key, cookie.value, domain=EVIL, path=cookie.path)
    return POISONS[poison]


def _links(db) -> list[str]:
    bodies = db.scalars(select(OutboxMessage.body)).all()
    tips = db.scalars(select(Tip.link_url)).all()
    return [url for text in [*bodies, *tips] if text for url in URL.findall(text)]


def _sign_in_code(client, db, world, poison):
    return client.post(
        "/sign-in/phone",
        data={"phone": world.people[Role.TECHNICIAN].phone},
        **_poisoned(client, poison),
    )


def _program(db, world):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "boilers"}))
    return program


def _offer_program(client, db, world, poison):
    """Offering asks the partner's managers to decide, with a link to the decision page."""
    program = _program(db, world)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    return client.post(
        f"/programs/{program.id}/offer", data={"confirm": "1"}, **_poisoned(client, poison)
    )


def _reject_claim(client, db, world, poison):
    """A reviewer's rejection tells a seller, with a link to claim again."""
    program = _program(db, world)
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    db.commit()
    login_as(client, world.people[Role.SELLER])
    sale = {"occurred_on": utc_today().isoformat(), "invoice_number": "INV-1"}
    for _ in range(2):  # the second is a duplicate invoice line, left for review
        client.post("/claims/new/sale", data={**sale, "sku-0": "BX-24", "qty-0": "1"})
    flagged = db.scalar(select(Claim).where(Claim.status == "pending"))
    db.execute(OutboxMessage.__table__.delete())
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    return client.post(
        f"/claims/{flagged.id}/reject", data={"reason": "A twin"}, **_poisoned(client, poison)
    )


def _send_campaign(client, db, world, poison):
    """A campaign's links become tracked links on our own address."""
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(
        "/campaigns/new", data=campaign_form(body_en="Hi {first_name}: https://x.example/y")
    )
    campaign = db.scalar(select(Campaign))
    return client.post(
        f"/campaigns/{campaign.id}", data={"action": "send"}, **_poisoned(client, poison)
    )


def _save_tip(client, db, world, poison):
    """A tip keeps its article's address, which later goes out in points messages."""
    make_group(db, "heatpumps")
    article = Article(language="lv", title="Siltumsūkņi", body="Klusi un efektīvi.")
    db.add(article)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = {"group": "heatpumps", "language": "lv", "text": "Silda.", "article": str(article.id)}
    return client.post("/tips/", data=form, **_poisoned(client, poison))


#: Every route that writes a message (or a stored link) carrying an address of ours.
SENDERS = {
    "sign-in code": _sign_in_code,
    "program offered": _offer_program,
    "claim rejected": _reject_claim,
    "campaign sent": _send_campaign,
    "tip saved": _save_tip,
}


@pytest.mark.parametrize("poison", POISONS)
@pytest.mark.parametrize("sender", SENDERS)
def test_links_stay_on_the_public_address_whatever_host_the_request_names(
    client, db, world, sender, poison
):
    response = SENDERS[sender](client, db, world, poison)
    assert response.status_code in (200, 302)
    links = _links(db)
    assert links, "the route wrote no link: the test proves nothing"
    assert all(link.startswith("http://localhost/") for link in links), links
    assert not any(EVIL in link for link in links)


@pytest.fixture
def trusted_hosts(app):
    """The app as production runs it: only PUBLIC_URL's host is served."""
    saved = app.config["TRUSTED_HOSTS"]
    app.config["TRUSTED_HOSTS"] = ["localhost"]
    yield
    app.config["TRUSTED_HOSTS"] = saved


@pytest.mark.parametrize("sender", SENDERS)
def test_a_request_naming_another_host_is_refused_and_sends_nothing(
    client, db, world, trusted_hosts, sender
):
    before = db.scalar(select(func.count(OutboxMessage.id)))
    response = SENDERS[sender](client, db, world, "host")
    assert response.status_code == 400
    assert db.scalar(select(func.count(OutboxMessage.id))) <= before
    assert not any(EVIL in link for link in _links(db))


def test_the_configured_host_is_served(client, trusted_hosts):
    assert client.get("/sign-in/phone").status_code == 200


def test_no_code_builds_an_address_from_the_request():
    """Addresses come from configuration; the request's host, root or URL never make one."""
    pattern = re.compile(r"request\.(host|host_url|url_root|base_url|url)\b|_external\s*=")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("app.py", "core", "roles", "channel", "messaging", "templates")
        for path in ([ROOT / package] if package.endswith(".py") else (ROOT / package).rglob("*"))
        if path.suffix in (".py", ".html", ".txt")
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
