"""The import contracts in pyproject.toml: complete, and able to fail.

`make lint` runs import-linter over the tree as it is. These tests check that the list of
view modules the "pages build no queries" contract names is every module that adds routes,
and that each contract refuses the import it exists to refuse (run on a copy of the code with
one bad import put back).
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
PACKAGES = ("core", "roles", "channel", "messaging")
#: Route modules that are no pages: the health checks probe the database themselves.
NOT_PAGES = {"core.health"}


def contract(name_start: str) -> dict:
    [found] = [c for c in CONTRACTS if c["name"].startswith(name_start)]
    return found


def test_every_module_that_adds_routes_is_held_to_building_no_queries(app):
    route_modules = {
        app.view_functions[rule.endpoint].__module__
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    }
    # flask-smorest's own OpenAPI pages are not ours.
    route_modules = {m for m in route_modules if m.split(".")[0] in PACKAGES} - NOT_PAGES
    listed = set(contract("Pages build no queries")["source_modules"])
    assert route_modules - listed == set(), "add these view modules to the contract"
    assert listed - route_modules == set(), "these listed modules add no route any more"


def lint_with(tmp_path, module: str, line: str) -> subprocess.CompletedProcess:
    """import-linter over a copy of the packages with `line` added at the top of `module`."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(line + "\n" + path.read_text())
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", "pyproject.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.slow
def test_the_copy_of_the_code_keeps_every_contract(tmp_path):
    result = lint_with(tmp_path, "core.db", "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("channel.coop_views", "from sqlalchemy import select", "Pages build no queries"),
        ("roles.people", "import channel.models", "Packages import only downwards"),
        ("channel.ledger", "import messaging.outbox", "Packages import only downwards"),
        ("core.db", "import app", "The app factory is on top"),
        ("channel.ledger", "import channel.claims", "No cycles among the modules"),
        ("roles.views", "import roles.staff_views", "roles' pages and commands"),
    ],
)
def test_each_contract_refuses_the_import_it_exists_for(tmp_path, module, line, broken):
    result = lint_with(tmp_path, module, line)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
