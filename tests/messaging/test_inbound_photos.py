"""A claim is a photo: a serial plate sent by WhatsApp or MMS is fetched from Twilio (the local
fake, through the twilio library's HTTP client), checked like a web upload and stored as the
claim's proof, once; a photo that cannot be taken is answered and leaves nothing behind."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.claim_models import Claim, ClaimPhoto, ClaimStatus
from channel.uploads import MAX_BYTES
from core.db import get_session
from messaging.models import InboundMessage
from roles.permissions import Role
from tests.builders import build_world, login_as
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.messaging.test_inbound import (
    INBOUND,
    count,
    inbound_params,
    live_install_program,
)
from tests.messaging.twilio_signing import (
    next_sid,
    post_signed,
    post_signed_at_once,
    twiml_reply,
)

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + bytes(2048)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(40)
NOT_FETCHED = "We could not fetch your photo. Send it again."
TOO_LARGE = "The photo is larger than 5 MB. Take it again at a lower resolution."
NOT_A_PHOTO = "Send a photo (JPEG, PNG, WebP, HEIC) or a PDF."


@pytest.fixture
def technician(db, world):
    return world.people[Role.TECHNICIAN]


@pytest.fixture
def install_program(db, world):
    program = live_install_program(db, world)
    db.commit()
    return program


def send_photos(client, sender, body, urls, *, sid=None, channel="whatsapp", types=None):
    """`sender` sends `urls` (with `body`) to us; returns the response."""
    params = inbound_params(sender, body, sid, channel)
    params["NumMedia"] = str(len(urls))
    for n, url in enumerate(urls):
        params[f"MediaUrl{n}"] = url
        params[f"MediaContentType{n}"] = (types or {}).get(n, "image/jpeg")
    return post_signed(client, INBOUND, params, token=AUTH_TOKEN)


def reply_with_photos(client, sender, body, urls, **options) -> str:
    response = send_photos(client, sender, body, urls, **options)
    assert response.status_code == 200, response.get_data(as_text=True)
    return twiml_reply(response)


def stored_files(config) -> list[str]:
    from pathlib import Path

    folder = Path(config["UPLOAD_FOLDER"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def nothing_written(db, config):
    assert count(db, Claim) == 0
    assert count(db, ClaimPhoto) == 0
    assert stored_files(config) == []


# ---------------------------------------------------------------- claims with photos


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_claim_with_a_serial_and_one_photo_is_registered_with_the_photo(
    db, client, media_config, fake, technician, install_program, channel
):
    url = fake.add_media(JPEG)
    answer = reply_with_photos(client, technician, "CLAIM PH-100", [url], channel=channel)
    assert answer == "Install PH-100 is registered. Thank you!"
    (claim,) = db.scalars(select(Claim)).all()
    assert claim.status == ClaimStatus.APPROVED and claim.serial == "PH-100"
    (photo,) = claim.photos
    assert photo.mime_type == "image/jpeg"
    assert stored_files(media_config) == [photo.name]
    (message,) = db.scalars(select(InboundMessage)).all()
    assert message.channel == channel
    assert len(fake.media_fetched) == 1


def test_three_photos_without_a_serial_make_one_install_claim_for_review(
    db, client, media_config, fake, technician, install_program
):
    urls = [fake.add_media(JPEG), fake.add_media(PNG), fake.add_media(JPEG)]
    answer = reply_with_photos(client, technician, "", urls, channel="sms")
    assert answer == "3 photos received. We will read the serial number and let you know."
    (claim,) = db.scalars(select(Claim)).all()
    assert claim.status == ClaimStatus.PENDING and claim.serial is None
    assert claim.kind == "install" and "serial_in_photo" in claim.flags
    assert [(p.position, p.mime_type) for p in claim.photos] == [
        (1, "image/jpeg"),
        (2, "image/png"),
        (3, "image/jpeg"),
    ]
    assert sorted(p.name for p in claim.photos) == stored_files(media_config)


def test_a_photo_alone_is_answered_in_the_senders_language(
    db, client, media_config, fake, technician, install_program
):
    technician.language = "lv"
    db.commit()
    answer = reply_with_photos(client, technician, "", [fake.add_media(JPEG)])
    assert answer == "1 foto saņemts. Nolasīsim sērijas numuru un paziņosim jums."
    technician.language = "fa"
    db.commit()
    urls = [fake.add_media(JPEG), fake.add_media(JPEG), fake.add_media(PNG)]
    answer = reply_with_photos(client, technician, "", urls)
    assert answer.startswith("۳ عکس دریافت شد.")  # the count in the reader's digits


def test_a_caption_that_is_no_command_is_not_taken_for_a_serial(
    db, client, media_config, fake, technician, install_program
):
    reply_with_photos(client, technician, "the boiler room", [fake.add_media(JPEG)])
    (claim,) = db.scalars(select(Claim)).all()
    assert claim.serial is None and claim.status == ClaimStatus.PENDING


# ---------------------------------------------------------------- refused photos


def test_an_oversized_photo_is_refused_unread_and_nothing_is_written(
    db, client, media_config, fake, technician, install_program
):
    big = fake.add_media(JPEG, length=MAX_BYTES + 1)
    answer = reply_with_photos(client, technician, "CLAIM PH-200", [fake.add_media(JPEG), big])
    assert answer == TOO_LARGE
    nothing_written(db, media_config)


def test_a_photo_larger_than_announced_is_refused_as_it_streams(
    db, client, media_config, fake, technician, install_program
):
    chunked = fake.add_media(JPEG + bytes(MAX_BYTES))  # no Content-Length, as when chunked
    assert reply_with_photos(client, technician, "CLAIM PH-201", [chunked]) == TOO_LARGE
    nothing_written(db, media_config)


def test_a_video_is_refused_without_being_fetched(
    db, client, media_config, fake, technician, install_program
):
    url = fake.add_media(b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    answer = reply_with_photos(client, technician, "CLAIM PH-300", [url], types={0: "video/mp4"})
    assert answer == NOT_A_PHOTO
    assert fake.media_fetched == []
    nothing_written(db, media_config)


def test_a_file_that_only_says_it_is_a_photo_is_refused_by_its_bytes(
    db, client, media_config, fake, technician, install_program
):
    urls = [fake.add_media(JPEG), fake.add_media(b"<script>alert(1)</script>")]
    assert reply_with_photos(client, technician, "CLAIM PH-301", urls) == NOT_A_PHOTO
    assert len(fake.media_fetched) == 2
    nothing_written(db, media_config)


def test_a_media_url_that_answers_404_is_answered_and_the_photos_before_it_removed(
    db, client, media_config, fake, technician, install_program
):
    gone = fake.url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME404"
    urls = [fake.add_media(JPEG), gone, fake.add_media(JPEG)]
    assert reply_with_photos(client, technician, "CLAIM PH-400", urls) == NOT_FETCHED
    assert len(fake.media_fetched) == 2  # the third is not asked for
    nothing_written(db, media_config)


def test_a_media_url_that_does_not_answer_in_time_is_answered(
    db, client, media_config, fake, technician, install_program
):
    slow = fake.add_media(JPEG, answer="timeout")
    answer = reply_with_photos(client, technician, "CLAIM PH-500", [slow])
    assert answer == "We could not fetch your photo right now. Send it again later."
    nothing_written(db, media_config)


def test_the_accounts_credentials_go_to_twilio_only(
    db, client, media_config, fake, technician, install_program
):
    with FakeTwilio() as elsewhere:
        url = elsewhere.add_media(JPEG)
        assert reply_with_photos(client, technician, "CLAIM PH-600", [url]) == NOT_FETCHED
        assert elsewhere.media_fetched == [] and elsewhere.received == []
    nothing_written(db, media_config)


def test_a_refused_claim_keeps_none_of_its_photos(
    db, client, media_config, fake, technician, install_program
):
    answer = reply_with_photos(client, technician, "CLAIM " + "X" * 101, [fake.add_media(JPEG)])
    assert answer.startswith("Text CLAIM and the serial number")
    nothing_written(db, media_config)


def test_photos_from_an_unknown_number_are_not_fetched(db, client, media_config, fake):
    answer = reply_with_photos(client, "+37129999999", "CLAIM PH-700", [fake.add_media(JPEG)])
    assert answer.startswith("This number is not registered")
    assert fake.media_fetched == []
    nothing_written(db, media_config)


def test_photos_with_another_command_are_not_fetched(
    db, client, media_config, fake, technician, install_program
):
    answer = reply_with_photos(client, technician, "BAL", [fake.add_media(JPEG)])
    assert answer.startswith("Points:")
    assert fake.media_fetched == []
    nothing_written(db, media_config)


# ---------------------------------------------------------------- once


def test_a_replayed_message_sid_fetches_and_claims_once(
    db, client, media_config, fake, technician, install_program
):
    sid = next_sid()
    urls = [fake.add_media(JPEG), fake.add_media(JPEG), fake.add_media(PNG)]
    first = reply_with_photos(client, technician, "CLAIM PH-800", urls, sid=sid)
    again = reply_with_photos(client, technician, "CLAIM PH-800", urls, sid=sid)
    assert first == again == "Install PH-800 is registered. Thank you!"
    assert len(fake.media_fetched) == 3
    assert count(db, Claim) == 1 and count(db, ClaimPhoto) == 3
    assert len(stored_files(media_config)) == 3


def test_a_replayed_refusal_is_answered_the_same_without_fetching_again(
    db, client, media_config, fake, technician, install_program
):
    sid = next_sid()
    gone = fake.url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME404"
    first = reply_with_photos(client, technician, "CLAIM PH-801", [gone], sid=sid)
    again = reply_with_photos(client, technician, "CLAIM PH-801", [gone], sid=sid)
    assert first == again == NOT_FETCHED
    assert len(fake.media_fetched) == 1
    nothing_written(db, media_config)


WORKERS = 4


def test_the_same_photo_message_delivered_at_once_claims_once_and_keeps_one_set(
    committed_app, tmp_path
):
    """Twilio retries a webhook that has not answered within 15 s: the retry races the first
    delivery, both fetch the photos, one claims them and the other's files are removed."""
    app = committed_app
    with FakeTwilio() as fake:
        with app.test_request_context():
            db = get_session()
            world = build_world(db)
            live_install_program(db, world)
            db.commit()
            technician = world.people[Role.TECHNICIAN]
        params = inbound_params(technician, "CLAIM RACE-PH", channel="whatsapp")
        params.update(
            NumMedia="2",
            MediaUrl0=fake.add_media(JPEG),
            MediaContentType0="image/jpeg",
            MediaUrl1=fake.add_media(PNG),
            MediaContentType1="image/png",
        )
        keys = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL", "UPLOAD_FOLDER")
        saved = {key: app.config.get(key) for key in keys}
        app.config.update(
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_URL=fake.url,
            UPLOAD_FOLDER=str(tmp_path / "race-uploads"),
        )
        try:
            replies, failures = post_signed_at_once(
                app, INBOUND, params, workers=WORKERS, token=AUTH_TOKEN
            )
        finally:
            app.config.update(saved)
    assert failures == []
    assert replies == [(200, "Install RACE-PH is registered. Thank you!")] * WORKERS
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    with factory() as session:
        (claim,) = session.scalars(select(Claim).where(Claim.serial == "RACE-PH")).all()
        names = sorted(p.name for p in claim.photos)
        assert len(names) == 2
        messages = select(func.count(InboundMessage.id)).where(
            InboundMessage.message_sid == params["MessageSid"]
        )
        assert session.scalar(messages) == 1
    assert sorted(p.name for p in (tmp_path / "race-uploads").iterdir()) == names


# ---------------------------------------------------------------- the reviewer reads the plate


def _photo_claim(db, client, fake, technician) -> Claim:
    reply_with_photos(client, technician, "", [fake.add_media(JPEG), fake.add_media(PNG)])
    return db.scalar(select(Claim).order_by(Claim.id.desc()).limit(1))


def test_the_reviewer_sees_the_photos_and_approves_with_the_serial_read_on_them(
    db, client, media_config, fake, world, technician, install_program
):
    claim = _photo_claim(db, client, fake, technician)
    reviewer = world.people[Role.CHANNEL_MANAGER]
    login_as(client, reviewer)
    page = client.get("/claims/review").get_data(as_text=True)
    for url in (f"/claims/{claim.id}/photos/1", f"/claims/{claim.id}/photos/2"):
        assert f'<img src="{url}"' in page
        photo = client.get(url)
        assert photo.status_code == 200
    assert photo.mimetype == "image/png"
    refused = client.post(f"/claims/{claim.id}/approve", data={"serial": ""})
    assert refused.status_code == 302
    db.refresh(claim)
    assert claim.status == ClaimStatus.PENDING and claim.serial is None
    client.post(f"/claims/{claim.id}/approve", data={"serial": " ph-900 "})
    db.refresh(claim)
    assert claim.status == ClaimStatus.APPROVED and claim.serial == "PH-900"


def test_a_serial_read_on_the_photo_that_was_claimed_already_is_not_approved(
    db, client, media_config, fake, world, technician, install_program
):
    reply_with_photos(client, technician, "CLAIM PH-901", [fake.add_media(JPEG)])
    claim = _photo_claim(db, client, fake, technician)
    assert claim.serial is None
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        f"/claims/{claim.id}/approve", data={"serial": "PH-901"}, follow_redirects=True
    )
    assert "This serial number was already claimed." in response.get_data(as_text=True)
    db.refresh(claim)
    assert claim.status == ClaimStatus.PENDING and claim.serial is None


def test_no_transaction_is_open_while_a_photo_downloads(
    db, client, media_config, fake, technician, install_program, monkeypatch
):
    from messaging.inbound_media import TwilioMedia

    fetch, open_while_fetching = TwilioMedia.fetch, []

    def watched(self, url, *args, **kwargs):
        open_while_fetching.append(get_session().in_transaction())
        return fetch(self, url, *args, **kwargs)

    monkeypatch.setattr(TwilioMedia, "fetch", watched)
    urls = [fake.add_media(JPEG), fake.add_media(JPEG)]
    assert reply_with_photos(client, technician, "CLAIM PH-950", urls).startswith("Install PH-950")
    assert open_while_fetching == [False, False]
