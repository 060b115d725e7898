"""Partners imported from a file: created or updated by country and legal id, each row whole."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from channel.partner_import import UnreadablePartnersFile, import_partners, read_partners
from channel.partner_models import PartnerOrganization
from tests.builders import make_partner, utc_today

TODAY = utc_today()
HEADER = "legal_id,country,name,kind,parent,contract_started_on\n"


def load(db, body: str):
    return import_partners(db, list(read_partners((HEADER + body).encode())), today=TODAY)


def partner(db, country, legal_id):
    return db.scalar(
        select(PartnerOrganization).where(
            PartnerOrganization.country == country, PartnerOrganization.legal_id == legal_id
        )
    )


def test_partners_are_created_with_their_distributor_and_contract_start(db):
    report = load(
        db,
        "LV-DIST-1,lv,Baltic Heat SIA,distributor,,2019-03-01\n"
        "LV-DEAL-1,LV,Siltums Serviss,dealer,LV-DIST-1,2021-06-15\n",
    )
    assert (report.created, report.rejected) == (2, [])
    dealer = partner(db, "LV", "LV-DEAL-1")
    assert dealer.parent.name == "Baltic Heat SIA"
    assert dealer.contract_started_on == date(2021, 6, 15)


def test_importing_the_same_file_again_changes_nothing(db):
    body = "LV-DIST-2,LV,Baltic Heat SIA,distributor,,2019-03-01\n"
    load(db, body)
    report = load(db, body)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)


def test_an_existing_partner_is_updated_and_blank_columns_keep_what_it_had(db):
    existing = make_partner(db, legal_id="LV-OLD-1", kind="installer")
    existing.contract_started_on = date(2018, 1, 1)
    report = load(db, "LV-OLD-1,LV,Renamed SIA,,,\n")
    assert (report.updated, report.rejected) == (1, [])
    assert (existing.name, existing.kind) == ("Renamed SIA", "installer")
    assert existing.contract_started_on == date(2018, 1, 1)


def test_bad_rows_are_reported_and_nothing_of_them_is_written(db):
    future = TODAY + timedelta(days=3)
    before = db.scalar(select(func.count(PartnerOrganization.id)))
    report = load(
        db,
        "LV-BAD-1,LV,Bad Kind,wholesaler,,\n"
        "LV-BAD-2,LV,No Parent,dealer,LV-NOBODY,\n"
        f"LV-BAD-3,LV,Future,dealer,,{future}\n"
        "LV-BAD-4,XX,No Country,dealer,,\n"
        "LV-GOOD-1,LV,Good SIA,dealer,,\n",
    )
    assert [line for line, _ in report.rejected] == [2, 3, 4, 5]
    reasons = dict(report.rejected)
    assert "wholesaler" not in reasons[2] and "distributor" in reasons[2]
    assert "LV-NOBODY" in reasons[3]
    assert "in the future" in reasons[4]
    assert "country" in reasons[5].lower()
    assert report.created == 1
    assert db.scalar(select(func.count(PartnerOrganization.id))) == before + 1


def test_a_file_without_the_required_columns_is_refused_whole(db):
    with pytest.raises(UnreadablePartnersFile):
        list(read_partners(b"name\nSomebody\n"))


def test_import_partners_command_reports_rows_and_exits_2_on_rejections(app, db, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text(HEADER + "LV-CLI-1,LV,Cli SIA,dealer,,2020-01-01\nLV-CLI-2,LV,,dealer,,\n")
    result = app.test_cli_runner().invoke(args=["import-partners", str(path)])
    assert result.exit_code == 2
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in result.output
    assert "line 3:" in result.output
