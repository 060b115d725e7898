"""The documented production start: migrations by a command, then gunicorn with several
workers on the app factory (with JSON logs)."""

import subprocess
import sys

from tests.conftest import ROOT
from tests.servers import gunicorn, server_environment, status_of


def test_gunicorn_serves_the_app_after_db_upgrade(tmp_path):
    env = server_environment(
        SECRET_KEY="production-start-test",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        LOG_FORMAT="json",
    )
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr, gunicorn(env, stderr=stderr) as (_, base):
        assert status_of(base + "/sign-in/phone") == 200
    assert "Traceback" not in log.read_text()
