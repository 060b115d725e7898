"""The person hears when a reward they redeemed is delivered or shipped, or failed and was refunded."""

from messaging.compose import notify
from messaging.nudges import link
from roles.models import Person


def _reward_name(redemption, person) -> str:
    return redemption.reward.text_in(person.language)[0]


def on_fulfilment_done(_sender, *, session, redemption, code) -> None:
    person = session.get(Person, redemption.person_id)
    if person is not None and person.active:
        notify(
            session,
            person,
            "gift_card_delivered",
            reward=_reward_name(redemption, person),
            code=code,
            url=link("rewards.catalog"),
        )


def on_goods_shipped(_sender, *, session, redemption, shipment) -> None:
    person = session.get(Person, redemption.person_id)
    if person is not None and person.active:
        notify(
            session,
            person,
            "goods_shipped",
            reward=_reward_name(redemption, person),
            carrier=shipment.carrier,
            tracking=shipment.tracking_number,
        )


def on_fulfilment_failed(_sender, *, session, redemption, reason) -> None:
    person = session.get(Person, redemption.person_id)
    if person is not None and person.active:
        notify(
            session,
            person,
            "fulfilment_failed",
            reward=_reward_name(redemption, person),
            reason=reason,
            points=redemption.points,
        )
