"""A test worker ends without tearing its interpreter down; a run without workers is left alone."""

import os
import subprocess
import sys
from pathlib import Path

import quick_exit

PROCESS = """
import atexit, sys
sys.path.insert(0, {support!r})
import quick_exit

class Plugins:
    def __init__(self):
        self.registered = []

    def register(self, plugin, name):
        self.registered.append(plugin)

class Config:
    pluginmanager = Plugins()

config = Config()
if {worker!r}:
    config.workerinput = {{}}
quick_exit.register(config)
atexit.register(print, "a handler a library added ran")

class Freed:
    def __del__(self):
        print("torn down")

kept = Freed()  # a module's global: freed only when the interpreter tears down
print("tests done", end="")  # not a whole line: left in the buffer unless flushed
for plugin in config.pluginmanager.registered:  # as pytest's unconfigure calls them
    plugin.pytest_unconfigure()
print("unconfigured")  # what pytest does after the plugins' unconfigure
"""


def run(*, worker: bool) -> subprocess.CompletedProcess[str]:
    """A bare interpreter that registers quick_exit with a worker's config, or another's."""
    code = PROCESS.format(support=str(Path(quick_exit.__file__).parent), worker=worker)
    # Output to a pipe is buffered, as a worker's is, unless the environment says otherwise.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_a_worker_runs_the_later_handlers_flushes_and_skips_tear_down() -> None:
    done = run(worker=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "tests done" + "a handler a library added ran\n"


def test_a_process_that_is_not_a_worker_tears_down_as_usual() -> None:
    done = run(worker=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("unconfigured\na handler a library added ran\ntorn down\n")
