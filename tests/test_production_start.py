"""The documented production start: migrations by a command, then gunicorn with several
workers on the app factory (with JSON logs)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.roles.test_rate_limits_across_processes import free_port, status_of


def test_gunicorn_serves_the_app_after_db_upgrade(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "production-start-test",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "LOG_FORMAT": "json",
    }
    env.pop("FLASK_DEBUG", None)
    bin_dir = Path(sys.executable).parent
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    server = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while status_of(f"http://127.0.0.1:{port}/healthz") != 200:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        assert status_of(f"http://127.0.0.1:{port}/sign-in/phone") == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)
