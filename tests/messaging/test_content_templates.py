"""`flask messaging templates sync` reads Twilio's Content API (here a local fake, through the
real twilio client) into the registry: new, changed, rejected and removed templates."""

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import utcnow
from messaging.content_templates import FetchedTemplate, apply_sync
from messaging.models import ContentTemplate
from roles.permissions import Role
from tests.builders import login_as
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def content_api(app, fake):
    """The app's Twilio account pointed at the fake, restored afterwards."""
    keys = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL", "TWILIO_TIMEOUT_SECONDS")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_URL=fake.url,
        TWILIO_TIMEOUT_SECONDS=2,
    )
    yield fake
    app.config.update(saved)


def sync(app):
    result = app.test_cli_runner().invoke(args=["messaging", "templates", "sync"])
    return result.exit_code, result.output.strip()


def registry(db):
    db.expire_all()
    return {row.content_sid: row for row in db.scalars(select(ContentTemplate))}


def test_new_templates_are_added_with_kind_language_variables_and_verdict(app, db, content_api):
    content_api.add_content("HX1", "points_earned_lv", "lv", {"1": "first_name", "2": "points"})
    content_api.add_content("HX2", "welcome", "en_US", {"1": "Anna"}, status="pending")
    content_api.add_content("HX3", "spring offer", "en", {}, category="MARKETING")
    buttons = {"twilio/text": {"body": "…"}, "twilio/quick-reply": {"body": "…", "actions": []}}
    content_api.add_content("HX4", "welcome_ru", "ru", {}, status="unsubmitted", types=buttons)
    content_api.content_page_size = 2  # the list comes in two pages
    assert sync(app) == (0, "new 4, changed 0, rejected 0, removed 0, unchanged 0")
    rows = registry(db)
    first = rows["HX1"]
    assert (first.kind, first.language, first.variables) == (
        "points_earned",
        "lv",
        ["first_name", "points"],
    )
    assert (first.approval, first.category) == ("approved", "utility")
    # A sample that is not a name leaves the variable to be named on the admin page.
    assert (rows["HX2"].kind, rows["HX2"].language, rows["HX2"].variables) == (
        "welcome",
        "en",
        [""],
    )
    assert rows["HX2"].approval == "pending"
    assert (rows["HX3"].kind, rows["HX3"].category) == (None, "marketing")
    assert rows["HX3"].content_type == "twilio/text"
    assert (rows["HX4"].content_type, rows["HX4"].approval) == ("twilio/quick-reply", "unsubmitted")
    assert sync(app) == (0, "new 0, changed 0, rejected 0, removed 0, unchanged 4")


def test_changed_rejected_and_removed_templates(app, db, content_api):
    content_api.add_content("HX1", "points_earned_lv", "lv", {"1": "first_name", "2": "points"})
    content_api.add_content("HX2", "welcome", "en", {"1": "first_name"}, status="pending")
    content_api.add_content("HX3", "claim_approved", "ru", {"1": "points"})
    assert sync(app)[0] == 0
    edited = registry(db)["HX1"]
    edited.kind, edited.variables = "claim_approved", ["full_name", "points"]
    db.commit()
    # HX1 gains a third variable; HX2 is rejected; HX3 leaves the account.
    content_api.add_content(
        "HX1",
        "points_earned_lv",
        "lv",
        {"1": "first_name", "2": "points", "3": "available"},
        updated="2026-02-01T09:00:00Z",
    )
    content_api.approvals["HX2"] = {"status": "rejected", "rejection_reason": "Too promotional"}
    del content_api.contents["HX3"]
    assert sync(app) == (0, "new 0, changed 1, rejected 1, removed 1, unchanged 0")
    rows = registry(db)
    # What people set is kept; the new variable takes its sample's name.
    assert rows["HX1"].kind == "claim_approved"
    assert rows["HX1"].variables == ["full_name", "points", "available"]
    assert rows["HX1"].updated_at.year == 2026 and rows["HX1"].updated_at.month == 2
    assert (rows["HX2"].approval, rows["HX2"].rejection_reason) == ("rejected", "Too promotional")
    assert rows["HX3"].approval == "removed"
    # Back in the account: changed again, and its verdict with it.
    content_api.add_content("HX3", "claim_approved", "ru", {"1": "points"})
    assert sync(app) == (0, "new 0, changed 1, rejected 0, removed 0, unchanged 2")
    assert registry(db)["HX3"].approval == "approved"


def test_sync_without_an_account_or_with_twilio_down_changes_nothing(app, db, content_api):
    content_api.add_content("HX1", "welcome", "en", {})
    content_api.outage = (503, 20503)
    code, output = sync(app)
    assert code == 1 and "did not answer" in output
    assert registry(db) == {}
    app.config["TWILIO_ACCOUNT_SID"] = None
    assert sync(app)[0] == 1


# ---------------------------------------------------------------- the admin page


def add(db, sid, kind, language, variables, approval="approved"):
    row = ContentTemplate(
        content_sid=sid,
        friendly_name=sid.lower(),
        kind=kind,
        language=language,
        variables=variables,
        approval=approval,
        category="utility",
    )
    db.add(row)
    db.flush()
    return row


def test_the_page_lists_templates_and_the_kinds_and_languages_still_missing(client, db, world):
    for language in ("en", "lv", "pl", "ru", "he", "fa"):
        add(db, f"HXwelcome{language}", "welcome", language, ["first_name"])
    add(db, "HXpoints", "points_earned", "lv", ["points"], approval="rejected")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/messaging/templates/").get_data(as_text=True)
    assert "HXpointslv" not in page and "HXpoints" in page and "Rejected" in page
    missing = page.split("Without an approved template")[1].split("<h2>")[0]
    assert "<code>points_earned</code>" in missing and "Latviešu" in missing
    assert "<code>welcome</code>" not in missing  # approved in every language


def test_a_channel_manager_sets_a_templates_kind_and_variable_names(client, db, world):
    row = add(db, "HX1", None, "lv", ["", ""])
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    url = f"/messaging/templates/{row.id}"
    assert client.get(url).status_code == 200
    refused = client.post(url, data={"kind": "nonsense", "variables": "first_name"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Choose a message kind from the list." in page or "Not a valid choice" in page
    refused = client.post(url, data={"kind": "points_earned", "variables": "first_name"})
    assert "The template has 2 variables" in refused.get_data(as_text=True)
    refused = client.post(url, data={"kind": "points_earned", "variables": "First Name, x"})
    assert "small letters, digits and _" in refused.get_data(as_text=True)
    db.expire_all()
    assert (row.kind, row.variables) == (None, ["", ""])  # nothing was saved
    done = client.post(url, data={"kind": "points_earned", "variables": "first_name, points"})
    assert done.status_code == 302
    db.expire_all()
    assert (row.kind, row.variables) == ("points_earned", ["first_name", "points"])
    assert client.get("/messaging/templates/999999").status_code == 404


def test_two_syncs_at_once_add_each_template_once(committed_app):
    engine = committed_app.extensions["partnerlift.engine"]
    factory = sessionmaker(bind=engine)
    fetched = [
        FetchedTemplate(f"HXrace{n}", f"welcome_{n}", "en", {}, None, "approved", "utility")
        for n in range(20)
    ]
    start, failures, reports = threading.Barrier(2), [], []

    def sync_once():
        with committed_app.app_context(), factory() as session:
            start.wait()
            try:
                reports.append(apply_sync(session, fetched, ["welcome"], utcnow()))
                session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(repr(error))

    threads = [threading.Thread(target=sync_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(len(report.new) for report in reports) == [0, 20]
    with factory() as session:
        sids = session.scalars(
            select(ContentTemplate.content_sid).where(ContentTemplate.content_sid.like("HXrace%"))
        ).all()
    assert sorted(sids) == sorted(t.content_sid for t in fetched)
