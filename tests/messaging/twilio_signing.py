"""Requests signed as Twilio signs them, with twilio's own RequestValidator."""

import html
import itertools
import re
import threading

from twilio.request_validator import RequestValidator

AUTH_TOKEN = "webhook-test-auth-token"
LOCAL_BASE = "http://localhost"
_sids = itertools.count(1)


def next_sid(prefix="SM") -> str:
    return f"{prefix}{next(_sids):032d}"


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path, params, *, base=LOCAL_BASE, token=AUTH_TOKEN, headers=None):
    """POST `params` to `path` signed over `base + path`, as Twilio would call it."""
    signed = {"X-Twilio-Signature": signature(base + path, params, token)}
    return client.post(path, data=params, headers={**signed, **(headers or {})})


def twiml_reply(response) -> str:
    """The text of the one <Message> in a TwiML answer ("" when it has none)."""
    body = response.get_data(as_text=True)
    assert body.startswith("<?xml") and "<Response" in body, body
    found = re.findall(r"<Message>(.*?)</Message>", body, re.S)
    assert len(found) <= 1, body
    return html.unescape(found[0]) if found else ""


def post_signed_at_once(app, path, params, *, workers, token=AUTH_TOKEN):
    """`workers` clients POST the same signed `params` at the same moment, as Twilio's
    retries race the first delivery; returns ([(status, TwiML reply)], [failures])."""
    start = threading.Barrier(workers)
    replies, failures = [], []

    def deliver():
        client = app.test_client()
        start.wait()
        try:
            response = post_signed(client, path, params, token=token)
            replies.append((response.status_code, twiml_reply(response)))
        except Exception as error:  # noqa: BLE001 - reported to the caller
            failures.append(repr(error))

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies, failures
