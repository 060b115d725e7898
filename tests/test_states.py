"""States as StrEnums with their words, and the CHECK constraint that keeps a column to them."""

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert
from sqlalchemy.exc import IntegrityError

from core.states import State, one_of


class Light(State):
    GREEN = "green", _l("Approved")
    RED = "red"


def test_a_state_is_its_stored_text():
    assert Light.GREEN == "green"
    assert Light("red") is Light.RED
    assert f"{Light.GREEN}" == "green"
    assert list(Light) == ["green", "red"]


def test_a_state_says_its_words_in_the_readers_language(app):
    with app.test_request_context(), force_locale("pl"):
        assert Light.GREEN.label not in ("green", "Approved")
    with app.test_request_context(), force_locale("en"):
        assert Light.GREEN.label == "Approved"
        assert Light.RED.label == "red"
        assert Light.label_of("green") == "Approved"
        assert Light.label_of("retired long ago") == "retired long ago"


def test_the_database_refuses_a_value_outside_the_state():
    table = Table("lights", MetaData(), Column("colour", String(8)), one_of("colour", Light))
    assert table.constraints and one_of("colour", Light).name == "colour"
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(colour=Light.GREEN))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(table).values(colour="blue"))
