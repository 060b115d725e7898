"""The order `make test` hands test files to its processes, so the run ends on short files.

`make test` runs pytest-xdist with `--dist loadfile`, and this plugin refines it: the tests of
a file run in one process, so its module-wide servers and databases are built once, but the
longest files go first (the longest job first leaves the least idle time at the end), and a file
longer than `PART_SECONDS` is cut into parts that run side by side. Each file's seconds (the sum
of its tests' setup, call and teardown) are in tests/durations.json, written by a run with
PARTNERLIFT_STORE_DURATIONS=1 (`make durations`); a file not in it counts as short.
"""

import json
import math
import os
from collections import Counter
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

DURATIONS = Path(__file__).with_name("durations.json")
#: Seconds each file took in the last run that stored them (see the docstring).
LONG_FILES: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
#: A file longer than this is cut into parts of about this many seconds.
PART_SECONDS = 60


def file_of(nodeid: str) -> str:
    return nodeid.partition("::")[0]


def parts_of(path: str) -> int:
    """Into how many parts a file's tests are cut."""
    return max(1, math.ceil(LONG_FILES.get(path, 0) / PART_SECONDS))


def work_units(nodeids: list[str]) -> dict[str, str]:
    """Each test's unit of work: its file, or a part of it for a long file. Parts are runs of
    consecutive tests, so tests that share a module-wide fixture's parameter stay together."""
    by_file: dict[str, list[str]] = {}
    for nodeid in nodeids:
        by_file.setdefault(file_of(nodeid), []).append(nodeid)
    units = {}
    for path, tests in by_file.items():
        parts = parts_of(path)
        for index, nodeid in enumerate(tests):
            units[nodeid] = f"{path}#{index * parts // len(tests)}" if parts > 1 else path
    return units


class LongestFirst(LoadScopeScheduling):
    """xdist's file-by-file scheduling, with long files cut into parts (`work_units`). The files
    arrive longest first because `pytest_collection_modifyitems` below collects them so."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self.units: dict[str, str] = {}

    def schedule(self):
        if self.collection is None and self.registered_collections:
            self.units = work_units(next(iter(self.registered_collections.values())))
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        return self.units.get(nodeid) or file_of(nodeid)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadfile":
        # The queue in collection order (longest first), not xdist's order by number of tests.
        config.option.loadscopereorder = False
        return LongestFirst(config, log)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Longest files first; within a file, the order pytest collected."""
    first_index = {}
    for index, item in enumerate(items):
        first_index.setdefault(file_of(item.nodeid), index)
    items.sort(
        key=lambda item: (
            -LONG_FILES.get(file_of(item.nodeid), 0),
            first_index[file_of(item.nodeid)],
        )
    )


#: This run's seconds by file, stored at its end when PARTNERLIFT_STORE_DURATIONS is set.
measured: Counter = Counter()


def pytest_runtest_logreport(report):
    measured[file_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session, exitstatus):
    """Under xdist the controlling process hears every report; a worker stores nothing."""
    if os.environ.get("PARTNERLIFT_STORE_DURATIONS") and not hasattr(session.config, "workerinput"):
        seconds = {path: round(value, 1) for path, value in measured.most_common()}
        DURATIONS.write_text(json.dumps(seconds, indent=1) + "\n")
