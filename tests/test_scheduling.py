"""How `make test` cuts and orders the test files (tests/scheduling.py)."""

from tests import scheduling


def test_a_long_file_is_cut_into_runs_of_consecutive_tests(monkeypatch):
    monkeypatch.setattr(scheduling, "LONG_FILES", {"tests/long.py": 3 * scheduling.PART_SECONDS})
    long = [f"tests/long.py::test_{n}" for n in range(7)]
    units = scheduling.work_units(long + ["tests/short.py::test_a", "tests/short.py::test_b"])
    parts = [units[nodeid] for nodeid in long]
    assert parts == sorted(parts)  # consecutive tests share a part
    assert len(set(parts)) == 3
    assert units["tests/short.py::test_a"] == units["tests/short.py::test_b"] == "tests/short.py"


def test_a_file_measured_short_or_not_at_all_stays_whole(monkeypatch):
    monkeypatch.setattr(scheduling, "LONG_FILES", {"tests/a.py": scheduling.PART_SECONDS})
    units = scheduling.work_units(["tests/a.py::x", "tests/a.py::y", "tests/new.py::z"])
    assert units == {
        "tests/a.py::x": "tests/a.py",
        "tests/a.py::y": "tests/a.py",
        "tests/new.py::z": "tests/new.py",
    }


def test_the_longest_files_are_collected_first_and_each_keeps_its_order(monkeypatch):
    monkeypatch.setattr(scheduling, "LONG_FILES", {"tests/b.py": 90.0, "tests/c.py": 300.0})

    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

    items = [Item(n) for n in ("tests/a.py::1", "tests/b.py::2", "tests/b.py::1", "tests/c.py::1")]
    scheduling.pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == [
        "tests/c.py::1",
        "tests/b.py::2",
        "tests/b.py::1",
        "tests/a.py::1",
    ]
