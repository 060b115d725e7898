"""Forms of the fulfilment pages (goods, cash-outs) and of the coalition brands' pages.

Plain text fields: the operations check every value and say what is wrong with it.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from channel.forms import LooseIntegerField


class ShipmentsImportForm(FlaskForm):
    file = FileField(_l("Shipment file"))


class FailureForm(FlaskForm):
    reason = TextAreaField(_l("Why it cannot be delivered"))


class CashOutValueForm(FlaskForm):
    amount = StringField(_l("Amount paid"), render_kw={"inputmode": "decimal"})
    currency = StringField(_l("Currency"))


class BatchForm(FlaskForm):
    currency = StringField(_l("Currency"))


class BrandForm(FlaskForm):
    name = StringField(_l("Name"))
    contact = StringField(_l("Contact"))
    currency = StringField(_l("Currency"))
    rate_per_point = StringField(_l("Money per point"), render_kw={"inputmode": "decimal"})
    #: One of `BrandFulfilment`, offered by the page; the operation checks it.
    fulfilment = StringField(_l("Delivers its rewards"))


class BrandRewardForm(FlaskForm):
    reward_id = LooseIntegerField(_l("Reward"))
