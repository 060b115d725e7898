"""The person hears when a reward they redeemed is delivered or shipped, or failed and was refunded."""

from messaging.compose import notify
from messaging.nudges import link
from roles.models import Person


def _tell(session, redemption, kind: str, **context) -> None:
    """`kind` to the person who redeemed, naming the reward in their language."""
    person = session.get(Person, redemption.person_id)
    if person is not None and person.active:
        reward = redemption.reward.text_in(person.language)[0]
        notify(session, person, kind, reward=reward, **context)


def on_fulfilment_done(_sender, *, session, redemption, code) -> None:
    _tell(session, redemption, "gift_card_delivered", code=code, url=link("rewards.catalog"))


def on_goods_shipped(_sender, *, session, redemption, shipment) -> None:
    _tell(
        session,
        redemption,
        "goods_shipped",
        carrier=shipment.carrier,
        tracking=shipment.tracking_number,
    )


def on_fulfilment_failed(_sender, *, session, redemption, reason) -> None:
    _tell(session, redemption, "fulfilment_failed", reason=reason, points=redemption.points)
