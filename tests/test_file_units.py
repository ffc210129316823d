"""The whole-path files go to one worker as one unit; every other file is a unit of its own."""

import re
from pathlib import Path

from file_units import ONE_UNIT, unit_of

ROOT = Path(__file__).resolve().parents[1]
FORKS = re.compile(r"^from fresh_domain import", re.MULTILINE)


def test_the_whole_path_files_are_one_unit_and_every_other_file_its_own() -> None:
    assert unit_of(f"{ONE_UNIT}test_a.py::one") == unit_of(f"{ONE_UNIT}test_b.py::two[x]")
    assert unit_of("tests/serving/test_app.py::one") == "tests/serving/test_app.py"
    assert unit_of("tests/test_cli.py::one") == "tests/test_cli.py"


def test_every_test_file_that_forks_from_the_forkserver_is_in_the_one_unit() -> None:
    forking = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if FORKS.search(path.read_text(encoding="utf-8"))
    )
    # A project generated without the serving part has none: then nothing is shared.
    assert all(name.startswith(ONE_UNIT) for name in forking), forking
