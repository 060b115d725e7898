"""What a reward is for people browsing the catalog: its category, chosen by whoever keeps it.

The kind of a reward says how it is fulfilled; its category says what someone gets, and is
what the phone catalog filters by. A new reward without a category takes the usual one for
its kind.
"""

from flask_babel import lazy_gettext as _l

from core.states import State


class RewardCategory(State):
    GIFT_CARDS = "gift_cards", _l("Gift cards")
    GOODS = "goods", _l("Goods")
    EXPERIENCES = "experiences", _l("Experiences")
    HOBBY_AND_BRANDED = "hobby_branded", _l("Hobby and branded goods")
    TRAINING = "training", _l("Training")
    CHARITY_AND_ESG = "charity_esg", _l("Charity and ESG")
    CASHOUT = "cashout", _l("Cash-out")


#: The category a reward of each kind takes when none is chosen (and took in the migration).
CATEGORY_OF_KIND = {
    "gift_card": RewardCategory.GIFT_CARDS,
    "physical": RewardCategory.GOODS,
    "training_seat": RewardCategory.TRAINING,
    "donation": RewardCategory.CHARITY_AND_ESG,
    "cashout": RewardCategory.CASHOUT,
}


def category_or_none(value: str | None) -> RewardCategory | None:
    """The category a filter asks for; None for none or an unknown one (show everything)."""
    try:
        return RewardCategory(value) if value else None
    except ValueError:
        return None
