"""One JSON shape for every API error: `{"error": {"code", "message", "details"}}`."""

from flask import jsonify
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

#: HTTP status -> the stable, machine-readable code clients branch on.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    400: "The request cannot be read.",
    401: "A valid API token is required: send 'Authorization: Bearer <token>'.",
    403: "This token may not do that.",
    404: "There is no such resource.",
    405: "This method is not allowed here.",
    409: "The request conflicts with the current state.",
    413: "The request is too large.",
    415: "Send the body as application/json.",
    422: "The request is not valid.",
    429: "Too many requests for this token; slow down.",
    500: "Something went wrong on our side.",
    503: "The service is briefly unavailable. Nothing was saved; retry in a moment.",
}


class ApiError(HTTPException):
    """An error a view raises with its own code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = status
        self.error_code = code
        self.message = message
        self.details = details or {}


def error_body(status: int, code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error):
    """The JSON answer for an HTTPException (or a bare status) raised under /api/."""
    if isinstance(error, int):
        error = {500: InternalServerError(), 503: ServiceUnavailable()}.get(error, HTTPException())
    status = error.code if isinstance(error, HTTPException) and error.code else 500
    if isinstance(error, ApiError):
        body = error_body(status, error.error_code, error.message, error.details)
    else:
        details = {}
        data = getattr(error, "data", None) or {}
        # webargs (through flask-smorest) puts field errors under "messages", by location.
        messages = data.get("messages") or data.get("errors")
        if messages:
            details["fields"] = messages
        body = error_body(
            status,
            ERROR_CODES.get(status, "error"),
            data.get("message") or MESSAGES.get(status, "The request failed."),
            details,
        )
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="PartnerLift API"'
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
