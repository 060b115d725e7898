"""Carrier pacing: each sender sends at most its configured rate, however many workers run.

A message costs `segments / rate` seconds of its sender's time (WhatsApp: one message). The
next free moment of each sender is a row in `sender_paces`; a worker reserves its slot with
one atomic UPDATE in a transaction of its own (so workers on several machines share the
rate), then sleeps until the slot begins. SQLite has one worker, which keeps the moment in
memory. The database's own clock is the reference on PostgreSQL, so machines' clocks may
differ.
"""

import threading
import time
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Engine

from messaging.models import MessageChannel


class Pacer:
    def __init__(
        self,
        rates: dict[str, Decimal],
        engine: Engine | None = None,
        *,
        sender: str = "default",
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        #: Segments (SMS) or messages (WhatsApp) a second per sender; 0 or missing: unpaced.
        self.sender = sender
        self.rates = {k: Decimal(v) for k, v in rates.items() if v and Decimal(v) > 0}
        self.shared = engine is not None and engine.dialect.name == "postgresql"
        #: `sleep` and `clock` (seconds, monotonic) are given by tests to control time.
        self.engine, self.sleep, self.clock = engine, sleep, clock
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config, engine: Engine | None = None) -> "Pacer":
        rates = {}
        if config["MESSAGING_BACKEND"] != "development":  # no carrier to pace for
            rates = {
                MessageChannel.SMS: config["MESSAGING_SMS_RATE"],
                MessageChannel.WHATSAPP: config["MESSAGING_WHATSAPP_RATE"],
            }
        sender = config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM")
        return cls(rates, engine, sender=sender or "default")

    def cost(self, message) -> float:
        rate = self.rates.get(message.channel)
        if rate is None:
            return 0.0
        units = message.segments if message.channel == MessageChannel.SMS else 1
        return float(Decimal(max(units, 1)) / rate)

    def wait(self, message) -> float:
        """Block until `message` may go; returns the seconds waited."""
        cost = self.cost(message)
        if not cost:
            return 0.0
        key = f"{message.channel}:{self.sender}"[:64]
        delay = self._reserve_shared(key, cost) if self.shared else self._reserve(key, cost)
        if delay > 0:
            self.sleep(delay)
        return max(delay, 0.0)

    def _reserve(self, sender: str, cost: float) -> float:
        with self._lock:  # the worker's threads share one pacer
            now = self.clock()
            start = max(self._next_free.get(sender, now), now)
            self._next_free[sender] = start + cost
            return start - now

    def _reserve_shared(self, sender: str, cost: float) -> float:
        with self.engine.begin() as connection:
            start, now = connection.execute(
                text(
                    "INSERT INTO sender_paces (sender, next_free_at) "
                    "VALUES (:sender, clock_timestamp() + make_interval(secs => :cost)) "
                    "ON CONFLICT (sender) DO UPDATE SET next_free_at = "
                    "GREATEST(sender_paces.next_free_at, clock_timestamp()) "
                    "+ make_interval(secs => :cost) "
                    "RETURNING next_free_at - make_interval(secs => :cost), clock_timestamp()"
                ),
                {"sender": sender, "cost": cost},
            ).one()
        return (start - now).total_seconds()
