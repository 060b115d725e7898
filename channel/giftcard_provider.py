"""The gift-card provider's HTTP API, in the shape such providers use.

`POST {base}/orders` with an `Idempotency-Key` and the API key in `X-Api-Key`: the same key
twice answers the same order. `GET {base}/orders/{id}` tells its status; the provider also
calls our webhook, signed by an HMAC-SHA256 of the body with the shared secret.
"""

import hashlib
import hmac
from dataclasses import dataclass

import requests

#: Seconds to wait for the provider: a slow answer is retried later, never waited out.
TIMEOUT = 10


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered an error it may not mean (5xx, 429):
    the order is tried again later with the same idempotency key."""


@dataclass(frozen=True)
class ProviderOrder:
    #: The provider's id of the order.
    id: str
    #: "pending" (still being made), "fulfilled" (the code is in `code`) or "failed".
    status: str
    code: str | None = None
    reason: str | None = None


class GiftCardProvider:
    def __init__(self, base_url: str, api_key: str):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def place(self, *, idempotency_key: str, product: str) -> ProviderOrder:
        """Order one card; a refusal (4xx) comes back as a failed order with the reason."""
        return self._call(
            "POST",
            "/orders",
            json={"product": product, "quantity": 1},
            headers={"Idempotency-Key": idempotency_key},
        )

    def status(self, order_id: str) -> ProviderOrder:
        return self._call("GET", f"/orders/{order_id}")

    def _call(self, method: str, path: str, **kwargs) -> ProviderOrder:
        headers = {"X-Api-Key": self.api_key, **kwargs.pop("headers", {})}
        try:
            response = requests.request(
                method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as error:
            raise ProviderUnavailable(str(error)) from error
        if response.status_code >= 500 or response.status_code in (408, 409, 429):
            raise ProviderUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(f"HTTP {response.status_code}: not JSON") from None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            reason = (_text(error, 10_000) or f"HTTP {response.status_code}")[:500]
            return ProviderOrder(id="", status="failed", reason=reason)
        return parse_order(body)


def _text(value, limit: int) -> str | None:
    """A string the columns can hold (no NUL, which PostgreSQL refuses), else None."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    return text if text and len(text) <= limit and "\x00" not in text else None


def parse_order(body) -> ProviderOrder:
    """An order as the provider describes it (in an answer or a webhook)."""
    if not isinstance(body, dict):
        raise ProviderUnavailable("the provider's answer is not an order")
    order_id = _text(body.get("id"), 100)
    status = body.get("status")
    if order_id is None or status not in ("pending", "fulfilled", "failed"):
        raise ProviderUnavailable("the provider's answer is not an order")
    code = _text(body.get("code"), 200)
    if status == "fulfilled" and code is None:
        raise ProviderUnavailable("the provider delivered no usable code")
    return ProviderOrder(
        id=order_id,
        status=status,
        code=code,
        reason=(_text(body.get("reason"), 10_000) or "")[:500] or None,
    )


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, given: str | None) -> bool:
    return bool(secret) and bool(given) and hmac.compare_digest(signature(secret, body), given)


def provider_from_config(config) -> GiftCardProvider | None:
    """The configured provider, or None when GIFTCARD_PROVIDER_URL is not set."""
    if not config.get("GIFTCARD_PROVIDER_URL"):
        return None
    return GiftCardProvider(
        config["GIFTCARD_PROVIDER_URL"], config.get("GIFTCARD_PROVIDER_KEY") or ""
    )
