"""Messages PartnerLift sends in answer to domain events, rendered in the recipient's language."""

from messaging.compose import notify
from roles.signals import person_added, sign_in_code_issued


def send_sign_in_code(_sender, *, session, person, code):
    # The code always goes by SMS: it proves the person holds this phone. Critical: no quiet
    # hours, no cap, first in the queue.
    notify(
        session, person, "sign_in_code", channel="sms", category="critical", priority=10, code=code
    )


def send_welcome(_sender, *, session, person):
    """A new person learns, in their role's words, how they earn and how to answer by SMS."""
    if person.active:
        notify(session, person, "welcome")


def connect_handlers() -> None:
    sign_in_code_issued.connect(send_sign_in_code)
    person_added.connect(send_welcome)
