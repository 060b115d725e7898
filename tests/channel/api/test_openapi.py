"""Schemathesis against the generated OpenAPI document: no 5xx, every answer as documented.

Each operation gets a few dozen derandomized examples (valid ones and invalid ones) with a
manufacturer's write token, in process through WSGI, so the run stays short and repeatable.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from channel.purchase_import import import_serials
from channel.rewards import Reward
from core.extensions import limiter
from roles.permissions import Role
from tests.builders import (
    give_points,
    make_api_token,
    make_group,
    make_product,
    make_program,
    offered,
    utc_today,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 15}


@pytest.fixture
def known(db, world):
    """A little of everything for the API to find: ids generated cases may point at."""
    make_product(db, make_group(db, "boilers"), "BX-24")
    program = make_program(db, partners=[world.partner_a])
    seller = world.people[Role.SELLER]
    give_points(db, seller, 500)
    reward = offered(Reward(kind="physical", name="Torch", points_price=10, stock=3))
    db.add(reward)
    row = {"serial": "SN-1", "sku": "BX-24", "partner": world.partner_a.legal_id, "date": ""}
    import_serials(db, [(1, {**row, "date": str(utc_today())})], today=utc_today())
    db.commit()
    return {
        "person_id": seller.id,
        "reward_id": reward.id,
        "/partners/": world.partner_a.id,
        "/people/": seller.id,
        "/programs/": program.id,
        "/balances/": seller.id,
        "/serials/": "SN-1",
    }


@pytest.fixture
def headers(db, world):
    """A manufacturer's write token, which reaches every partner."""
    _, headers = make_api_token(db, scope="write")
    db.commit()
    return headers


def _pointing_at(known):
    """Half the cases name objects that exist, so they get past 404 to the real work."""

    def point(drawn):
        case, use_known = drawn
        if not use_known:
            return case
        for prefix in ("/partners/", "/people/", "/programs/", "/balances/", "/serials/"):
            if case.path.startswith("/api/v1" + prefix) and case.path_parameters:
                name = next(iter(case.path_parameters))
                case.path_parameters = {name: known[prefix]}
        if isinstance(case.body, dict):
            for name in ("person_id", "reward_id"):
                if name in case.body:
                    case.body = {**case.body, name: known[name]}
        return case

    return point


def _fuzz(operation, mode, known, headers) -> set[int]:
    """Call `operation` with generated cases, checking each answer; the statuses seen."""
    seen = set()

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.tuples(operation.as_strategy(generation_mode=mode), st.booleans()).map(
            _pointing_at(known)
        )
    )
    def call(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen.add(response.status_code)

    call()
    return seen


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_the_api_keeps_to_its_openapi_document(app, known, headers, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16

    statuses: dict[str, set[int]] = {}
    for operation in operations:
        limiter.reset()
        statuses[operation.label] = _fuzz(operation, mode, known, headers)

    if mode == GenerationMode.POSITIVE:
        assert not any(401 in seen for seen in statuses.values()), statuses
        # Valid requests get through: every list answers, every write reaches its operation
        # (which may still refuse, say, a claim dated in the year 9999).
        for label, seen in statuses.items():
            if label.startswith("POST"):
                assert {200, 201, 422} & seen, (label, seen)
            elif "{" not in label:
                assert 200 in seen, (label, seen)
        # A serial that exists is found, as it is documented.
        assert 200 in statuses["GET /api/v1/serials/{serial}"], statuses
