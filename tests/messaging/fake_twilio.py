"""A local fake of Twilio's Messages and Content APIs over HTTP, for driving the real twilio
client in tests, and of the media URLs of the photos people send us (MMS, WhatsApp)."""

import base64
import json
import threading
import time
import uuid
from collections import defaultdict

from werkzeug.wrappers import Request, Response

from tests.messaging.keepalive_server import KeepAliveServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"


class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/<sid>/Messages.json; `script[to]` queues special answers.

    An answer is an HTTP status with a Twilio error code (`(429, 20429)`, `(400, 21211)`),
    or "timeout" (answer after the client gave up). Without a script, the message is queued.
    While `outage` holds such an answer, every request gets it: the provider is down.
    `accepted` lists the messages taken (answered 201), `received` every request.

    `add_media` serves a photo at a media URL, as Twilio does, to the account's credentials
    only; `media_fetched` lists each media URL path requested. A path never added answers 404.

    The Content API: GET /v1/Content lists `contents` (by SID, each as Twilio describes a
    template), in pages of `content_page_size`; GET /v1/Content/<sid>/ApprovalRequests
    answers `approvals[sid]` (WhatsApp's verdict) or an unsubmitted one.
    """

    def __init__(self):
        self.received: list[dict] = []
        self.accepted: list[dict] = []
        self.script: dict[str, list] = defaultdict(list)
        self.outage = None
        self.delay = 1.0
        self.drip_bytes = 1024
        self.media: dict[str, tuple] = {}
        self.media_fetched: list[str] = []
        self.contents: dict[str, dict] = {}
        self.approvals: dict[str, dict] = {}
        self.content_page_size = 50
        # Keep-alive, as Twilio's real API: neither the client nor the fake pays a TCP
        # connect for each message.
        self._server = KeepAliveServer("127.0.0.1", 0, self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.stop()
        self._thread.join(timeout=5)

    def add_media(self, data: bytes, content_type="image/jpeg", *, answer=None, length=None):
        """The URL of a new media item serving `data`; `answer` "timeout" answers after
        `delay`, "drip" sends it in pieces of `drip_bytes` every `delay` (each in time, all
        of it late); `length` announces another Content-Length (None: none, as when chunked)."""
        path = (
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{uuid.uuid4().hex}"
            f"/Media/ME{uuid.uuid4().hex}"
        )
        self.media[path] = (data, content_type, answer, length)
        return self.url + path

    def __call__(self, environ, start_response):
        request = Request(environ)
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return self._error(401, 20003, "Authenticate")(environ, start_response)
        if request.method == "GET" and "/Media/" in request.path:
            return self._serve_media(request.path)(environ, start_response)
        if request.method == "GET" and request.path.startswith("/v1/Content"):
            if self.outage and self.outage != "timeout":
                return self._error(*self.outage, "scripted outage")(environ, start_response)
            return self._content(request)(environ, start_response)
        if request.method != "POST" or not request.path.endswith(
            f"/Accounts/{ACCOUNT_SID}/Messages.json"
        ):
            return self._error(404, 20404, "Not found")(environ, start_response)
        form = request.form.to_dict()
        self.received.append(form)
        answers = self.script[form.get("To", "")]
        answer = self.outage or (answers.pop(0) if answers else None)
        if answer == "timeout":
            time.sleep(self.delay)
            answer = None
        if answer is not None:
            status, code = answer
            return self._error(status, code, "scripted failure")(environ, start_response)
        self.accepted.append(form)
        body = {
            "sid": "SM" + uuid.uuid4().hex,
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "account_sid": ACCOUNT_SID,
        }
        return Response(json.dumps(body), status=201, mimetype="application/json")(
            environ, start_response
        )

    def _serve_media(self, path):
        self.media_fetched.append(path)
        if path not in self.media:
            return self._error(404, 20404, "The requested resource was not found")
        data, content_type, answer, length = self.media[path]
        if answer == "timeout":
            time.sleep(self.delay)

        def chunks():
            size = self.drip_bytes if answer == "drip" else 64 * 1024
            for start in range(0, len(data), size):
                if answer == "drip" and start:
                    time.sleep(self.delay)
                yield data[start : start + size]

        response = Response(chunks(), status=200, mimetype=content_type, direct_passthrough=True)
        if length is not None:
            response.headers["Content-Length"] = str(length)
        return response

    def add_content(self, sid, name, language, variables, *, status="approved", **whatsapp):
        """A template in the account, with WhatsApp's verdict on it (`status`, `category`…)."""
        self.contents[sid] = {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "friendly_name": name,
            "language": language,
            "variables": variables,
            "types": whatsapp.pop("types", {"twilio/text": {"body": "…"}}),
            "date_created": "2026-01-05T10:00:00Z",
            "date_updated": whatsapp.pop("updated", "2026-01-05T10:00:00Z"),
            "url": f"{self.url}/v1/Content/{sid}",
            "links": {},
        }
        self.approvals[sid] = {"status": status, "name": name, "category": "UTILITY", **whatsapp}

    def _content(self, request):
        parts = request.path.strip("/").split("/")  # v1, Content[, sid, ApprovalRequests]
        if len(parts) == 2:
            page = int(request.args.get("Page", 0))
            size = int(request.args.get("PageSize", self.content_page_size))
            size = min(size, self.content_page_size)
            listed = list(self.contents.values())[page * size : (page + 1) * size]
            more = (page + 1) * size < len(self.contents)
            following = f"{self.url}/v1/Content?PageSize={size}&Page={page + 1}"
            meta = {
                "page": page,
                "page_size": size,
                "key": "contents",
                "url": request.url,
                "first_page_url": f"{self.url}/v1/Content?PageSize={size}&Page=0",
                "previous_page_url": None,
                "next_page_url": following if more else None,
            }
            body = {"contents": listed, "meta": meta}
        elif len(parts) == 4 and parts[3] == "ApprovalRequests" and parts[2] in self.contents:
            sid = parts[2]
            verdict = self.approvals.get(sid) or {"status": "unsubmitted", "name": sid}
            body = {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "whatsapp": verdict,
                "url": request.url,
            }
        else:
            return self._error(404, 20404, "Not found")
        return Response(json.dumps(body), status=200, mimetype="application/json")

    @staticmethod
    def _error(status, code, message):
        body = {"code": code, "message": message, "more_info": "", "status": status}
        return Response(json.dumps(body), status=status, mimetype="application/json")


def serve_forever() -> None:
    """Run the fake in a process of its own (as Twilio is remote); prints its URL first."""
    fake = FakeTwilio()
    print(fake.url, flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    serve_forever()
