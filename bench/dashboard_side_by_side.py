"""Benchmark: the channel dashboard's p95 against /healthz's under concurrent requests, for two
versions of the code side by side.

World: the load test's PostgreSQL database (`bench/load_test.py --prepare-only`: 20,000
people at 1,000 partners, 1,000,000 ledger entries over 540 days, the channel manager
channel@load.example), one copy for each version (`CREATE DATABASE … TEMPLATE …`), each
migrated by its own code.

Both versions run at once, each a gunicorn of `--workers` sync workers started from its own
checkout, so that they share the machine's load. For `--seconds`, `--clients` signed-in
channel managers on each ask GET /dashboard (the last 12 months) back to back, and `--probes`
probes on each ask GET /healthz every quarter of a second. Printed for each version: the
requests, p50 and p95 of both, and the dashboard's p95 as a multiple of /healthz's p95 under
the same load (the load test's measure, target 5×); with the 1-minute load average.

    .venv/bin/python bench/dashboard_side_by_side.py \
        --baseline /work/wt/base partnerlift_load_base --this partnerlift_load_this
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
PASSWORD = "load-test-password"  # noqa: S105 - the load test's seeded password
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ENV = {
    "SESSION_COOKIE_SECURE": "0",
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "100000 per minute",
    "MESSAGING_BACKEND": "development",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "1024",
    "ARGON2_PARALLELISM": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn of one checkout on one database, and the request times taken against it."""

    def __init__(self, name: str, checkout: Path, database: str, workers: int):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            **ENV,
            "PYTHONPATH": str(checkout),
            "DATABASE_URL": f"{POSTGRES}/{database}",
            "SECRET_KEY": f"side-by-side-{name}",
            "PUBLIC_URL": self.url,
        }
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=checkout,
            env=env,
            check=True,
            capture_output=True,
        )
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "app:create_app()",
            ],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.times: dict[str, list[float]] = {"/dashboard": [], "/healthz": []}
        self.failures = 0
        for _ in range(120):
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{name}: gunicorn did not answer")

    def signed_in(self) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{self.url}/sign-in", timeout=60)
        token = CSRF_TOKEN.search(page.text)
        form = {
            "csrf_token": token.group(1) if token else "",
            "email": "channel@load.example",
            "password": PASSWORD,
        }
        answer = session.post(f"{self.url}/sign-in", data=form, allow_redirects=False, timeout=60)
        if answer.status_code != 302:
            raise SystemExit(f"{self.name}: sign-in answered {answer.status_code}")
        return session

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def hit(server: Server, session, path: str, until: float, pause: float, measuring) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            ok = session.get(f"{server.url}{path}", timeout=120).status_code == 200
        except requests.RequestException:
            ok = False
        took = (time.perf_counter() - started) * 1000
        if measuring():
            if ok:
                server.times[path].append(took)
            else:
                server.failures += 1
        time.sleep(pause)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", nargs=2, metavar=("CHECKOUT", "DATABASE"), required=True)
    parser.add_argument("--this", metavar="DATABASE", required=True, help="this checkout's")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--clients", type=int, default=3, help="dashboard clients per version")
    parser.add_argument("--probes", type=int, default=2, help="/healthz probes per version")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per version")
    args = parser.parse_args()

    servers = [
        Server("baseline", Path(args.baseline[0]).resolve(), args.baseline[1], args.workers),
        Server("this", ROOT, args.this, args.workers),
    ]
    try:
        loads = [os.getloadavg()[0]]
        start = time.monotonic()
        until = start + args.warmup + args.seconds

        def measuring():
            return time.monotonic() >= start + args.warmup

        threads = []
        for server in servers:
            for _ in range(args.clients):
                session = server.signed_in()
                threads.append(
                    threading.Thread(
                        target=hit, args=(server, session, "/dashboard", until, 0, measuring)
                    )
                )
            for _ in range(args.probes):
                threads.append(
                    threading.Thread(
                        target=hit,
                        args=(server, requests.Session(), "/healthz", until, 0.25, measuring),
                    )
                )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        loads.append(os.getloadavg()[0])
    finally:
        for server in servers:
            server.stop()
    print(
        f"{args.seconds} s after {args.warmup} s of warm-up; {args.clients} dashboard clients and "
        f"{args.probes} /healthz probes on each version, both versions at once, "
        f"{args.workers} gunicorn workers each; 1-minute load average {loads[0]:.2f} before, "
        f"{loads[1]:.2f} after"
    )
    print("version    /dashboard n  p50 ms  p95 ms   /healthz n  p50 ms  p95 ms   p95 ÷ /healthz")
    for server in servers:
        board, health = server.times["/dashboard"], server.times["/healthz"]
        print(
            f"{server.name:<10} {len(board):>12} {statistics.median(board):7.0f} "
            f"{p95(board):7.0f} {len(health):>12} {statistics.median(health):7.0f} "
            f"{p95(health):7.0f}   {p95(board) / p95(health):6.1f}×"
            + (f"  ({server.failures} failed)" if server.failures else "")
        )


if __name__ == "__main__":
    main()
