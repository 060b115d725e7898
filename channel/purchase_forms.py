"""Forms of the purchase and rebate pages: uploads, and the period to close."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class UploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a CSV or XLSX file."))])


class ClosePeriodForm(FlaskForm):
    period = StringField(
        _l("Period"),
        validators=[DataRequired(_l("Write the period, e.g. 2026-Q4 or 2026-11.")), Length(max=20)],
    )
