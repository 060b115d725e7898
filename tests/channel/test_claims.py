"""Claims: checked by every fraud rule, approved into points, rejected with a reason, returned."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from channel.claim_models import Claim
from channel.claims import (
    ClaimDetails,
    InvalidClaim,
    approve_claim,
    reject_claim,
    return_claim,
    submit_claim,
)
from channel.expiry import release_due
from channel.ledger import Activity
from channel.postings import balance_of, check_balances, person_account
from channel.programs import launch_program
from channel.purchase_import import import_purchases, read_purchases
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    make_group,
    make_product,
    make_program,
    offer,
    utc_today,
)

TODAY = utc_today()


@pytest.fixture
def program(db, world):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    make_product(db, group, "BX-35")
    program = make_program(db, partners=[world.partner_a, world.partner_b])
    add_scheme(
        db,
        program,
        ["seller", "engineer"],
        ("unit_sold", {"product_group": "boilers", "points_per_unit": 10}),
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def sale(**overrides):
    values = {
        "kind": "sale",
        "occurred_on": TODAY,
        "invoice_number": "INV-1",
        "lines": [("bx-24", 3)],
    }
    values.update(overrides)
    return ClaimDetails(**values)


def points(db, person):
    pending, available = balance_of(db, person_account(person.id))
    return pending + available


def test_a_clean_sale_is_approved_at_once_and_earns_pending_points(db, world, program):
    seller = world.people[Role.SELLER]
    claim = submit_claim(db, seller, sale(), today=TODAY)
    assert (claim.status, claim.flags) == ("approved", [])
    assert balance_of(db, person_account(seller.id)) == (30, 0)  # pending through the return window


def test_a_sale_shared_with_an_engineer_is_split_by_the_shares(db, world, program):
    seller, engineer = world.people[Role.SELLER], world.people[Role.ENGINEER]
    submit_claim(
        db, seller, sale(lines=[("BX-24", 4)], shares={seller.id: 75, engineer.id: 25}), today=TODAY
    )
    assert (points(db, seller), points(db, engineer)) == (30, 10)


def test_shares_must_add_up_and_stay_within_the_company(db, world, program):
    seller = world.people[Role.SELLER]
    with pytest.raises(InvalidClaim) as refused:
        submit_claim(
            db, seller, sale(shares={seller.id: 60, world.others[Role.SELLER].id: 30}), today=TODAY
        )
    assert "shares" in refused.value.errors
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_bad_claims_report_every_problem_and_save_nothing(db, world, program):
    with pytest.raises(InvalidClaim) as refused:
        submit_claim(
            db,
            world.people[Role.SELLER],
            sale(occurred_on=TODAY + timedelta(days=1), invoice_number="", lines=[("NOPE", 0)]),
            today=TODAY,
        )
    assert set(refused.value.errors) == {"occurred_on", "invoice_number", "lines"}
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_the_same_serial_claimed_twice_goes_to_review(db, world, program):
    technician = world.people[Role.TECHNICIAN]
    first = submit_claim(
        db, technician, ClaimDetails(kind="install", occurred_on=TODAY, serial="sn-1"), today=TODAY
    )
    second = submit_claim(
        db,
        world.others[Role.TECHNICIAN],
        ClaimDetails(kind="install", occurred_on=TODAY, serial="SN-1"),
        today=TODAY,
    )
    assert first.status == "approved" and points(db, technician) == 50
    assert second.status == "pending" and "duplicate_serial" in second.flags


def test_the_same_invoice_line_claimed_twice_goes_to_review(db, world, program):
    submit_claim(db, world.people[Role.SELLER], sale(), today=TODAY)
    again = submit_claim(db, world.people[Role.ENGINEER], sale(), today=TODAY)
    other_line = submit_claim(
        db, world.people[Role.ENGINEER], sale(lines=[("BX-35", 1)]), today=TODAY
    )
    assert again.flags == ["duplicate_invoice_line"] and other_line.flags == []


def bought(db, partner, *lines) -> None:
    """Purchase lines of `partner`, imported as the manufacturer's file brings them."""
    rows = "".join(
        f"{document},{partner.legal_id},{number},1,{TODAY - timedelta(days=3)},{sku},{qty},"
        f"{qty * 100}.00,EUR\n"
        for document, number, sku, qty in lines
    )
    header = "document,partner,invoice_number,line,date,sku,quantity,amount,currency\n"
    report = import_purchases(db, list(read_purchases((header + rows).encode())), today=TODAY)
    assert not report.rejected, report.rejected


def test_claims_beyond_what_the_partner_bought_go_to_review(db, world, program):
    bought(db, world.partner_a, ("invoice", "P-1", "BX-24", 6), ("credit_note", "C-1", "BX-24", -1))
    ok = submit_claim(db, world.people[Role.SELLER], sale(lines=[("BX-24", 5)]), today=TODAY)
    too_many = submit_claim(
        db,
        world.people[Role.SELLER],
        sale(invoice_number="INV-2", lines=[("BX-24", 1)]),
        today=TODAY,
    )
    never_bought = submit_claim(
        db,
        world.people[Role.SELLER],
        sale(invoice_number="INV-3", lines=[("BX-35", 1)]),
        today=TODAY,
    )
    assert ok.flags == [] and too_many.flags == ["exceeds_purchases"]
    assert never_bought.flags == ["exceeds_purchases"]


def test_a_partner_whose_purchases_are_unknown_is_not_judged_by_them(db, world, program):
    claim = submit_claim(db, world.people[Role.SELLER], sale(lines=[("BX-24", 50)]), today=TODAY)
    assert claim.flags == []


def test_a_burst_of_claims_far_above_the_norm_goes_to_review(db, world, program):
    seller = world.people[Role.SELLER]
    claims = [
        submit_claim(db, seller, sale(invoice_number=f"B-{n}"), today=TODAY) for n in range(12)
    ]
    assert [c.flags for c in claims[:10]] == [[]] * 10
    assert "velocity" in claims[11].flags


def test_a_claim_outside_every_approved_program_goes_to_review(db, world, program):
    late = submit_claim(
        db, world.people[Role.SELLER], sale(occurred_on=TODAY - timedelta(days=30)), today=TODAY
    )
    declined_partner = submit_claim(
        db, world.others[Role.SELLER], sale(invoice_number="X"), today=TODAY
    )
    assert late.flags == ["outside_program"] and declined_partner.flags == ["outside_program"]


def test_reviewer_approves_or_rejects_with_a_reason(db, world, program):
    technician, reviewer = world.people[Role.TECHNICIAN], world.people[Role.CHANNEL_MANAGER]
    submit_claim(
        db, technician, ClaimDetails(kind="install", occurred_on=TODAY, serial="SN-9"), today=TODAY
    )
    twin = submit_claim(
        db,
        world.people[Role.ENGINEER],
        ClaimDetails(kind="install", occurred_on=TODAY, serial="SN-9"),
        today=TODAY,
    )
    with pytest.raises(InvalidClaim):
        reject_claim(db, twin, actor_id=reviewer.id, reason=" ")
    reject_claim(db, twin, actor_id=reviewer.id, reason="Serial SN-9 was installed by a colleague")
    assert (twin.status, twin.rejection_reason) == (
        "rejected",
        "Serial SN-9 was installed by a colleague",
    )
    flagged = submit_claim(
        db,
        technician,
        ClaimDetails(kind="install", occurred_on=TODAY - timedelta(days=30), serial="SN-10"),
        today=TODAY,
    )
    approve_claim(db, flagged, actor_id=reviewer.id)
    assert flagged.status == "approved"  # approved, but outside the program: it earns nothing
    assert points(db, technician) == 50


def test_a_returned_sale_is_reversed_before_and_after_its_points_become_available(
    db, world, program
):
    seller = world.people[Role.SELLER]
    early = submit_claim(db, seller, sale(invoice_number="R-1"), today=TODAY)
    assert return_claim(db, early, actor_id=None) == 30
    assert balance_of(db, person_account(seller.id)) == (0, 0)

    late = submit_claim(db, seller, sale(invoice_number="R-2"), today=TODAY)
    release_due(db, datetime.now(UTC) + timedelta(days=31))
    assert balance_of(db, person_account(seller.id)) == (0, 30)
    assert return_claim(db, late, actor_id=None) == 30
    assert balance_of(db, person_account(seller.id)) == (0, 0)
    assert check_balances(db) == []
    assert release_due(db, datetime.now(UTC) + timedelta(days=60)) == 0  # nothing left to release


def test_approved_claims_become_activities_once(db, world, program):
    seller = world.people[Role.SELLER]
    claim = submit_claim(db, seller, sale(lines=[("BX-24", 1), ("BX-35", 2)]), today=TODAY)
    assert db.scalar(select(func.count(Activity.id)).where(Activity.claim_id == claim.id)) == 2
    with pytest.raises(InvalidClaim):
        approve_claim(db, claim, actor_id=None)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1)):
        assert points(db, seller) == 30


def test_staff_claim_on_the_web_and_reviewers_reject_with_a_reason(client, db, world, program):
    from tests.builders import login_as

    technician = world.people[Role.TECHNICIAN]
    login_as(client, technician)
    response = client.post(
        "/claims/new/install", data={"occurred_on": TODAY.isoformat(), "serial": "web-1"}
    )
    assert response.status_code == 302
    response = client.post(
        "/claims/new/install", data={"occurred_on": TODAY.isoformat(), "serial": ""}
    )
    assert response.status_code == 400 and "Give the serial number" in response.get_data(
        as_text=True
    )
    login_as(client, world.people[Role.ENGINEER])
    client.post("/claims/new/install", data={"occurred_on": TODAY.isoformat(), "serial": "WEB-1"})
    twin = db.scalar(select(Claim).where(Claim.person_id == world.people[Role.ENGINEER].id))
    assert twin.status == "pending"

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    queue = client.get("/claims/review").get_data(as_text=True)
    assert "This serial number was already claimed." in queue
    client.post(f"/claims/{twin.id}/reject", data={"reason": "Installed by a colleague"})
    login_as(client, world.people[Role.ENGINEER])
    mine = client.get("/claims/mine").get_data(as_text=True)
    assert "Rejected" in mine and "Installed by a colleague" in mine
    login_as(client, world.people[Role.PARTNER_MANAGER])
    staff = client.get(f"/partners/{world.partner_a.id}/claims").get_data(as_text=True)
    assert "WEB-1" in staff and technician.full_name in staff


def test_a_sale_claimed_on_the_web_is_shared_with_a_colleague(client, db, world, program):
    from tests.builders import login_as

    seller, engineer = world.people[Role.SELLER], world.people[Role.ENGINEER]
    login_as(client, seller)
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "web-77",
            "sku-0": "BX-24",
            "qty-0": "2",
            "share_person": engineer.id,
            "share_percent": "50",
        },
    )
    assert response.status_code == 302
    assert (points(db, seller), points(db, engineer)) == (10, 10)


@pytest.mark.parametrize("quantity", ["²", "99999999999999999999999", "100001"])
def test_a_quantity_no_line_can_hold_is_refused_on_the_claim_form(
    client, db, world, program, quantity
):
    from tests.builders import login_as

    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "big-1",
            "sku-0": "BX-24",
            "qty-0": quantity,
        },
    )
    assert response.status_code == 400
    assert db.scalar(select(Claim).where(Claim.invoice_number == "BIG-1")) is None


@pytest.mark.parametrize(("field", "value"), [("serial", "S" * 101), ("invoice_number", "I" * 65)])
def test_a_claim_text_longer_than_its_column_is_refused_on_the_form(
    client, db, world, program, field, value
):
    from tests.builders import login_as

    login_as(client, world.people[Role.SELLER])
    form = {"occurred_on": TODAY.isoformat(), "invoice_number": "INV-9", "serial": "SN-9"}
    response = client.post(
        "/claims/new/install" if field == "serial" else "/claims/new/sale",
        data={**form, "sku-0": "BX-24", "qty-0": "1", field: value},
    )
    assert response.status_code == 400 and "At most" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Claim.id))) == 0


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 64


def test_a_claim_photo_is_served_only_to_those_allowed(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    seller = world.people[Role.SELLER]
    login_as(client, seller)
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "PH-1",
            "sku-0": "BX-24",
            "qty-0": "1",
            "photo": (io.BytesIO(JPEG), "invoice.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    claim = db.scalar(select(Claim).where(Claim.invoice_number == "PH-1"))
    assert [p.mime_type for p in claim.photos] == ["image/jpeg"]  # from the bytes, not the name
    url = f"/claims/{claim.id}/photos/1"
    expected = {
        Role.SELLER: 200,
        Role.PARTNER_MANAGER: 200,
        Role.CHANNEL_MANAGER: 200,
        Role.ADMIN: 200,
        Role.ENGINEER: 404,
        Role.TECHNICIAN: 404,
        Role.PROCUREMENT: 404,
    }
    for role, status in expected.items():
        login_as(client, world.people[role])
        assert client.get(url).status_code == status, role
    for role in (Role.PARTNER_MANAGER, Role.SELLER):
        login_as(client, world.others[role])
        assert client.get(url).status_code == 404
    login_as(client, seller)
    assert client.get(url).data == JPEG


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_saved(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "PH-2",
            "sku-0": "BX-24",
            "qty-0": "1",
            "photo": (io.BytesIO(b"<script>alert(1)</script>"), "invoice.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Send a photo" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Claim.id))) == 0
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_a_refused_claim_keeps_no_orphan_photo(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "INV-1",
            "sku-0": "NO-SUCH-SKU",
            "qty-0": "1",
            "photo": (io.BytesIO(JPEG), "invoice.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_sale_with_a_photo_of_its_invoice_and_nothing_typed_waits_for_a_reviewer(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/sale",
        data={"occurred_on": TODAY.isoformat(), "photo": (io.BytesIO(JPEG), "invoice.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    claim = db.scalar(select(Claim))
    assert (claim.status, claim.invoice_number, claim.flags) == (
        "pending",
        None,
        ["invoice_in_photo"],
    )
    assert [photo.name for photo in claim.photos] == [
        path.name for path in (tmp_path / "uploads").iterdir()
    ]


def test_an_install_with_a_photo_of_the_plate_and_no_serial_waits_for_a_reviewer(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as(client, world.people[Role.TECHNICIAN])
    response = client.post(
        "/claims/new/install",
        data={"occurred_on": TODAY.isoformat(), "photo": (io.BytesIO(JPEG), "plate.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    claim = db.scalar(select(Claim).where(Claim.kind == "install"))
    assert (claim.status, claim.serial, claim.flags) == ("pending", None, ["serial_in_photo"])
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/claims/review").get_data(as_text=True)
    assert "No serial number was given: read it from the photo." in page
    assert 'name="serial"' in page and f"/claims/{claim.id}/photos/1" in page


def test_a_read_only_upload_folder_gives_a_clear_message_and_saves_no_claim(
    client, app, db, world, program, tmp_path, monkeypatch
):
    import io

    from tests.builders import login_as

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(blocked))
    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/sale",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "PH-3",
            "sku-0": "BX-24",
            "qty-0": "1",
            "photo": (io.BytesIO(JPEG), "invoice.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "could not be stored" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Claim.id))) == 0


@pytest.fixture
def referral_program(db, world, program):
    add_scheme(db, program, ["seller"], ("referral", {"points": 200}), name="Referrals")
    return program


def test_a_referral_pays_once_per_company_brought_in(db, world, referral_program):
    from tests.builders import make_partner

    newcomer = make_partner(db, name="New Dealer", legal_id="LV49999999999")
    first = submit_claim(
        db,
        world.people[Role.SELLER],
        ClaimDetails(kind="referral", occurred_on=TODAY, referred_partner_id=newcomer.id),
        today=TODAY,
    )
    assert (first.status, first.flags) == ("approved", [])
    again = submit_claim(
        db,
        world.people[Role.ENGINEER],
        ClaimDetails(kind="referral", occurred_on=TODAY, referred_partner_id=newcomer.id),
        today=TODAY,
    )
    assert again.status == "approved"  # approved, but the company was already paid for
    assert points(db, world.people[Role.SELLER]) == 200
    assert points(db, world.people[Role.ENGINEER]) == 0


def test_referring_ones_own_company_is_flagged(db, world, referral_program):
    from tests.builders import make_partner

    own = submit_claim(
        db,
        world.people[Role.SELLER],
        ClaimDetails(kind="referral", occurred_on=TODAY, referred_partner_id=world.partner_a.id),
        today=TODAY,
    )
    own_dealer = make_partner(db, name="Alpha's own dealer", parent=world.partner_a)
    shadow = submit_claim(
        db,
        world.people[Role.SELLER],
        ClaimDetails(kind="referral", occurred_on=TODAY, referred_partner_id=own_dealer.id),
        today=TODAY,
    )
    assert own.flags == ["self_referral"] and own.status == "pending"
    assert "self_referral" in shadow.flags
    assert points(db, world.people[Role.SELLER]) == 0


def test_a_referral_needs_an_active_company(db, world, referral_program):
    from tests.builders import make_partner

    closed = make_partner(db, name="Closed Co", status="closed")
    with pytest.raises(InvalidClaim) as refused:
        submit_claim(
            db,
            world.people[Role.SELLER],
            ClaimDetails(kind="referral", occurred_on=TODAY, referred_partner_id=closed.id),
            today=TODAY,
        )
    assert "referred_partner_id" in refused.value.errors


def test_staff_claim_a_referral_by_the_companys_registration_number(
    client, db, world, referral_program
):
    from tests.builders import login_as, make_partner

    newcomer = make_partner(db, name="Fresh Dealer", legal_id="LV48888888888")
    db.commit()
    login_as(client, world.people[Role.SELLER])
    response = client.post(
        "/claims/new/referral",
        data={"occurred_on": TODAY.isoformat(), "referred_legal_id": "lv 4888 8888 888"},
    )
    assert response.status_code == 302
    claim = db.scalar(select(Claim).where(Claim.kind == "referral"))
    assert claim.referred_partner_id == newcomer.id and claim.status == "approved"
    response = client.post(
        "/claims/new/referral", data={"occurred_on": TODAY.isoformat(), "referred_legal_id": "NOPE"}
    )
    assert (
        response.status_code == 400
        and "Choose the company you brought in." in response.get_data(as_text=True)
    )


def test_procurement_claims_an_order_and_an_early_payment_on_the_web(client, db, world, program):
    from tests.builders import login_as

    add_scheme(
        db,
        program,
        ["procurement"],
        ("portal_order", {"points_per_order": 15}),
        ("early_payment", {"points": 40, "min_days_early": 5}),
    )
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])  # enrols procurement
    db.commit()
    buyer = world.people[Role.PROCUREMENT]
    login_as(client, buyer)
    response = client.post(
        "/claims/new/order",
        data={"occurred_on": TODAY.isoformat(), "sku-0": "BX-24", "qty-0": "12"},
    )
    assert response.status_code == 302
    response = client.post(
        "/claims/new/payment",
        data={
            "occurred_on": TODAY.isoformat(),
            "invoice_number": "PAY-1",
            "amount": "1200,50",
            "due_on": (TODAY + timedelta(days=10)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert points(db, buyer) == 55
    response = client.post(
        "/claims/new/payment", data={"occurred_on": TODAY.isoformat(), "invoice_number": "PAY-2"}
    )
    assert response.status_code == 400
