"""A small threaded HTTP/1.1 server for the fakes' WSGI apps that keeps each connection open
between requests, as Twilio's API does (werkzeug's development server closes every one).

One thread per connection serves its requests in turn. A response with a Content-Length is
sent as it is; one without is sent chunked. A response whose body does not match the length
it announced, an error or a client that went away closes the connection, since its framing
can no longer be trusted. Shutting the server down also closes the connections it holds, so
no pooled client connection is served after the fake is gone.
"""

import contextlib
import io
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: An idle connection is closed after this many seconds, ending its thread.
    timeout = 60
    #: Headers and body go out at once, not held back by Nagle's algorithm for an ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _run(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            result, status, headers = self.server.call(self._environ(body, length))
        except Exception:  # the fake itself failed: say so and hang up
            self.close_connection = True
            self.send_error(500)
            return
        try:
            self._respond(result, status, headers)
        except OSError:  # the client gave up (a scripted timeout): its connection is gone
            self.close_connection = True
        finally:
            if hasattr(result, "close"):
                result.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _run

    def _environ(self, body: bytes, length: int) -> dict:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length) if length else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name in set(self.headers.keys()):
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = ",".join(self.headers.get_all(name))
        return environ

    def _respond(self, result, status: str, headers: list[tuple[str, str]]) -> None:
        code = int(status.split(" ", 1)[0])
        self.send_response(code, status.partition(" ")[2])
        announced = None
        for name, value in headers:
            if name.lower() == "content-length":
                announced = int(value)
            if name.lower() not in ("connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        chunked = announced is None and self.command != "HEAD" and code not in (204, 304)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        for data in result:
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        elif sent != announced:  # a body longer or shorter than announced: only a close ends it
            self.close_connection = True


class KeepAliveServer(ThreadingHTTPServer):
    """Serves `app` (WSGI) on host:port (0: any free port) with HTTP/1.1 keep-alive."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app):
        self.app = app
        #: Connections accepted so far: one per client that keeps its connection.
        self.accepted = 0
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def call(self, environ):
        """The app's answer to one request: (body iterable, status, headers)."""
        answer = []

        def start_response(status, headers, exc_info=None):
            answer[:] = [status, headers]
            return lambda data: None  # the fakes never write outside the body iterable

        result = self.app(environ, start_response)
        return result, *answer

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop serving, then close the listening socket and every open connection."""
        self.shutdown()
        self.server_close()
        self.close_connections()
