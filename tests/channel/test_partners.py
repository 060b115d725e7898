from sqlalchemy import func, select

from channel.partner_models import PartnerOrganization
from roles.permissions import Role
from tests.builders import login_as, make_partner, make_tier


def partner_form(**overrides):
    data = {
        "name": "Siltums Serviss SIA",
        "kind": "installer",
        "country": "LV",
        "legal_id": "lv 4000 3123 456",
        "tier_id": "None",
        "parent_id": "None",
        "status": "active",
    }
    data.update(overrides)
    return data


def count_partners(db):
    return db.scalar(select(func.count(PartnerOrganization.id)))


def test_channel_manager_creates_a_partner_under_a_distributor(client, db, world):
    distributor = make_partner(db, name="Big Distributor", kind="distributor")
    gold = make_tier(db)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/partners/new",
        data=partner_form(parent_id=str(distributor.id), tier_id=str(gold.id)),
    )
    assert response.status_code == 302
    partner = db.scalar(
        select(PartnerOrganization).where(PartnerOrganization.name.like("Siltums%"))
    )
    assert partner.legal_id == "LV40003123456"
    assert (partner.parent_id, partner.tier_id, partner.kind) == (
        distributor.id,
        gold.id,
        "installer",
    )
    page = client.get(response.location).get_data(as_text=True)
    assert "Big Distributor" in page and "Gold" in page


def test_duplicate_legal_id_in_the_same_country_is_refused(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_partners(db)
    response = client.post(
        "/partners/new", data=partner_form(legal_id=world.partner_a.legal_id.lower())
    )
    assert response.status_code == 400
    assert "is already registered with this number" in response.get_data(as_text=True)
    assert count_partners(db) == before


def test_missing_fields_are_all_reported_at_once(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post("/partners/new", data=partner_form(name="", legal_id="", country=""))
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the organization&#39;s name." in text or "Enter the organization's name." in text
    assert "Enter the registration or VAT number." in text
    assert "Choose a country." in text


def test_channel_manager_edits_a_partner(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    partner = world.partner_b
    response = client.post(
        f"/partners/{partner.id}/edit",
        data=partner_form(
            name="Bravo Renamed", country="PL", legal_id=partner.legal_id, status="suspended"
        ),
    )
    assert response.status_code == 302
    db.expire_all()
    saved = db.get(PartnerOrganization, partner.id)
    assert (saved.name, saved.status) == ("Bravo Renamed", "suspended")


def test_a_distributor_cannot_buy_through_its_own_dealer(client, db, world):
    distributor = make_partner(db, name="Top", kind="distributor")
    dealer = make_partner(db, name="Middle", kind="distributor", parent=distributor)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        f"/partners/{distributor.id}/edit",
        data=partner_form(
            name="Top",
            kind="distributor",
            legal_id=distributor.legal_id,
            parent_id=str(dealer.id),
        ),
    )
    assert response.status_code == 400
    db.expire_all()
    assert db.get(PartnerOrganization, distributor.id).parent_id is None


def test_search_finds_partners_by_name_number_country_and_status(client, db, world):
    make_partner(db, name="Дилер Москва", country="RU", legal_id="7700000001")
    make_partner(db, name="Closed Shop", status="closed")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])

    def names(query):
        return client.get("/partners/?" + query).get_data(as_text=True)

    assert "Дилер Москва" in names("q=дилер")  # case-insensitive beyond ASCII
    assert "Дилер Москва" in names("q=7700000001")
    assert "Alpha Heating" not in names("country=RU")
    only_closed = names("status=closed")
    assert "Closed Shop" in only_closed and "Alpha Heating" not in only_closed


def test_partner_list_is_paginated(client, db, world):
    for n in range(55):
        make_partner(db, name=f"Zeta {n:02d}")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    first = client.get("/partners/?q=zeta").get_data(as_text=True)
    second = client.get("/partners/?q=zeta&page=2").get_data(as_text=True)
    assert "Zeta 00" in first and "Zeta 54" not in first
    assert "Zeta 54" in second and "55 partners" in first


def test_partner_page_shows_its_dealers(client, db, world):
    distributor = make_partner(db, name="Parent Co", kind="distributor")
    make_partner(db, name="Child Dealer", parent=distributor)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert "Child Dealer" in client.get(f"/partners/{distributor.id}").get_data(as_text=True)


def test_a_partners_contract_start_is_kept_and_its_tenure_counts_from_it(client, db, world):
    from datetime import UTC, datetime, timedelta

    partner = world.partner_a
    partner.created_at = datetime.now(UTC) - timedelta(days=40)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "the contract start is not known" in page
    started = (datetime.now(UTC) - timedelta(days=800)).date()
    response = client.post(
        f"/partners/{partner.id}/edit",
        data=partner_form(
            name=partner.name,
            legal_id=partner.legal_id,
            country=partner.country,
            kind=partner.kind,
            contract_started_on=started.isoformat(),
        ),
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(PartnerOrganization, partner.id).contract_started_on == started
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "the contract start is not known" not in page
    assert "<dt>Months with us</dt><dd>26" in page


def test_the_api_reads_a_partners_contract_start_or_null(client, db, world):
    from datetime import date

    from tests.builders import make_api_token

    world.partner_a.contract_started_on = date(2020, 2, 29)
    _, headers = make_api_token(db)
    db.commit()
    found = {
        p["id"]: p["contract_started_on"]
        for p in client.get("/api/v1/partners?per_page=100", headers=headers).get_json()["items"]
    }
    assert found[world.partner_a.id] == "2020-02-29" and found[world.partner_b.id] is None
