"""A throwaway PostgreSQL server of the test's own, to stop, crash and restart at will.

The machine's shared server is never touched: this one lives in a temporary folder owned by
the `postgres` user, listens on a free port, and is removed afterwards. Running as root, the
server's commands run as `postgres` (PostgreSQL refuses to run as root).
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.servers import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class PrivateCluster:
    def __init__(self):
        found = [d for d in BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()]
        if not found and shutil.which("initdb") is None:
            raise RuntimeError("no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH")
        self.bin = found[0] if found else Path(shutil.which("initdb")).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="partnerlift-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self._as_postgres, *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}): {result.stderr}{result.stdout}"
                f"\n{log[-2000:]}"
            )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=50"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and rolls back what they had open; `immediate` crashes
        the server on the spot, so the next start recovers from its write-ahead log."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def private_cluster() -> PrivateCluster:
    """A started private cluster; the test fails, with the reason, if none can be had."""
    try:
        cluster = PrivateCluster()
    except (RuntimeError, KeyError) as error:
        pytest.fail(f"cannot set up a private PostgreSQL cluster: {error}", pytrace=False)
    try:
        cluster.init()
        cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        cluster.remove()
        pytest.fail(f"cannot start a private PostgreSQL cluster: {error}", pytrace=False)
    return cluster
