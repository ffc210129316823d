"""The suite's own scheduling: files slowest first by last run's seconds, tests kept in order."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from slowest_first import CACHE_KEY, order_slowest_first


@dataclass(frozen=True)
class Listed:
    """A collected test, as far as the ordering reads it."""

    nodeid: str


def _ids(tests: list[Listed]) -> list[str]:
    return [test.nodeid for test in tests]


def test_the_slowest_file_goes_first_and_each_file_keeps_its_order() -> None:
    tests = [Listed("a.py::one"), Listed("a.py::two"), Listed("b.py::one"), Listed("c.py::one")]
    seconds = {"a.py": 1.0, "b.py": 5.0, "c.py": 1.0}
    ordered = _ids(order_slowest_first(tests, seconds))
    assert ordered == ["b.py::one", "a.py::one", "a.py::two", "c.py::one"]


def test_a_file_the_cache_does_not_know_goes_first() -> None:
    tests = [Listed("a.py::one"), Listed("new.py::one")]
    assert _ids(order_slowest_first(tests, {"a.py": 9.0})) == ["new.py::one", "a.py::one"]


def test_a_run_saves_each_file_and_the_next_one_reads_them(tmp_path: Path) -> None:
    (tmp_path / "test_quick.py").write_text("def test_quick():\n    pass\n")
    (tmp_path / "test_slow.py").write_text(
        "import time\n\n\ndef test_slow():\n    time.sleep(0.2)\n"
    )
    support = Path(__file__).parent / "support"
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(support)!r})\nimport slowest_first\n\n\n"
        "def pytest_configure(config):\n    slowest_first.register(config)\n"
    )
    # Only pytest's own plugins: the installed ones cost a second to import and are not needed.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    pytest = [sys.executable, "-m", "pytest", "-q", str(tmp_path)]
    subprocess.run(pytest, cwd=tmp_path, env=env, check=True, capture_output=True)
    saved = json.loads((tmp_path / ".pytest_cache/v" / CACHE_KEY).read_text())
    assert set(saved) == {"test_quick.py", "test_slow.py"}
    assert saved["test_slow.py"] >= 0.2 > saved["test_quick.py"]
    listed = subprocess.run(
        [*pytest, "--collect-only"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert listed.stdout.index("test_slow.py") < listed.stdout.index("test_quick.py")
