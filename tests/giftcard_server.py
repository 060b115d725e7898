"""A local fake of the gift-card provider's HTTP API, served on a free port for the tests.

It keeps orders by idempotency key as a real provider does (the same key twice: the same
order), checks the API key, and can be told to be down (503), to refuse a product (422), to
answer "pending" and deliver later, or to make the order and drop the connection before it
answers (a worker or network that dies mid-call).
"""

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port

API_KEY = "test-provider-key"


@dataclass
class FakeProvider:
    base_url: str = ""
    down: bool = False
    deliver_later: bool = False
    drop_next_answer: bool = False
    refused: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, order_id: str) -> dict:
        with self.lock:
            order = self.orders[order_id]
            order.update(status="fulfilled", code=f"CARD-{order_id}")
            return dict(order)


def _handler(fake: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _checked(self) -> bool:
            fake.calls.append((self.command, self.path))
            if fake.down:
                self._answer(503, {"error": "maintenance"})
                return False
            if self.headers.get("X-Api-Key") != API_KEY:
                self._answer(401, {"error": "bad API key"})
                return False
            return True

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self._checked() or self.path != "/orders":
                return
            key = self.headers.get("Idempotency-Key")
            if not key:
                self._answer(400, {"error": "Idempotency-Key required"})
                return
            product = body.get("product")
            if product in fake.refused:
                self._answer(422, {"error": fake.refused[product]})
                return
            with fake.lock:
                order_id = fake.by_key.get(key)
                if order_id is None:
                    order_id = f"o{len(fake.orders) + 1}"
                    fake.by_key[key] = order_id
                    fake.orders[order_id] = {"id": order_id, "status": "pending", "key": key}
                    if not fake.deliver_later:
                        fake.orders[order_id].update(status="fulfilled", code=f"CARD-{order_id}")
                order = dict(fake.orders[order_id])
                drop, fake.drop_next_answer = fake.drop_next_answer, False
            if drop:
                self.close_connection = True
                self.connection.close()
                return
            self._answer(201, order)

        def do_GET(self):  # noqa: N802
            if not self._checked():
                return
            order = fake.orders.get(self.path.removeprefix("/orders/"))
            if order is None:
                self._answer(404, {"error": "no such order"})
                return
            self._answer(200, order)

    return Handler


@contextmanager
def fake_provider():
    """A running fake provider: yields its state (base_url set), stops it after."""
    fake = FakeProvider()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
