"""Messages PartnerLift sends in answer to domain events, rendered in the recipient's language."""

from functools import wraps

from flask import has_app_context

from channel.signals import (
    claim_decided,
    fulfilment_done,
    fulfilment_failed,
    goods_shipped,
    points_earned,
    program_decided,
    program_offered,
    sales_imported,
    tier_changed,
    welcome_due,
)
from messaging import fulfilment_notices, triggers
from messaging.compose import notify
from messaging.models import MessageCategory, MessageChannel
from messaging.nudges import link
from messaging.surveys import triggers as survey_triggers
from roles.signals import person_added, sign_in_code_issued


def send_sign_in_code(_sender, *, session, person, code, link_token=None):
    # The code always goes by SMS: it proves the person holds this phone. Critical: no quiet
    # hours, no cap, first in the queue.
    sign_in = link("roles.sign_in_link", token=link_token) if link_token else None
    notify(
        session,
        person,
        "sign_in_code",
        channel=MessageChannel.SMS,
        category=MessageCategory.CRITICAL,
        priority=10,
        code=code,
        link=sign_in,
    )


def send_welcome(_sender, *, session, person):
    """A new person learns, in their role's words, how they earn and how to answer by SMS."""
    if person.active:
        notify(session, person, "welcome")


def _within_app(handler):
    """Trigger messages need the app (templates, settings, links): requests and `flask`
    commands always have it; an operation called as a plain library function writes none."""

    @wraps(handler)
    def wrapped(sender, **event):
        if has_app_context():
            handler(sender, **event)

    return wrapped


_TRIGGER_HANDLERS = (
    (points_earned, _within_app(triggers.on_points_earned)),
    (claim_decided, _within_app(triggers.on_claim_decided)),
    (program_offered, _within_app(triggers.on_program_offered)),
    (program_decided, _within_app(triggers.on_program_decided)),
    (welcome_due, _within_app(triggers.on_welcome_due)),
    (tier_changed, _within_app(triggers.on_tier_changed)),
    (sales_imported, _within_app(triggers.on_sales_imported)),
    (fulfilment_done, _within_app(fulfilment_notices.on_fulfilment_done)),
    (fulfilment_failed, _within_app(fulfilment_notices.on_fulfilment_failed)),
    (goods_shipped, _within_app(fulfilment_notices.on_goods_shipped)),
    *((signal, _within_app(handler)) for signal, handler in survey_triggers.HANDLERS),
)


def connect_handlers() -> None:
    sign_in_code_issued.connect(send_sign_in_code)
    person_added.connect(send_welcome)
    for signal, handler in _TRIGGER_HANDLERS:
        signal.connect(handler)
