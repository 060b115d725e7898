"""Streamed downloads leave nothing open behind them, whether read to the end or abandoned.

Every route that answers with a streamed body (CSV exports read from the database while the
client downloads them, XLSX files, pictures, static files) is found from the URL map; one
missing from `STREAMED` fails `test_every_streamed_route_is_downloaded_here`. Each is then
downloaded in full and abandoned after its first chunk through a real gunicorn process (the
in-process client shares one connection with the test, which hides a lock or a transaction
left open): afterwards a write on another connection goes through at once on SQLite, and no
connection sits idle in a transaction on PostgreSQL.

The server has one worker, so a request sent after a download is served only once the worker
has finished with that download (closed its body): what is open then stays open.
"""

import socket
import sqlite3
import struct
from dataclasses import dataclass
from itertools import product
from urllib.parse import urlsplit

import pytest
import requests
from flask import request, request_finished
from sqlalchemy import create_engine, insert, select, text
from werkzeug.routing import AnyConverter

from app import create_app
from channel import exports
from channel.api.tokens import create_token
from channel.claim_models import Claim, ClaimPhoto
from channel.coalition import Brand
from channel.dashboard_views import CHANNEL_TABLES, PARTNER_TABLES
from channel.learning import Article
from channel.partner_models import PartnerOrganization
from channel.postings import Line, Posting, pool_account, post_many
from channel.rewards import Redemption, Reward
from channel.uploads import store_proof
from core.db import get_session, read_session, utcnow
from messaging.campaigns.models import Campaign, CampaignVariant
from messaging.models import Tip
from messaging.surveys.models import InvitationState, Survey, SurveyAnswer, SurveyResponse
from messaging.surveys.results_exports import TABLES as SURVEY_TABLES
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    build_world,
    login_as,
    make_partner,
    make_program,
    offer,
    session_cookie,
    utc_today,
)
from tests.conftest import DATABASES, POSTGRES_URL, TEST_CONFIG, migrated_database
from tests.messaging.surveys.helpers import open_survey_asking
from tests.servers import gunicorn, server_environment, status_of

CM, PM, SELLER = Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.SELLER

#: endpoint -> (URL, who downloads it) for each kind of streamed body the route answers with.
STREAMED = {
    "dashboards.channel_export": [
        ("/dashboard/export/ledger.csv", CM),
        ("/dashboard/export/budget.xlsx", CM),
    ],
    "dashboards.partner_export": [
        ("/partners/{partner}/dashboard/export/pool.csv", PM),
        ("/partners/{partner}/dashboard/export/staff.xlsx", PM),
    ],
    "survey_results.survey_results_export": [
        ("/surveys/{survey}/results/export/responses.csv", CM),
        ("/surveys/{survey}/results/export/breakdown.xlsx", CM),
    ],
    "survey_results.partner_survey_export": [
        ("/partners/{partner}/surveys/{survey}/results/export/responses.csv", PM),
        ("/partners/{partner}/surveys/{survey}/results/export/responses.xlsx", PM),
    ],
    "tax.tax_export": [
        ("/partners/{partner}/tax/{year}.csv", PM),
        ("/partners/{partner}/tax/{year}.xlsx", PM),
    ],
    "rewards.reward_image": [("/rewards/{reward}/image", SELLER)],
    "payouts.goods_export": [
        ("/fulfilment/goods/export/own.csv", CM),
        ("/fulfilment/goods/export/own.xlsx", CM),
    ],
    "coalition.settlement_export": [
        ("/coalition/brands/{brand}/settlement.csv", CM),
        ("/coalition/brands/{brand}/settlement.xlsx", CM),
    ],
    "coalition.brand_goods": [
        ("/coalition/brands/{brand}/goods.csv", CM),
        ("/coalition/brands/{brand}/goods.xlsx", CM),
    ],
    "claims.claim_photo": [("/claims/{claim}/photos/1", SELLER)],
    "static": [("/static/app.css", None)],
    "service_worker": [("/sw.js", None)],
}

#: Entries in partner A's pool, each with a long memo: its export and the whole ledger's are
#: several MB, more than the server's and the client's socket buffers hold together, so a
#: client that goes away leaves the server in the middle of the stream.
POOL_ENTRIES = 16_000
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(40)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + bytes(64)
SECRET_KEY = "streaming-test-secret-key"


@dataclass
class Seeded:
    #: URL placeholder -> id.
    ids: dict[str, int]
    #: role -> a signed session cookie of the person in that role (partner A's, for staff).
    people: dict
    api_secret: str


def seed(db, upload_folder, pool_entries: int) -> Seeded:
    """One of each object a GET route names, a picture and a photo on disk, and a pool."""
    world = build_world(db)
    seller, partner = world.people[SELLER], world.partner_a
    program = make_program(db, partners=[partner], name="Streamed program")
    scheme = add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[CM])
    image, image_type = store_proof(upload_folder, PNG)
    reward = Reward(
        kind="physical", name="Torch", points_price=10, stock=3, image=image, image_type=image_type
    )
    photo, photo_type = store_proof(upload_folder, JPEG)
    claim = Claim(
        person_id=seller.id,
        partner_id=partner.id,
        kind="install",
        occurred_on=utc_today(),
        serial="STREAM-1",
        photos=[ClaimPhoto(position=1, name=photo, mime_type=photo_type)],
    )
    article = Article(language="en", title="Heat pumps", body="Quiet and efficient.")
    tip = Tip(language="en", text="Heat pumps need no chimney.")
    campaign = Campaign(
        name="Spring", seed=1, variants=[CampaignVariant(language="en", role="", body="Hi")]
    )
    brand = Brand(name="Streamed brand", currency="EUR", rate_per_point=1, fulfilment="export")
    db.add_all([reward, claim, article, tip, campaign, brand])
    memo = ("Pool credit for the spring installations, " * 6)[:250]
    # Through the bulk path (COPY on PostgreSQL): the entries are the export's load, not its subject.
    post_many(
        db,
        [
            Posting(
                "streaming-pool",
                [Line(pool_account(partner.id), 1, "earn", partner.id, memo=memo)] * pool_entries,
            )
        ],
    )
    api_secret = create_token(db, name="Streaming", scope="read").secret
    survey = answered_survey(db, seller, pool_entries)
    redeemed_goods(db, seller, brand, pool_entries)
    received_rewards(db, [seller, world.people[Role.ENGINEER]], pool_entries)
    db.commit()
    ids = {
        "survey": survey.id,
        "partner": partner.id,
        "person": seller.id,
        "program": program.id,
        "scheme": scheme.id,
        "reward": reward.id,
        "claim": claim.id,
        "article": article.id,
        "tip": tip.id,
        "campaign": campaign.id,
        "brand": brand.id,
        "year": utcnow().year,
    }
    return Seeded(ids, world.people, api_secret)


def redeemed_goods(db, person, brand, count: int) -> None:
    """`count` goods of the manufacturer's and as many of the brand's awaiting shipment, each
    with a long address, and half as many of the brand's cancelled in the month: each goods
    export and the brand's settlement are as large as the pool's export."""
    name = ("Cast-iron radiator, five sections, white, with valves and brackets " * 3)[:200]
    own, branded = (
        Reward(kind="physical", name=name, points_price=1),
        Reward(kind="physical", name=name, points_price=1, brand_id=brand.id),
    )
    db.add_all([own, branded])
    db.flush()
    address = ("Brīvības iela 1, dzīvoklis 2, Rīga, LV-1010, Latvia; call first. " * 5)[:300]
    now = utcnow()
    rows = [
        {
            "request_key": f"streamed-{kind}-{n}",
            "person_id": person.id,
            "reward_id": reward.id,
            "points": 1,
            "status": status,
            "shipping_address": address,
            "created_at": now,
            "decided_at": now if status == "cancelled" else None,
        }
        for kind, reward, status, number in (
            ("own", own, "requested", count),
            ("brand", branded, "requested", count),
            ("cancelled", branded, "cancelled", count // 2),
        )
        for n in range(number)
    ]
    db.execute(insert(Redemption), rows)


def answered_survey(db, person, responses: int) -> Survey:
    """An open survey asking partner A's `person`, with `responses` long written answers from
    partner A: its export is as large as the pool's."""
    now = utcnow()
    survey, _ = open_survey_asking(db, [person], InvitationState.ANSWERED, free_text=True)
    common = {
        "survey_id": survey.id,
        "anonymous": False,
        "person_id": person.id,
        "channel": "sms",
        "role": "seller",
        "partner_id": person.partner_id,
        "country": "LV",
        "language": "en",
        "complete": True,
        "submitted_on": now.date(),
        "submitted_at": now,
    }
    ids = db.scalars(
        insert(SurveyResponse).returning(SurveyResponse.id), [common] * responses
    ).all()
    words = ("Approvals take too long for the spring installations, " * 6)[:320]
    question = survey.questions[0].id
    db.execute(
        insert(SurveyAnswer),
        [{"response_id": i, "question_id": question, "text": words} for i in ids],
    )
    return survey


def received_rewards(db, people, rewards: int) -> None:
    """`rewards` rewards with long names, each received this year by each of `people`: the
    report for payroll has a line per person and reward, as large as the pool's export."""
    now = utcnow()
    name = ("Heat pump service kit for the spring installations, " * 4)[:190]
    reward_ids = db.scalars(
        insert(Reward).returning(Reward.id),
        [
            {"kind": "physical", "category": "goods", "name": f"{name} {n}", "points_price": 10}
            for n in range(rewards)
        ],
    ).all()
    db.execute(
        insert(Redemption),
        [
            {
                "request_key": f"streaming-{person.id}-{reward_id}",
                "person_id": person.id,
                "reward_id": reward_id,
                "points": 10,
                "status": "fulfilled",
                "created_at": now,
                "decided_at": now,
            }
            for person in people
            for reward_id in reward_ids
        ],
    )


# ---------------------------------------------------------------- the read session


def test_a_read_session_keeps_its_snapshot_while_a_writer_commits_beside_it(committed_app):
    with committed_app.app_context():
        sessions = committed_app.extensions["partnerlift.sessionmaker"]
        with sessions() as db:
            partner_id = make_partner(db, name="Before").id
            db.commit()
        name = select(PartnerOrganization.name).where(PartnerOrganization.id == partner_id)
        with read_session() as reading:
            assert reading.scalar(name) == "Before"
            # On SQLite a reader holding the write lock would keep this waiting 15 s.
            with sessions() as writing:
                writing.get(PartnerOrganization, partner_id).name = "After"
                writing.commit()
            assert reading.scalar(name) == "Before"
        # The connection the reader gave back to the pool writes again.
        for _ in range(3):
            with sessions() as db:
                assert db.scalar(name) == "After"
                db.get(PartnerOrganization, partner_id).name = "After"
                db.commit()


# ---------------------------------------------------------------- found from the URL map

#: Route argument -> the values tried for it (ints name an object of `Seeded.ids`).
ARGUMENTS = {
    "partner_id": "partner",
    "id": "partner",
    "person_id": "person",
    "person": "person",
    "program_id": "program",
    "scheme_id": "scheme",
    "reward_id": "reward",
    "claim_id": "claim",
    "article_id": "article",
    "tip_id": "tip",
    "campaign_id": "campaign",
    "survey_id": "survey",
    "brand_id": "brand",
    # A payout batch: none seeded here, so it answers 404 (its file is sent whole).
    "batch_id": [1],
    "table": sorted(set(CHANNEL_TABLES) | set(PARTNER_TABLES) | set(SURVEY_TABLES)),
    "fmt": list(exports.FORMATS),
    "year": "year",
    "filename": ["app.css"],
    "token": ["not-a-token"],
    # Rebate periods and statements, and a serial: none seeded here, so each answers 404.
    "period": ["2026-Q3"],
    "statement_id": [1],
    "serial": ["SN-1"],
    # A conversation: none seeded here either (its pages render, never stream).
    "conversation_id": [1],
    "position": [1],
    # A WhatsApp Content template: none seeded, so it answers 404.
    "template_id": [1],
    # A survey's question: none seeded here, so it answers 404 (none streams).
    "question_id": [1],
}


def _urls(app, rule, ids) -> list[str]:
    choices = {}
    for name in sorted(rule.arguments):
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            choices[name] = sorted(converter.items)
            continue
        assert name in ARGUMENTS, f"{rule.endpoint}: add values for <{name}> to ARGUMENTS"
        values = ARGUMENTS[name]
        choices[name] = [ids[values]] if isinstance(values, str) else values
    adapter = app.url_map.bind("localhost")
    return [
        adapter.build(rule.endpoint, dict(zip(choices, combination, strict=True)))
        for combination in product(*choices.values())
    ]


def test_every_streamed_route_is_downloaded_here(app, client, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    seeded = seed(db, tmp_path, pool_entries=3)
    urls = [
        url
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        for url in _urls(app, rule, seeded.ids)
    ]
    streamed = set()

    def record(_sender, response, **_extra):
        if response.is_streamed:
            streamed.add(request.endpoint)

    with request_finished.connected_to(record, app):
        for role in (None, Role.ADMIN, PM, SELLER):
            if role is not None:
                login_as(client, seeded.people[role])
            for url in urls:
                bearer = {"Authorization": f"Bearer {seeded.api_secret}"}
                client.get(url, headers=bearer if url.startswith("/api/") else {}).close()
    assert streamed - set(STREAMED) == set(), "streamed routes missing from STREAMED"
    assert set(STREAMED) - streamed == set(), "STREAMED lists routes that no longer stream"


# ---------------------------------------------------------------- through a real server


@dataclass
class Server:
    base: str
    database_url: str
    seeded: Seeded
    #: role -> a signed session cookie for that person.
    cookies: dict


@pytest.fixture(scope="module", params=DATABASES)
def server(request, tmp_path_factory):
    with migrated_database(request.param, tmp_path_factory) as url:
        uploads = tmp_path_factory.mktemp("uploads")
        config = {"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url, "UPLOAD_FOLDER": str(uploads)}
        app = create_app({**TEST_CONFIG, **config})
        with app.test_request_context():
            db = get_session()
            seeded = seed(db, uploads, POOL_ENTRIES)
            cookies = {
                role: session_cookie(app, db, person) for role, person in seeded.people.items()
            }
            db.commit()
        app.extensions["partnerlift.engine"].dispose()
        env = server_environment(**config, SESSION_COOKIE_SECURE="0")
        with gunicorn(env, workers=1) as (_process, base):
            yield Server(base, url, seeded, cookies)


def _path(server: Server, url: str) -> str:
    return url.format(**server.seeded.ids)


def _headers(server: Server, role) -> dict[str, str]:
    return {} if role is None else {"Cookie": f"session={server.cookies[role]}"}


def download(server: Server, url: str, role) -> bytes:
    """The whole body, read to its end."""
    response = requests.get(
        server.base + _path(server, url), headers=_headers(server, role), timeout=60
    )
    assert response.status_code == 200, (url, response.status_code)
    return response.content


def abandon(server: Server, url: str, role) -> None:
    """Ask for `url`, read its first chunk and go away (a reset, as a closed browser tab)."""
    address = urlsplit(server.base)
    head = [f"GET {_path(server, url)} HTTP/1.1", f"Host: {address.netloc}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in _headers(server, role).items()]
    with socket.socket() as sock:
        # A small window: the server soon waits for a reader who is gone.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(60)
        sock.connect((address.hostname, address.port))
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def idle_in_transaction(database_url: str) -> int:
    """Connections to the database that hold a transaction open and do nothing."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = :name AND state = 'idle in transaction'"
                ),
                {"name": database_url.rpartition("/")[2]},
            )
    finally:
        admin.dispose()


def assert_nothing_left_open(server: Server) -> None:
    # Served by the only worker once it is done with the download before; reads no database.
    assert status_of(server.base + "/static/app.css") == 200
    if server.database_url.startswith("sqlite"):
        path = server.database_url.removeprefix("sqlite:///")
        writer = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            # Raises "database is locked" after 1 s if a download still holds the write lock.
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("UPDATE people SET language = language WHERE id = ?", (1,))
            writer.execute("COMMIT")
        finally:
            writer.close()
    else:
        assert idle_in_transaction(server.database_url) == 0
    assert status_of(server.base + "/healthz") == 200


@pytest.mark.parametrize(
    ("url", "role"),
    [entry for entries in STREAMED.values() for entry in entries],
    ids=[url.rpartition("/")[2] for entries in STREAMED.values() for url, _ in entries],
)
def test_a_streamed_download_read_or_abandoned_leaves_nothing_open(server, url, role):
    body = download(server, url, role)
    if url.endswith(".csv"):
        # Larger than both sockets' buffers (4 MB at most here): abandoning it stops the
        # server mid-stream.
        assert len(body) > 5_000_000
        assert body.count(b"\n") > POOL_ENTRIES
    assert_nothing_left_open(server)
    abandon(server, url, role)
    assert_nothing_left_open(server)


def test_forty_exports_some_abandoned_leave_no_transaction_open(server):
    """The probe of issue 15: 40 CSV exports (the pool and the ledger), three in four
    abandoned after their first chunk; then count what they left open (21 before the fix)."""
    urls = [
        ("/partners/{partner}/dashboard/export/pool.csv", PM),
        ("/dashboard/export/ledger.csv", CM),
    ]
    for number in range(40):
        url, role = urls[number % 2]
        if number % 4 == 0:
            download(server, url, role)
        else:
            abandon(server, url, role)
    if server.database_url.startswith("postgresql"):
        status_of(server.base + "/static/app.css")
        left_open = idle_in_transaction(server.database_url)
        print(f"connections idle in transaction after 40 exports: {left_open}")  # noqa: T201
    assert_nothing_left_open(server)
