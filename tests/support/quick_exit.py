"""End each test worker as soon as its work is handed in, without tearing the interpreter down.

When a pytest-xdist worker's session ends, the controller has every report of its tests and
pytest-cov has saved its coverage data file. What is left is Python's own shut-down: the exit
handlers, then every module and object the tests loaded (scikit-learn, pandas and the models
they built) freed one by one, about 1.4 s a worker on this suite, which the controller
waits for before it prints the result. So a worker runs the other exit handlers, flushes its
output and leaves with ``os._exit``. A run without workers (``-p no:xdist``, ``-n 0``) is left
alone: there the process is the one the user started.
"""

import atexit
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a test imports this module in a bare interpreter, without pytest
    import pytest


def _leave_now() -> None:
    """Flush the standard streams and end the process with exit status 0, skipping tear-down."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def register(config: "pytest.Config") -> None:
    """In an xdist worker, leave once the exit handlers registered after this call have run.

    atexit runs its handlers last-registered first: those the tests' libraries add later run
    before this one; those registered before it (at the worker's start-up) are skipped. By then
    pytest-cov has saved the coverage data and the fixtures have stopped every server and child
    process the tests started.
    """
    if hasattr(config, "workerinput"):
        atexit.register(_leave_now)
