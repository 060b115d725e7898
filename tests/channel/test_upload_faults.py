"""A full disk, a read-only upload folder, or a database that fails after the photo was
stored: the person reads why, and no claim, reward, ledger entry, message or file is left."""

import errno
import io
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from channel.claim_models import Claim, ClaimLine
from channel.ledger import Activity, LedgerEntry
from channel.postings import check_balances
from channel.programs import launch_program
from channel.rewards import Reward
from messaging.models import OutboxMessage
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_program, offer, utc_today

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 4096
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40
NOT_STORED = "The photo could not be stored right now. Try again later."


@pytest.fixture
def installs_pay(db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    db.commit()
    return program


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def fail_writes(monkeypatch, code: int) -> None:
    """Every file write fails as the disk would: ENOSPC after writing half the file (so a
    partial file is left behind unless removed), EROFS before writing anything."""
    write_bytes = Path.write_bytes

    def failing(path, data):
        if code == errno.ENOSPC:
            write_bytes(path, data[: len(data) // 2])
        raise OSError(code, "simulated")

    monkeypatch.setattr(Path, "write_bytes", failing)


MODELS = (Claim, ClaimLine, Activity, LedgerEntry, OutboxMessage, Reward)


def counts(db) -> dict[str, int]:
    return {m.__name__: db.scalar(select(func.count()).select_from(m)) for m in MODELS}


def nothing_left(db, folder: Path, before: dict[str, int]) -> None:
    """No row of any kind was added, no file is left, and the ledger reconciles."""
    assert counts(db) == before
    assert not folder.exists() or list(folder.iterdir()) == []
    assert check_balances(db) == []


def claim_with_photo(client, photo=JPEG):
    return client.post(
        "/claims/new/install",
        data={
            "occurred_on": utc_today().isoformat(),
            "serial": "SN-FULL-1",
            "photo": (io.BytesIO(photo), "plate.jpg"),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS], ids=["disk-full", "read-only"])
def test_a_claim_whose_photo_cannot_be_stored_is_refused_whole_with_a_clear_message(
    app, client, db, world, installs_pay, uploads, monkeypatch, code
):
    technician = world.people[Role.TECHNICIAN]
    technician.language = "lv"
    db.commit()
    login_as(client, technician)
    fail_writes(monkeypatch, code)
    before = counts(db)
    response = claim_with_photo(client)
    with app.test_request_context(), force_locale("lv"):
        message = gettext(NOT_STORED)
    assert message != NOT_STORED  # translated
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    nothing_left(db, uploads, before)


def test_a_database_failure_after_the_photo_was_stored_leaves_no_file(
    client, db, world, installs_pay, uploads, monkeypatch
):
    login_as(client, world.people[Role.TECHNICIAN])

    def lost_connection(*args, **kwargs):
        raise OperationalError("INSERT INTO claims", {}, Exception("server closed the connection"))

    monkeypatch.setattr("channel.claim_views.submit_claim", lost_connection)
    before = counts(db)
    response = claim_with_photo(client)
    assert response.status_code == 503
    nothing_left(db, uploads, before)


def test_once_the_disk_has_room_again_the_same_claim_goes_through(
    client, db, world, installs_pay, uploads, monkeypatch
):
    login_as(client, world.people[Role.TECHNICIAN])
    with monkeypatch.context() as full:
        fail_writes(full, errno.ENOSPC)
        assert claim_with_photo(client).status_code == 400
    assert claim_with_photo(client).status_code == 302
    claim = db.scalar(select(Claim))
    assert claim.status == "approved" and [p.name for p in uploads.iterdir()] == [
        photo.name for photo in claim.photos
    ]
    assert check_balances(db) == []


def test_a_reward_picture_on_a_full_disk_saves_no_reward(client, db, world, uploads, monkeypatch):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    fail_writes(monkeypatch, errno.ENOSPC)
    before = counts(db)
    response = client.post(
        "/rewards/manage",
        data={
            "kind": "donation",
            "name": "Plant a tree",
            "points_price": "300",
            "image": (io.BytesIO(PNG), "tree.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and NOT_STORED in response.get_data(as_text=True)
    nothing_left(db, uploads, before)
