"""Assembles the API: its OpenAPI document, generated from the code, and its docs page."""

from flask import Blueprint, Flask, current_app, render_template
from flask_smorest import Api

from channel.api import reads, writes  # noqa: F401  (they add their routes to the blueprint)
from channel.api.blueprint import bp
from channel.api.schemas import ErrorSchema

SPEC_DEFAULTS = {
    "API_TITLE": "PartnerLift API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

SPEC_DESCRIPTION = (
    "Authenticate with `Authorization: Bearer <token>`; an admin makes tokens (read or "
    "write, for the manufacturer or one partner) under Admin, API tokens. Lists take "
    "`page` and `per_page` (at most 100) and answer `{items, page, per_page, total}`. "
    "Writes take an `Idempotency-Key` header: the same key and body again give the first "
    'answer, with nothing written twice. Every error is `{"error": {"code", "message", '
    '"details"}}`.'
)


class PartnerLiftApi(Api):
    """flask-smorest with PartnerLift's error shape, answered by the blueprint's own handlers."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Its handler would take over every HTTP error in the app, HTML pages included.
        pass


docs = Blueprint("api_reference", __name__)


@docs.get("/api/v1/docs")
def reference():
    """The API's operations as a page, read from the same generated document."""
    spec = current_app.extensions["partnerlift.api"].spec.to_dict()
    operations = [
        (method.upper(), path, operation, _body_fields(spec, operation))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    return render_template("api/reference.html", spec=spec, operations=operations)


def _body_fields(spec: dict, operation: dict) -> list[tuple[str, str, bool]]:
    """(name, type, required) of each field of an operation's JSON body."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    schema = spec["components"]["schemas"].get(ref.rpartition("/")[2], {})
    required = set(schema.get("required", ()))
    return [
        (
            name,
            prop.get("type") or prop.get("$ref", "").rpartition("/")[2] or "object",
            name in required,
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def register_api(app: Flask) -> None:
    for name, value in SPEC_DEFAULTS.items():
        app.config.setdefault(name, value)
    api = PartnerLiftApi(
        app,
        spec_kwargs={
            "info": {"description": SPEC_DESCRIPTION},
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token."}
    )
    api.register_blueprint(bp)
    app.register_blueprint(docs)
    app.extensions["partnerlift.api"] = api
