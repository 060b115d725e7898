"""`make demo` runs the Procfile with honcho: the web app serves and the messaging worker
delivers, so a message the demo sends arrives in the person's inbox; Ctrl-C, or either
process ending, stops both."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from core.db import get_session
from messaging.models import OutboxMessage, OutboxStatus
from messaging.outbox import enqueue
from roles.permissions import Role
from tests.builders import build_world, session_cookie
from tests.conftest import ROOT
from tests.servers import free_port, server_environment, status_of

BIN = Path(sys.executable).parent


def test_the_procfile_names_the_web_app_and_the_messaging_worker():
    check = subprocess.run(
        [BIN / "honcho", "check"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stderr
    assert "(web, worker)" in check.stderr + check.stdout
    makefile = (ROOT / "Makefile").read_text()
    assert "exec honcho start --port $(PORT)" in makefile


def _started_pids(log: Path) -> dict[str, int]:
    return {
        name: int(pid)
        for name, pid in re.findall(r"(web|worker)\.1 started \(pid=(\d+)\)", log.read_text())
    }


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("stop", ["ctrl-c", "worker-dies"])
def test_the_demo_serves_and_delivers_until_stopped(committed_app, tmp_path, stop):
    app = committed_app
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with app.test_request_context():
        db = get_session()
        technician = build_world(db).people[Role.TECHNICIAN]
        message = enqueue(
            db,
            person_id=technician.id,
            channel="inapp",
            recipient=str(technician.id),
            kind="points_earned",
            body=f"You earned 50 points: {base}/me",
        )
        cookie = session_cookie(app, db, technician)
        db.commit()
        message_id = message.id
    env = server_environment(
        SECRET_KEY=app.config["SECRET_KEY"],
        DATABASE_URL=app.config["DATABASE_URL"],
        PUBLIC_URL=base,
        SESSION_COOKIE_SECURE="0",
        QUIET_HOURS="",
        HOST="127.0.0.1",
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    log = tmp_path / "honcho.log"
    with log.open("w") as output:
        honcho = subprocess.Popen(
            [BIN / "honcho", "start", "--no-colour", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    try:
        deadline = time.monotonic() + 60
        while True:
            with factory() as session:
                status = session.scalar(
                    select(OutboxMessage.status).where(OutboxMessage.id == message_id)
                )
            if status == OutboxStatus.SENT and status_of(base + "/healthz") == 200:
                break
            assert honcho.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        inbox = urllib.request.Request(  # noqa: S310 - our own server
            base + "/messaging/inbox", headers={"Cookie": f"session={cookie}"}
        )
        with urllib.request.urlopen(inbox, timeout=10) as response:  # noqa: S310
            page = response.read().decode()
        assert f'You earned 50 points: <a href="{base}/me" dir="ltr">{base}/me</a>' in page
        pids = _started_pids(log)
        assert set(pids) == {"web", "worker"}
        # The processes themselves, not shells around them: stopping them stops the app.
        assert "messaging" in Path(f"/proc/{pids['worker']}/cmdline").read_text()
        if stop == "ctrl-c":
            honcho.send_signal(signal.SIGINT)
        else:
            os.kill(pids["worker"], signal.SIGKILL)
        honcho.wait(timeout=30)
    finally:
        if honcho.poll() is None:
            honcho.kill()
            honcho.wait()
    assert all(_gone(pid) for pid in pids.values()), log.read_text()
    assert status_of(base + "/healthz") == 0
