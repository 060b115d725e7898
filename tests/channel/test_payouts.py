"""Cash-outs: the IBAN checked at request time, paid once in a batch, SEPA files by the schema."""

import csv
import io
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.ledger import EntryKind, LedgerEntry
from channel.payout_models import CashOut, CashOutState, PayoutBatch, checked_iban
from channel.payouts import (
    Debtor,
    approve_cash_out,
    build_batch,
    fail_cash_out,
    set_cash_out_value,
)
from channel.postings import balance_of, check_balances, person_account
from channel.rewards import Redemption, RedemptionRefused, Reward, RewardKind, redeem
from core.db import get_session
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import make_partner, make_person, offered
from tests.channel.test_fulfilment import messages_to
from tests.channel.test_rewards import give

DEBTOR = Debtor(name="PartnerLift Manufacturing SIA", iban="LV80BANK0000435195001", bic="HABALV22")
PAY_ON = date(2026, 12, 7)
#: Valid IBANs of the demo's countries and Germany (whose bank registry gives the BIC).
IBANS = {
    "DE": "DE89 3704 0044 0532 0130 00",
    "LV": "LV97HABA0012345678910",
    "PL": "PL61109010140000071219812874",
    "IL": "IL620108000000099999999",
}
SCHEMA = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"


def cash_reward(db, amount="25.00", currency="EUR", name="Cash 25 EUR"):
    item = offered(Reward(kind=RewardKind.CASHOUT, name=name, points_price=100))
    db.add(item)
    db.flush()
    set_cash_out_value(db, item, amount, currency)
    return item


def cashed(db, person, item, key, iban=IBANS["DE"]):
    give(db, person, 100, key=f"gift-{key}")
    return redeem(db, person, item, request_key=key, iban=iban)


def test_a_cash_out_keeps_the_iban_in_its_electronic_form_and_the_value(db, world):
    seller = world.people[Role.SELLER]
    redemption = cashed(db, seller, cash_reward(db), "a")
    cash_out = db.get(Redemption, redemption.id).cash_out
    assert cash_out.iban == "DE89370400440532013000"
    assert (cash_out.amount, cash_out.currency) == (Decimal("25.00"), "EUR")
    assert cash_out.holder == seller.full_name and cash_out.state == CashOutState.REQUESTED


@pytest.mark.parametrize(
    ("iban", "words"),
    [
        ("DE89 3704 0044 0532 0130 01", "check digits"),
        ("DE89 3704 0044 0532 0130", "not a valid IBAN"),
        ("XX89370400440532013000", "not a valid IBAN"),
        ("", "Give the IBAN"),
    ],
)
def test_a_wrong_iban_is_refused_at_request_time_and_nothing_is_spent(db, world, iban, words):
    seller = world.people[Role.SELLER]
    item = cash_reward(db)
    give(db, seller, 100)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, seller, item, request_key="bad", iban=iban)
    assert words in str(refused.value.errors["iban"])
    assert balance_of(db, person_account(seller.id)) == (0, 100)
    assert db.scalar(select(func.count(Redemption.id))) == 0


def test_the_iban_refusal_is_in_the_persons_language(app):
    with app.test_request_context(), force_locale("pl"):
        polish = str(checked_iban("PL61109010140000071219812875")[1])
    with app.test_request_context(), force_locale("he"):
        hebrew = str(checked_iban("IL62010800000009999999")[1])
    with app.test_request_context():
        english = str(checked_iban("PL61109010140000071219812875")[1])
    assert polish != english and hebrew != english
    assert "IBAN" in polish and "IBAN" in hebrew


def test_a_cash_out_without_an_amount_is_refused(db, world):
    seller = world.people[Role.SELLER]
    item = offered(Reward(kind=RewardKind.CASHOUT, name="Cash", points_price=100))
    db.add(item)
    db.flush()
    give(db, seller, 100)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, seller, item, request_key="x", iban=IBANS["DE"])
    assert "no amount" in str(refused.value.errors["reward"])


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [("0", "EUR", "amount"), ("1.005", "EUR", "amount"), ("NaN", "EUR", "amount"),
     ("1e309", "EUR", "amount"), ("10", "EURO", "currency"), ("10", "ABC", "currency")],
)  # fmt: skip
def test_a_cash_out_value_must_be_money_in_a_known_currency(db, amount, currency, field):
    item = offered(Reward(kind=RewardKind.CASHOUT, name="Cash", points_price=100))
    db.add(item)
    db.flush()
    with pytest.raises(InvalidInput) as refused:
        set_cash_out_value(db, item, amount, currency)
    assert field in refused.value.errors


def test_a_euro_batch_is_a_pain_001_file_that_validates_and_pays_each_once(db, world):
    seller, technician = world.people[Role.SELLER], world.people[Role.TECHNICIAN]
    item = cash_reward(db)
    zloty = cash_reward(db, "100.50", "PLN", "Cash 100 PLN")
    first = cashed(db, seller, item, "a")
    second = cashed(db, technician, item, "b", IBANS["LV"])
    waiting = cashed(db, seller, item, "c")
    in_zloty = cashed(db, technician, zloty, "d", IBANS["PL"])
    for redemption in (first, second, in_zloty):
        approve_cash_out(db, redemption.cash_out)
    batch = build_batch(db, "EUR", debtor=DEBTOR, actor_id=None, execution_date=PAY_ON)
    assert (batch.format, batch.count, batch.total) == ("sepa", 2, Decimal("50.00"))
    xmlschema.XMLSchema(str(SCHEMA)).validate(batch.document)
    document = xmlschema.XMLSchema(str(SCHEMA)).to_dict(batch.document)
    header = document["CstmrCdtTrfInitn"]["GrpHdr"]
    assert (header["MsgId"], header["NbOfTxs"], Decimal(str(header["CtrlSum"]))) == (
        batch.message_id,
        "2",
        Decimal("50.00"),
    )
    transfers = document["CstmrCdtTrfInitn"]["PmtInf"][0]["CdtTrfTxInf"]
    assert [t["CdtrAcct"]["Id"]["IBAN"] for t in transfers] == [
        "DE89370400440532013000",
        "LV97HABA0012345678910",
    ]
    assert [t["PmtId"]["EndToEndId"] for t in transfers] == [f"R{first.id}", f"R{second.id}"]
    db.expire_all()
    assert [db.get(Redemption, r.id).status for r in (first, second, waiting, in_zloty)] == [
        "fulfilled",
        "fulfilled",
        "requested",
        "requested",
    ]
    assert db.get(Redemption, first.id).cash_out.batch_id == batch.id
    with pytest.raises(InvalidInput) as nothing:
        build_batch(db, "EUR", debtor=DEBTOR, actor_id=None, execution_date=PAY_ON)
    assert "No approved cash-out in EUR" in str(nothing.value.errors["currency"])


def test_a_broken_sepa_document_fails_the_schema(db):
    """The check is real: a file without its debtor's account is refused by the schema."""
    schema = xmlschema.XMLSchema(str(SCHEMA))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
            "<CstmrCdtTrfInitn><GrpHdr><MsgId>x</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>"
        )


def test_other_currencies_go_out_as_a_csv_batch(db, world):
    technician = world.people[Role.TECHNICIAN]
    redemption = cashed(db, technician, cash_reward(db, "100.50", "PLN"), "d", IBANS["PL"])
    approve_cash_out(db, redemption.cash_out)
    batch = build_batch(db, "pln", debtor=None, actor_id=None, execution_date=PAY_ON)
    assert (batch.format, batch.currency, batch.count) == ("csv", "PLN", 1)
    [row] = list(csv.DictReader(io.StringIO(batch.document)))
    assert row["reference"] == f"R{redemption.id}"
    assert (row["iban"], row["amount"], row["currency"]) == (
        "PL61109010140000071219812874",
        "100.50",
        "PLN",
    )


def test_a_euro_batch_needs_the_paying_account(db, world):
    redemption = cashed(db, world.people[Role.SELLER], cash_reward(db), "a")
    approve_cash_out(db, redemption.cash_out)
    with pytest.raises(InvalidInput) as refused:
        build_batch(db, "EUR", debtor=None, actor_id=None, execution_date=PAY_ON)
    assert "PAYOUT_DEBTOR_IBAN" in str(refused.value.errors["currency"])


def test_a_cash_out_that_fails_refunds_with_the_reason_and_tells_the_person(app, db, world):
    seller = world.people[Role.SELLER]
    redemption = cashed(db, seller, cash_reward(db), "a")
    with pytest.raises(InvalidInput):
        fail_cash_out(db, redemption.cash_out, "")
    approve_cash_out(db, redemption.cash_out)
    build_batch(db, "EUR", debtor=DEBTOR, actor_id=None, execution_date=PAY_ON)
    db.expire_all()
    # Paid, then returned by the bank: the account was closed.
    with app.app_context():
        fail_cash_out(db, db.get(Redemption, redemption.id).cash_out, "account closed")
    db.expire_all()
    assert db.get(Redemption, redemption.id).status == "cancelled"
    assert db.get(Redemption, redemption.id).cash_out.state == CashOutState.FAILED
    assert balance_of(db, person_account(seller.id)) == (0, 100)
    refund = db.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND))
    assert "account closed" in refund.memo
    assert check_balances(db) == []
    assert messages_to(db, seller, "fulfilment_failed") == 1
    with pytest.raises(InvalidInput):
        fail_cash_out(db, db.get(Redemption, redemption.id).cash_out, "again")
    with pytest.raises(InvalidInput):
        approve_cash_out(db, db.get(Redemption, redemption.id).cash_out)


@pytest.mark.postgresql
def test_two_batches_built_at_once_never_pay_a_cash_out_twice(committed_postgres_app):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        partner = make_partner(db, name="Race Payouts")
        person = make_person(db, partner, ["technician"])
        item = cash_reward(db, "10.00", "EUR", "Race cash")
        ids = []
        for n in range(40):
            redemption = cashed(db, person, item, f"race-pay-{person.id}-{n}")
            approve_cash_out(db, redemption.cash_out)
            ids.append(redemption.id)
        db.commit()
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, outcomes = threading.Barrier(2), []

    def build_once():
        with app.app_context(), factory() as session:
            start.wait()
            try:
                batch = build_batch(
                    session, "EUR", debtor=DEBTOR, actor_id=None, execution_date=PAY_ON
                )
                session.commit()
                outcomes.append(batch.count)
            except InvalidInput:
                session.rollback()
                outcomes.append(0)

    threads = [threading.Thread(target=build_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [0, 40]
    with factory() as session:
        paid = session.scalars(select(CashOut.batch_id).where(CashOut.redemption_id.in_(ids))).all()
        assert len(paid) == 40 and len(set(paid)) == 1
        assert (
            session.scalar(select(func.count(PayoutBatch.id)).where(PayoutBatch.id == paid[0])) == 1
        )


def test_a_cash_out_through_the_api_takes_the_iban_and_refuses_a_wrong_one(client, db, world):
    from tests.builders import make_api_token

    seller = world.people[Role.SELLER]
    item = cash_reward(db)
    give(db, seller, 100)
    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    body = {"person_id": seller.id, "reward_id": item.id, "iban": "DE89370400440532013001"}
    refused = client.post("/api/v1/redemptions", headers=headers, json=body)
    assert refused.status_code == 422 and "iban" in str(refused.get_json())
    assert balance_of(db, person_account(seller.id)) == (0, 100)
    body["iban"] = IBANS["DE"]
    made = client.post("/api/v1/redemptions", headers=headers, json=body)
    assert made.status_code == 201
    assert db.get(Redemption, made.get_json()["id"]).cash_out.iban == "DE89370400440532013000"


def test_the_command_pays_a_currency_into_a_file_and_exits_1_when_nothing_waits(
    app, db, world, tmp_path
):
    app.config.update(PAYOUT_DEBTOR_NAME=DEBTOR.name, PAYOUT_DEBTOR_IBAN=DEBTOR.iban)
    redemption = cashed(db, world.people[Role.SELLER], cash_reward(db), "a")
    approve_cash_out(db, redemption.cash_out)
    db.commit()
    out = tmp_path / "sepa.xml"
    result = app.test_cli_runner().invoke(
        args=["fulfilment", "pay", "--currency", "EUR", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 cash-outs, 25.00 EUR" in result.output
    xmlschema.XMLSchema(str(SCHEMA)).validate(out.read_text())
    again = app.test_cli_runner().invoke(
        args=["fulfilment", "pay", "--currency", "EUR", "--out", str(out)]
    )
    assert again.exit_code == 1 and "No approved cash-out in EUR" in again.output


def test_a_cash_out_cancelled_by_hand_is_never_paid_and_a_paid_one_is_not_cancelled(db, world):
    from channel.rewards import cancel_redemption

    seller = world.people[Role.SELLER]
    item = cash_reward(db)
    withdrawn, paid = cashed(db, seller, item, "a"), cashed(db, seller, item, "b")
    for redemption in (withdrawn, paid):
        approve_cash_out(db, redemption.cash_out)
    cancel_redemption(db, withdrawn)
    db.expire_all()
    assert db.get(Redemption, withdrawn.id).cash_out.state == CashOutState.FAILED
    batch = build_batch(db, "EUR", debtor=DEBTOR, actor_id=None, execution_date=PAY_ON)
    assert batch.count == 1 and f"R{paid.id}" in batch.document
    assert f"R{withdrawn.id}<" not in batch.document
    db.expire_all()
    with pytest.raises(RedemptionRefused):
        cancel_redemption(db, db.get(Redemption, paid.id))
    assert balance_of(db, person_account(seller.id)) == (0, 100)
