"""A sale is a photo too: a seller texts `SALE <invoice> <product> <quantity>` (in their own
words), sends a photo of the invoice (or a PDF) by WhatsApp or MMS, or both. The photos are
fetched from the fake Twilio like an install's plate and stored once as the sale's proof;
what the text does not say, a reviewer reads on them. A refused photo leaves nothing behind."""

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from channel.claim_models import Claim, ClaimPhoto, ClaimStatus
from channel.postings import balance_of, person_account
from channel.programs import launch_program
from channel.uploads import MAX_BYTES
from core.db import get_session
from messaging.commands import LOCAL_WORDS, SALE, parse
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    login_as,
    make_group,
    make_person,
    make_product,
    make_program,
    offer,
)
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.messaging.test_inbound import INBOUND, count, inbound_params, reply_to
from tests.messaging.test_inbound_photos import (
    JPEG,
    NOT_A_PHOTO,
    NOT_FETCHED,
    PNG,
    TOO_LARGE,
    nothing_written,
    reply_with_photos,
    stored_files,
)
from tests.messaging.twilio_signing import next_sid, post_signed, twiml_reply

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
LATER = "We could not fetch your photo right now. Send it again later."


def live_sale_program(db, world):
    """A live program paying 10 points a unit sold (HP-9, BX-24) to partner A's sellers."""
    group = make_group(db, "heatpumps", points=10)
    make_product(db, group, "HP-9")
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a])
    add_scheme(
        db,
        program,
        ["seller"],
        ("unit_sold", {"product_group": "heatpumps", "points_per_unit": 10}),
    )
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


@pytest.fixture
def seller(db, world):
    return world.people[Role.SELLER]


@pytest.fixture
def sale_program(db, world):
    program = live_sale_program(db, world)
    db.commit()
    return program


def points_of(db, person) -> int:
    pending, available = balance_of(db, person_account(person.id))
    return pending + available


def the_claim(db) -> Claim:
    (claim,) = db.scalars(select(Claim)).all()
    return claim


# ---------------------------------------------------------------- sales with photos


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_a_sale_texted_with_an_invoice_photo_is_registered_with_it(
    db, client, media_config, fake, seller, sale_program, channel
):
    url = fake.add_media(JPEG)
    answer = reply_with_photos(client, seller, "SALE inv-77 hp-9 2", [url], channel=channel)
    assert answer == "Sale on invoice INV-77 is registered. Thank you!"
    claim = the_claim(db)
    assert (claim.kind, claim.status, claim.invoice_number) == ("sale", "approved", "INV-77")
    assert [(line.sku, line.quantity) for line in claim.lines] == [("HP-9", 2)]
    (photo,) = claim.photos
    assert stored_files(media_config) == [photo.name]
    assert points_of(db, seller) == 20


def test_three_invoice_photos_alone_from_a_seller_wait_for_review(
    db, client, media_config, fake, seller, sale_program
):
    urls = [fake.add_media(JPEG), fake.add_media(PNG), fake.add_media(JPEG)]
    answer = reply_with_photos(client, seller, "", urls)
    assert answer == "3 invoice photos received. We will read the invoice and let you know."
    claim = the_claim(db)
    assert (claim.kind, claim.status, claim.invoice_number, claim.lines) == (
        "sale",
        ClaimStatus.PENDING,
        None,
        [],
    )
    assert claim.flags == ["invoice_in_photo"]
    assert [(p.position, p.mime_type) for p in claim.photos] == [
        (1, "image/jpeg"),
        (2, "image/png"),
        (3, "image/jpeg"),
    ]
    assert sorted(p.name for p in claim.photos) == stored_files(media_config)
    assert points_of(db, seller) == 0


def test_a_sale_with_only_its_invoice_number_keeps_it_and_waits_for_the_products(
    db, client, media_config, fake, seller, sale_program
):
    answer = reply_with_photos(client, seller, "SALE INV-78", [fake.add_media(JPEG)])
    assert answer == "Invoice photo received. We will read the invoice and let you know."
    claim = the_claim(db)
    assert (claim.invoice_number, claim.status, claim.flags) == (
        "INV-78",
        "pending",
        ["invoice_in_photo"],
    )


def test_a_pdf_invoice_is_taken_as_web_uploads_take_it(
    db, client, media_config, fake, seller, sale_program
):
    url = fake.add_media(PDF, "application/pdf")
    answer = reply_with_photos(
        client, seller, "SALE INV-79 BX-24", [url], types={0: "application/pdf"}
    )
    assert answer == "Sale on invoice INV-79 is registered. Thank you!"
    (photo,) = the_claim(db).photos
    assert photo.mime_type == "application/pdf"


@pytest.mark.parametrize(
    ("language", "body", "answer"),
    [
        ("lv", "", "1 rēķina foto saņemts. Nolasīsim rēķinu un paziņosim jums."),
        ("ru", "ПРОДАЖА inv-80 hp-9 1", "Продажа по счёту INV-80 зарегистрирована. Спасибо!"),
        ("pl", "sprzedaz INV-81 HP-9 x3", "Sprzedaż z faktury INV-81 zarejestrowana. Dziękujemy!"),
    ],
)
def test_a_sale_is_answered_in_the_sellers_language(
    db, client, media_config, fake, seller, sale_program, language, body, answer
):
    seller.language = language
    db.commit()
    assert reply_with_photos(client, seller, body, [fake.add_media(JPEG)]) == answer


def test_persian_digits_in_a_sale_and_the_count_of_photos_in_the_readers_digits(
    db, client, media_config, fake, seller, sale_program
):
    seller.language = "fa"
    db.commit()
    answer = reply_with_photos(client, seller, "فروش ۱۲۳ HP-9 ۲", [fake.add_media(JPEG)])
    assert "123" in answer
    claim = db.scalar(select(Claim).order_by(Claim.id.desc()).limit(1))
    assert [(line.sku, line.quantity) for line in claim.lines] == [("HP-9", 2)]
    urls = [fake.add_media(JPEG), fake.add_media(JPEG)]
    assert reply_with_photos(client, seller, "", urls).startswith("۲ ")


def test_a_technicians_photo_alone_is_still_an_install(
    db, client, media_config, fake, world, sale_program
):
    reply_with_photos(client, world.people[Role.TECHNICIAN], "", [fake.add_media(JPEG)])
    assert the_claim(db).kind == "install"


def test_a_typed_product_that_is_unknown_refuses_the_sale_and_keeps_no_photo(
    db, client, media_config, fake, seller, sale_program
):
    answer = reply_with_photos(client, seller, "SALE INV-82 NOPE-1 2", [fake.add_media(JPEG)])
    assert answer == "Unknown product: NOPE-1."
    nothing_written(db, media_config)


# ---------------------------------------------------------------- refused photos


def test_an_oversized_invoice_photo_is_refused_and_nothing_is_written(
    db, client, media_config, fake, seller, sale_program
):
    big = fake.add_media(JPEG, length=MAX_BYTES + 1)
    answer = reply_with_photos(client, seller, "SALE INV-83 HP-9 1", [fake.add_media(JPEG), big])
    assert answer == TOO_LARGE
    nothing_written(db, media_config)


@pytest.mark.parametrize(
    ("data", "announced"),
    [(b"\x00\x00\x00\x18ftypmp42", "video/mp4"), (b"<html>an invoice</html>", "image/jpeg")],
)
def test_an_invoice_that_is_no_photo_nor_pdf_is_refused(
    db, client, media_config, fake, seller, sale_program, data, announced
):
    urls = [fake.add_media(JPEG), fake.add_media(data, announced)]
    answer = reply_with_photos(client, seller, "", urls, types={1: announced})
    assert answer == NOT_A_PHOTO
    nothing_written(db, media_config)


def test_an_invoice_url_that_answers_404_is_answered_and_nothing_is_written(
    db, client, media_config, fake, seller, sale_program
):
    gone = fake.url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME404"
    urls = [fake.add_media(JPEG), gone, fake.add_media(JPEG)]
    assert reply_with_photos(client, seller, "SALE INV-84 HP-9 1", urls) == NOT_FETCHED
    nothing_written(db, media_config)


def test_a_replayed_sale_message_fetches_and_claims_once(
    db, client, media_config, fake, seller, sale_program
):
    sid = next_sid()
    urls = [fake.add_media(JPEG), fake.add_media(PDF, "application/pdf"), fake.add_media(PNG)]
    types = {1: "application/pdf"}
    first = reply_with_photos(client, seller, "SALE INV-85 HP-9 1", urls, sid=sid, types=types)
    again = reply_with_photos(client, seller, "SALE INV-85 HP-9 1", urls, sid=sid, types=types)
    assert first == again == "Sale on invoice INV-85 is registered. Thank you!"
    assert len(fake.media_fetched) == 3
    assert count(db, Claim) == 1 and count(db, ClaimPhoto) == 3
    assert len(stored_files(media_config)) == 3
    assert points_of(db, seller) == 10


# ---------------------------------------------------------------- without photos


def test_a_sale_texted_without_a_photo_needs_its_invoice_and_products(
    db, client, twilio_config, seller, sale_program
):
    answer = reply_to(client, seller, "SALE INV-86")
    assert answer.startswith("Text SALE, the invoice number, then each product")
    assert count(db, Claim) == 0
    answer = reply_to(client, seller, "SALE INV-86 HP-9 2, BX-24")
    assert answer == "Sale on invoice INV-86 is registered. Thank you!"
    claim = the_claim(db)
    assert [(line.sku, line.quantity) for line in claim.lines] == [("HP-9", 2), ("BX-24", 1)]
    assert claim.photos == []


def test_the_same_invoice_line_texted_again_waits_for_review(
    db, client, twilio_config, seller, sale_program
):
    reply_to(client, seller, "SALE INV-87 HP-9 1")
    answer = reply_to(client, seller, "SALE inv-87 HP-9 1")
    assert answer == (
        "Sale on invoice INV-87 will be reviewed: this invoice line was already claimed."
    )


@pytest.mark.parametrize("language", sorted(LOCAL_WORDS))
def test_a_sellers_help_teaches_the_sale_word_of_their_language(
    db, client, twilio_config, world, language
):
    person = make_person(db, world.partner_a, ["seller"], language=language)
    db.commit()
    words = reply_to(client, person, LOCAL_WORDS[language]["HELP"][0]).split()
    assert LOCAL_WORDS[language][SALE][0] in words
    assert SALE in {parse(word).name for word in words}


# ---------------------------------------------------------------- the reviewer reads the invoice


def test_the_reviewer_reads_the_invoice_on_the_photo_and_the_sale_earns(
    db, client, media_config, fake, world, seller, sale_program
):
    reply_with_photos(client, seller, "", [fake.add_media(JPEG), fake.add_media(PNG)])
    claim = the_claim(db)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/claims/review").get_data(as_text=True)
    assert f'<img src="/claims/{claim.id}/photos/2"' in page
    assert 'name="invoice_number"' in page and 'name="lines"' in page
    refused = client.post(
        f"/claims/{claim.id}/approve", data={"invoice_number": "INV-88"}, follow_redirects=True
    )
    assert "Read the products and quantities on the invoice" in refused.get_data(as_text=True)
    db.refresh(claim)
    assert (claim.status, claim.invoice_number, claim.lines) == ("pending", None, [])
    client.post(
        f"/claims/{claim.id}/approve", data={"invoice_number": " inv-88 ", "lines": "hp-9 ×3"}
    )
    db.refresh(claim)
    assert (claim.status, claim.invoice_number) == ("approved", "INV-88")
    assert [(line.sku, line.quantity) for line in claim.lines] == [("HP-9", 3)]
    assert points_of(db, seller) == 30


def test_an_invoice_line_read_on_the_photo_that_was_claimed_already_is_not_approved(
    db, client, media_config, fake, world, seller, sale_program
):
    reply_with_photos(client, seller, "SALE INV-89 HP-9 1", [])
    reply_with_photos(client, seller, "SALE INV-89", [fake.add_media(JPEG)])
    claim = db.scalar(select(Claim).order_by(Claim.id.desc()).limit(1))
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        f"/claims/{claim.id}/approve", data={"lines": "HP-9 1"}, follow_redirects=True
    )
    assert "This invoice line was already claimed." in response.get_data(as_text=True)
    db.refresh(claim)
    assert (claim.status, claim.lines) == ("pending", [])


# ---------------------------------------------------------------- Twilio's 15 seconds


def test_photos_that_together_take_longer_than_the_budget_are_refused_in_time(
    db, client, media_config, fake, seller, sale_program
):
    """Each photo answers within the per-request timeout, but three of them do not fit the
    message's budget: the webhook answers once the budget is spent and writes nothing."""
    fake.delay = 1.0
    media_config.update(TWILIO_TIMEOUT_SECONDS=2.0, TWILIO_MEDIA_SECONDS=0.5)
    urls = [fake.add_media(JPEG, answer="timeout") for _ in range(3)]
    started = time.monotonic()
    answer = reply_with_photos(client, seller, "SALE INV-90 HP-9 1", urls)
    # Waiting for the photos would take 3 s at least; the budget answers long before.
    assert time.monotonic() - started < 2.5
    assert answer == LATER
    nothing_written(db, media_config)


def test_a_photo_that_trickles_in_is_given_up_when_the_budget_is_spent(
    db, client, media_config, fake, seller, sale_program
):
    """Every piece arrives well within the read timeout, so no timeout per request fires: only
    the budget for the whole message can stop the download (it would take 1.6 s whole)."""
    fake.delay, fake.drip_bytes = 0.05, 64
    media_config.update(TWILIO_TIMEOUT_SECONDS=1.0, TWILIO_MEDIA_SECONDS=0.4)
    url = fake.add_media(JPEG, answer="drip")  # 2068 bytes: 32 pieces after the first
    answer = reply_with_photos(client, seller, "SALE INV-91 HP-9 1", [url])
    assert answer == LATER
    nothing_written(db, media_config)


def test_slow_photos_within_the_budget_are_all_taken(
    db, client, media_config, fake, seller, sale_program
):
    fake.delay = 0.1
    media_config.update(TWILIO_TIMEOUT_SECONDS=1.0, TWILIO_MEDIA_SECONDS=2.0)
    urls = [fake.add_media(JPEG, answer="timeout") for _ in range(3)]
    answer = reply_with_photos(client, seller, "SALE INV-92 HP-9 1", urls)
    assert answer == "Sale on invoice INV-92 is registered. Thank you!"
    assert len(the_claim(db).photos) == 3


def test_a_message_refused_for_time_is_answered_the_same_when_replayed(
    db, client, media_config, fake, seller, sale_program
):
    fake.delay = 0.3
    media_config.update(TWILIO_TIMEOUT_SECONDS=1.0, TWILIO_MEDIA_SECONDS=0.2)
    sid, url = next_sid(), fake.add_media(JPEG, answer="timeout")
    assert reply_with_photos(client, seller, "SALE INV-93 HP-9 1", [url], sid=sid) == LATER
    assert reply_with_photos(client, seller, "SALE INV-93 HP-9 1", [url], sid=sid) == LATER
    assert len(fake.media_fetched) == 1
    nothing_written(db, media_config)


# ---------------------------------------------------------------- at once


WORKERS = 4


def post_each_at_once(app, params_list):
    """Each of `params_list` POSTed signed by its own client at the same moment."""
    start, replies, failures = threading.Barrier(len(params_list)), [], []

    def deliver(params):
        client = app.test_client()
        start.wait()
        try:
            replies.append(twiml_reply(post_signed(client, INBOUND, params, token=AUTH_TOKEN)))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=deliver, args=(p,)) for p in params_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies, failures


@pytest.mark.postgresql
def test_the_same_invoice_line_sent_at_once_in_several_messages_is_approved_once(
    committed_postgres_app, tmp_path
):
    """Messages (each its own MessageSid, each with its photo) claim one invoice line at the
    same moment: the claim's keys are locked, so one is approved and the others wait for
    review as duplicates, each with its own photo."""
    app = committed_postgres_app
    with FakeTwilio() as fake:
        with app.test_request_context():
            db = get_session()
            world = build_world(db)
            live_sale_program(db, world)
            db.commit()
            seller = world.people[Role.SELLER]
        keys = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL", "UPLOAD_FOLDER")
        saved = {key: app.config.get(key) for key in keys}
        app.config.update(
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_URL=fake.url,
            UPLOAD_FOLDER=str(tmp_path / "race-invoices"),
        )
        messages = []
        for _ in range(WORKERS):
            params = inbound_params(seller, "SALE RACE-INV HP-9 1", channel="whatsapp")
            params.update(NumMedia="1", MediaUrl0=fake.add_media(JPEG))
            params["MediaContentType0"] = "image/jpeg"
            messages.append(params)
        try:
            replies, failures = post_each_at_once(app, messages)
        finally:
            app.config.update(saved)
    assert failures == []
    assert sorted(replies) == [
        "Sale on invoice RACE-INV is registered. Thank you!",
        *["Sale on invoice RACE-INV will be reviewed: this invoice line was already claimed."]
        * (WORKERS - 1),
    ]
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    with factory() as session:
        claims = session.scalars(select(Claim).where(Claim.invoice_number == "RACE-INV")).all()
        assert sorted(claim.status for claim in claims) == ["approved"] + ["pending"] * (
            WORKERS - 1
        )
        names = sorted(photo.name for claim in claims for photo in claim.photos)
        assert len(names) == WORKERS
    assert sorted(p.name for p in (tmp_path / "race-invoices").iterdir()) == names
