"""The load test's simulated users, as a locustfile: field staff, inbound SMS, survey answers
by SMS, managers on dashboards, API sales imports and a /healthz probe, all in one run.

bench/load_test.py starts locust on this file with LOAD_TEST_PLAN naming a JSON file of the
seeded people, products and token; every sample is also written to LOAD_TEST_SAMPLES (one
line each: seconds since the start, name, milliseconds, failed) for its exact percentiles,
and each kind of failure with its count next to it (.failures.json).
"""

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, constant_throughput, events, task
from twilio.request_validator import RequestValidator

PLAN = json.loads(Path(os.environ["LOAD_TEST_PLAN"]).read_text())
SAMPLES = Path(os.environ["LOAD_TEST_SAMPLES"])
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Lines in one API sales import, as an integration posts a day's invoices in batches.
LINES_PER_IMPORT = 20

_field_staff = itertools.cycle(PLAN["field_staff"])
_partner_managers = itertools.cycle(PLAN["partner_managers"])
#: The phones asked the survey's first question; each is taken by one respondent only.
_respondents = iter(PLAN["respondents"])
_random = random.Random(PLAN["seed"])
_samples: list[tuple[float, str, float, int]] = []
_failures: Counter = Counter()
_measuring = {"from": None}
#: Seconds after the last user started before samples count: sign-ins, the ramp and each
#: worker's first requests are not part of the figures, only the steady load is.
WARMUP = float(os.environ.get("LOAD_TEST_WARMUP", "10"))


@events.spawning_complete.add_listener
def _start_measuring(user_count, **_kwargs):
    _measuring["from"] = time.monotonic() + WARMUP


@events.request.add_listener
def _record(name, response_time, exception, **_kwargs):
    start = _measuring["from"]
    if start is not None and time.monotonic() >= start:
        _samples.append((time.monotonic() - start, name, response_time, int(exception is not None)))
        if exception is not None:
            _failures[(name, str(exception)[:200])] += 1


@events.test_stop.add_listener
def _write_samples(**_kwargs):
    with SAMPLES.open("w") as out:
        for at, name, ms, failed in _samples:
            out.write(f"{at:.3f}\t{name}\t{ms:.3f}\t{failed}\n")
    failures = [{"name": n, "error": e, "count": c} for (n, e), c in _failures.most_common()]
    SAMPLES.with_suffix(".failures.json").write_text(json.dumps(failures))


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _csrf(response) -> str | None:
    found = CSRF_TOKEN.search(response.text or "")
    return found.group(1) if found else None


class FieldStaff(FastHttpUser):
    """A seller, engineer or technician on a phone: home with the balance, their claims,
    and now and then a claim (an install by serial, a sale by invoice)."""

    weight = 10
    wait_time = between(1, 4)

    def on_start(self):
        self.person = next(_field_staff)
        page = self.client.get("/sign-in", name="field: GET /sign-in")
        form = {
            "csrf_token": _csrf(page) or "",
            "email": self.person["email"],
            "password": PLAN["password"],
        }
        with self.client.post(
            "/sign-in",
            data=urlencode(form),
            headers=FORM,
            name="field: POST /sign-in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")

    @task(5)
    def home(self):
        with self.client.get("/me", name="field: GET /me", catch_response=True) as response:
            if response.status_code == 200 and "data-balance" not in response.text:
                response.failure("no balance on /me")

    @task(2)
    def my_claims(self):
        self.client.get("/claims/mine", name="field: GET /claims/mine")

    @task(2)
    def claim(self):
        kind = self.person["claims"]
        page = self.client.get(f"/claims/new/{kind}", name=f"field: GET /claims/new/{kind}")
        token = _csrf(page)
        if token is None:
            return
        form = {"csrf_token": token, "occurred_on": _today(), "site": "Load test site"}
        if kind == "install":
            form["serial"] = "LT" + uuid.uuid4().hex[:16].upper()
        else:
            form["invoice_number"] = "LT-" + uuid.uuid4().hex[:12].upper()
            form["sku-0"] = _random.choice(PLAN["skus"])
            form["qty-0"] = str(_random.randint(1, 3))
        with self.client.post(
            f"/claims/new/{kind}",
            data=urlencode(form),
            headers=FORM,
            name=f"field: POST /claims/new/{kind}",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "/claims/mine" not in response.headers.get(
                "Location", ""
            ):
                response.failure(f"claim answered {response.status_code}")


class InboundSms(FastHttpUser):
    """Twilio delivering texts from field staff: BAL mostly, sometimes HELP; each signed
    as Twilio signs it and with a MessageSid of its own."""

    weight = 4
    wait_time = between(1, 4)
    path = "/messaging/twilio/inbound"

    def on_start(self):
        self.validator = RequestValidator(PLAN["twilio_auth_token"])
        self.url = PLAN["public_url"].rstrip("/") + self.path

    @task
    def text(self):
        body = _random.choice(("BAL", "BAL", "BAL", "HELP"))
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": _random.choice(PLAN["phones"]),
            "To": "+37120000000",
            "Body": body,
            "NumMedia": "0",
        }
        headers = {**FORM, "X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
        with self.client.post(
            self.path,
            data=urlencode(params),
            headers=headers,
            name=f"sms: POST inbound {body}",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and "<Message>" not in response.text:
                response.failure("no reply in the TwiML")


class SurveyRespondent(FastHttpUser):
    """Twilio delivering a person's answers to the survey the run opened by SMS: each answer
    signed as Twilio signs it, with a MessageSid of its own, the next question (or thanks)
    expected in the TwiML reply; a person answers every question, then the next one starts.
    A fixed number of these send at a fixed rate in all (bench/load_test.py
    --answers-per-minute)."""

    fixed_count = PLAN["answer_users"]
    wait_time = constant_throughput(PLAN["answers_per_user_second"])
    path = "/messaging/twilio/inbound"

    def on_start(self):
        self.validator = RequestValidator(PLAN["twilio_auth_token"])
        self.url = PLAN["public_url"].rstrip("/") + self.path
        self.phone, self.step = None, 0

    @task
    def answer(self):
        if self.step == 0:
            self.phone = next(_respondents, None)
            if self.phone is None:
                raise RuntimeError("every respondent has answered: open the survey to more")
        answers, questions = PLAN["survey_answers"], PLAN["survey_questions"]
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": self.phone,
            "To": "+37120000000",
            "Body": answers[self.step],
            "NumMedia": "0",
        }
        self.step = (self.step + 1) % len(answers)
        expected = questions[self.step] if self.step else "Thank you for your answers!"
        headers = {**FORM, "X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
        with self.client.post(
            self.path,
            data=urlencode(params),
            headers=headers,
            name="sms: POST inbound survey answer",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and expected not in (response.text or ""):
                response.failure(f"no {expected!r} in the TwiML")


class _Manager(FastHttpUser):
    abstract = True
    wait_time = between(5, 15)

    def sign_in(self, email: str, name: str):
        page = self.client.get("/sign-in", name=f"{name}: GET /sign-in")
        form = {"csrf_token": _csrf(page) or "", "email": email, "password": PLAN["password"]}
        with self.client.post(
            "/sign-in",
            data=urlencode(form),
            headers=FORM,
            name=f"{name}: POST /sign-in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")


class ChannelManager(_Manager):
    """The manufacturer's channel manager on the channel dashboard (the last 12 months)."""

    weight = 1

    def on_start(self):
        self.sign_in(PLAN["channel_manager"], "channel manager")

    @task
    def dashboard(self):
        self.client.get("/dashboard", name="channel manager: GET /dashboard")


class PartnerManager(_Manager):
    """A partner's manager on their own partner dashboard."""

    weight = 2

    def on_start(self):
        self.manager = next(_partner_managers)
        self.sign_in(self.manager["email"], "partner manager")

    @task
    def dashboard(self):
        self.client.get(
            f"/partners/{self.manager['partner_id']}/dashboard",
            name="partner manager: GET /partners/[id]/dashboard",
        )


class SalesApi(FastHttpUser):
    """A distributor's integration posting sell-out lines with a write token, each batch
    under an Idempotency-Key of its own."""

    weight = 1
    wait_time = between(2, 6)

    @task
    def import_lines(self):
        invoice = "LT-API-" + uuid.uuid4().hex[:12].upper()
        lines = [
            {
                "invoice_number": invoice,
                "line": n,
                "date": _today(),
                "sku": _random.choice(PLAN["skus"]),
                "quantity": _random.randint(1, 5),
                "seller": _random.choice(PLAN["sellers"]),
            }
            for n in range(1, LINES_PER_IMPORT + 1)
        ]
        headers = {
            "Authorization": f"Bearer {PLAN['api_token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        with self.client.post(
            "/api/v1/sales-lines",
            json={"lines": lines},
            headers=headers,
            name="api: POST /api/v1/sales-lines",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                report = response.json()
                if report["imported"] != LINES_PER_IMPORT:
                    response.failure(f"imported {report['imported']}: {report['rejected'][:2]}")


class Healthz(FastHttpUser):
    """The health check at a steady rate, as a load balancer probes it, under the same load."""

    fixed_count = 2
    wait_time = constant_throughput(2)

    @task
    def healthz(self):
        self.client.get("/healthz", name="GET /healthz")
