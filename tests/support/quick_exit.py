"""End each test worker as soon as its work is handed in, without tearing the interpreter down.

When a pytest-xdist worker's session ends, the controller has every report of its tests and
pytest-cov has saved its coverage data file. What is left costs about 2 s a worker on this suite,
which the controller waits for before it prints the result: pytest's unconfigure (its
unraisable-exception plugin collects garbage five times, twice over: 0.5 s), then Python's own
shut-down (every module and object the tests loaded, scikit-learn, pandas and the models they
built, freed one by one: 1.4 s). So a worker, first thing at unconfigure, runs the exit handlers
the tests' libraries registered, flushes its output and leaves with ``os._exit``. A run without
workers (``-p no:xdist``, ``-n 0``) is left alone: there the process is the one the user started.
"""

import atexit
import os
import sys

import pytest


def _leave_now() -> None:
    """Flush the standard streams and end the process with exit status 0, skipping tear-down."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class LeaveAtUnconfigure:
    """A pytest plugin for a worker: at unconfigure, run the exit handlers, which end it."""

    @pytest.hookimpl(tryfirst=True)  # before pytest's own unconfigure
    def pytest_unconfigure(self) -> None:
        """Run the exit handlers now, last-registered first; :func:`_leave_now` ends the list."""
        # The interpreter's own exit runs this same list; calling it here skips what pytest and
        # Python would do before it (see the module docstring).
        atexit._run_exitfuncs()


def register(config: pytest.Config) -> None:
    """In an xdist worker, leave at unconfigure once the handlers registered after this call ran.

    atexit runs its handlers last-registered first: those the tests' libraries add later run
    before :func:`_leave_now`; those registered before it (at the worker's start-up) are skipped.
    By then pytest-cov has saved the coverage data, xdist has sent the controller the worker's
    last word, and the fixtures have stopped every server and child process the tests started.
    """
    if hasattr(config, "workerinput"):
        atexit.register(_leave_now)
        config.pluginmanager.register(LeaveAtUnconfigure(), "quick-exit")
