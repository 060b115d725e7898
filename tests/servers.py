"""The app served by real processes for the tests that need them: free ports, answers, gunicorn."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(request) -> int:
    """The HTTP status a URL (or urllib request) answers; 0 while nothing listens or answers
    in time (a server still booting its workers under load)."""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError):
        return 0


def server_environment(**settings: str) -> dict[str, str]:
    """This process's environment with `settings`, never in Flask's debug mode (so with the
    public address that production requires; `gunicorn` names its own port in it)."""
    env = {**os.environ, "PUBLIC_URL": "http://127.0.0.1", **settings}
    env.pop("FLASK_DEBUG", None)
    return env


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, stderr=subprocess.DEVNULL):
    """gunicorn serving the app factory exactly as README's production start does, on a free
    port: yields (the process, its base URL) once /healthz answers 200, stops it after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, "PUBLIC_URL": base}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 30
        while status_of(base + "/healthz") != 200:
            assert process.poll() is None, f"gunicorn exited with {process.returncode}"
            assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
            time.sleep(0.1)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)
