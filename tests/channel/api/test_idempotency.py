"""Writes with an Idempotency-Key: a retry answers as the first time and writes nothing more."""

import threading

import pytest
from sqlalchemy import func, select

from channel.api.models import IdempotencyRecord
from channel.claim_models import Claim
from channel.postings import balance_of, person_account
from channel.rewards import Redemption, Reward
from core.db import get_session
from roles.permissions import Role
from tests.builders import (
    build_world,
    give_points,
    make_api_token,
    make_group,
    make_product,
    offered,
)


@pytest.fixture
def writer(db, world):
    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    return headers


def _claims(db) -> int:
    return db.scalar(select(func.count(Claim.id)))


def _install(person, serial="SN-1"):
    return {
        "person_id": person.id,
        "kind": "install",
        "occurred_on": "2026-01-05",
        "serial": serial,
    }


def test_the_same_key_and_body_give_the_first_answer_and_one_claim(client, db, world, writer):
    headers = {**writer, "Idempotency-Key": "claim-1"}
    body = _install(world.people[Role.TECHNICIAN])
    first = client.post("/api/v1/claims", headers=headers, json=body)
    again = client.post("/api/v1/claims", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _claims(db) == 1


def test_the_same_key_with_another_body_is_refused(client, db, world, writer):
    headers = {**writer, "Idempotency-Key": "claim-1"}
    technician = world.people[Role.TECHNICIAN]
    client.post("/api/v1/claims", headers=headers, json=_install(technician, "SN-1"))
    response = client.post("/api/v1/claims", headers=headers, json=_install(technician, "SN-2"))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _claims(db) == 1


def test_keys_belong_to_their_token(client, db, world, writer):
    _, other = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    technician = world.people[Role.TECHNICIAN]
    client.post(
        "/api/v1/claims", headers={**writer, "Idempotency-Key": "k"}, json=_install(technician)
    )
    response = client.post(
        "/api/v1/claims",
        headers={**other, "Idempotency-Key": "k"},
        json=_install(technician, "SN-9"),
    )
    assert response.status_code == 201
    assert _claims(db) == 2


def test_without_a_key_each_request_writes(client, db, world, writer):
    technician = world.people[Role.TECHNICIAN]
    client.post("/api/v1/claims", headers=writer, json=_install(technician, "A"))
    client.post("/api/v1/claims", headers=writer, json=_install(technician, "B"))
    assert _claims(db) == 2


def test_a_refusal_is_remembered_under_its_key_too(client, db, world, writer):
    headers = {**writer, "Idempotency-Key": "bad"}
    body = {"person_id": world.people[Role.SELLER].id, "kind": "sale", "occurred_on": "2026-01-05"}
    first = client.post("/api/v1/claims", headers=headers, json=body)
    again = client.post("/api/v1/claims", headers=headers, json=body)
    assert first.status_code == again.status_code == 422
    assert first.get_json() == again.get_json()
    assert _claims(db) == 0


def test_a_redemption_retried_spends_the_points_once(client, db, world, writer):
    seller = world.people[Role.SELLER]
    give_points(db, seller, 100)
    reward = offered(Reward(kind="physical", name="Torch", points_price=30, stock=5))
    db.add(reward)
    db.commit()
    headers = {**writer, "Idempotency-Key": "redeem-1"}
    body = {"person_id": seller.id, "reward_id": reward.id, "shipping_address": "Rīga, Brīvības 1"}
    first = client.post("/api/v1/redemptions", headers=headers, json=body)
    again = client.post("/api/v1/redemptions", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert first.get_json()["points"] == 30
    assert balance_of(db, person_account(seller.id)) == (0, 70)
    assert db.scalar(select(func.count(Redemption.id))) == 1
    db.refresh(reward)
    assert reward.stock == 4


def test_sales_lines_sent_twice_are_imported_once(client, db, world, writer):
    make_product(db, make_group(db, "boilers"), "BX-24")
    db.commit()
    seller = world.people[Role.SELLER]
    lines = [
        {
            "invoice_number": "INV-7",
            "line": n,
            "date": "2026-01-05",
            "sku": "BX-24",
            "quantity": 2,
            "seller": seller.phone,
        }
        for n in (1, 2)
    ] + [
        {
            "invoice_number": "INV-7",
            "line": 3,
            "date": "2026-01-05",
            "sku": "NOPE",
            "quantity": 1,
            "seller": seller.phone,
        }
    ]
    first = client.post(
        "/api/v1/sales-lines", headers={**writer, "Idempotency-Key": "f1"}, json={"lines": lines}
    ).get_json()
    assert first["imported"] == 2 and [r["index"] for r in first["rejected"]] == [3]
    # The same lines under another key: the import itself knows them already.
    second = client.post(
        "/api/v1/sales-lines", headers={**writer, "Idempotency-Key": "f2"}, json={"lines": lines}
    ).get_json()
    assert second["imported"] == 0 and second["already_imported"] == 2
    assert _claims(db) == 2


def test_old_keys_are_forgotten_from_the_cli(app, client, db, world, writer):
    from datetime import timedelta

    from core.db import utcnow

    headers = {**writer, "Idempotency-Key": "old"}
    body = _install(world.people[Role.TECHNICIAN])
    client.post("/api/v1/claims", headers=headers, json=body)
    record = db.scalar(select(IdempotencyRecord))
    record.created_at = utcnow() - timedelta(days=31)
    db.commit()
    result = app.test_cli_runner().invoke(args=["api", "forget-keys", "--days", "30"])
    assert result.exit_code == 0 and "forgot 1" in result.output
    assert db.scalar(select(func.count(IdempotencyRecord.id))) == 0


def test_concurrent_requests_with_one_key_write_once(committed_app):
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        _, headers = make_api_token(db, scope="write", partner=world.partner_a)
        technician_id = world.people[Role.TECHNICIAN].id
        db.commit()
    workers = 8
    start = threading.Barrier(workers)
    answers = []

    def send():
        start.wait()
        response = app.test_client().post(
            "/api/v1/claims",
            headers={**headers, "Idempotency-Key": "race"},
            json={
                "person_id": technician_id,
                "kind": "install",
                "occurred_on": "2026-01-05",
                "serial": "RACE-1",
            },
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == workers
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count(Claim.id)).where(Claim.serial == "RACE-1")) == 1
        assert db.scalar(select(func.count(IdempotencyRecord.id))) == 1
