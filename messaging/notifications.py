"""Messages PartnerLift sends in answer to domain events, rendered in the recipient's language."""

from flask import render_template
from flask_babel import force_locale

from messaging.outbox import enqueue
from roles.signals import sign_in_code_issued


def render_message(kind: str, language: str, **context) -> str:
    with force_locale(language):
        return render_template(f"messaging/{kind}/sms.txt", **context).strip()


def send_sign_in_code(_sender, *, session, person, code):
    # The code always goes by SMS: it proves the person holds this phone.
    enqueue(
        session,
        person_id=person.id,
        channel="sms",
        recipient=person.phone,
        kind="sign_in_code",
        body=render_message("sign_in_code", person.language, code=code, person=person),
        priority=10,  # critical: jumps the queue
        category="critical",
    )


def connect_handlers() -> None:
    sign_in_code_issued.connect(send_sign_in_code)
