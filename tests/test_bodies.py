"""Request bodies refused before they are parsed: JSON nested beyond any real body."""

import json

from hypothesis import given
from hypothesis import strategies as st

from core.bodies import MAX_JSON_DEPTH, nested_deeper_than
from tests.builders import make_api_token

TEXT = st.text(alphabet='[]{}"\\ax,:\n', max_size=8)


def _nested(depth: int, leaf) -> object:
    value = leaf
    for level in range(depth):
        value = [value, "]"] if level % 2 else {"k[": value, "\\": "{"}
    return value


@given(depth=st.integers(0, 80), leaf=TEXT)
def test_a_body_is_too_deep_exactly_when_it_nests_beyond_the_limit(depth, leaf):
    body = json.dumps(_nested(depth, leaf), ensure_ascii=False).encode()
    assert nested_deeper_than(body) == (depth > MAX_JSON_DEPTH)


def test_brackets_that_never_close_count_as_too_deep():
    assert nested_deeper_than(b"[" * 100_000)
    assert nested_deeper_than(b'{"a":' * 40)


def test_100000_nested_brackets_to_the_api_get_a_400_in_its_error_shape(client, db, world):
    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    response = client.post(
        "/api/v1/claims",
        data="[" * 100_000 + "]" * 100_000,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert "nested more than 32 levels" in error["message"]


def test_a_body_within_the_depth_is_read_and_validated_as_usual(client, db, world):
    _, headers = make_api_token(db, scope="write", partner=world.partner_a)
    db.commit()
    response = client.post("/api/v1/claims", json=_nested(MAX_JSON_DEPTH, 1), headers=headers)
    assert response.status_code == 422
