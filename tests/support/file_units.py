"""Hand ``tests/whole_path/`` to one worker as a single unit, so its forkserver starts once.

``just check`` hands whole files to its workers (pytest-xdist's ``--dist loadfile``). The
whole-path tests run each schema in a child forked from a ``multiprocessing`` forkserver that
imports the heavy libraries first (:mod:`fresh_domain`): about 2.5 s of CPU for each process that
starts one. With the folder's files on two workers, two forkservers start; handed out as one unit,
one does. Every other file is still a unit of its own, handed out in the collection's order
(:mod:`slowest_first`): the folder goes where its first file would.
"""

import pytest
from xdist.scheduler import LoadFileScheduling

ONE_UNIT = "tests/whole_path/"
"""The folder whose test files go to one worker together."""


def unit_of(nodeid: str) -> str:
    """The unit a test goes to a worker in: its file, or :data:`ONE_UNIT` for the files there."""
    path = nodeid.split("::", 1)[0]
    return ONE_UNIT if path.startswith(ONE_UNIT) else path


class FileUnits(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types: its class is Any
    """xdist's ``loadfile`` scheduling, with :func:`unit_of` for its units."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


class Scheduler:
    """A pytest plugin: ``--dist loadfile`` hands out :func:`unit_of` units; others unchanged."""

    @pytest.hookimpl(tryfirst=True)  # before xdist's own, which would pick its loadfile
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: object) -> object:
        """The scheduler for ``--dist loadfile``; ``None`` (xdist picks) for any other mode."""
        return FileUnits(config, log) if config.getvalue("dist") == "loadfile" else None


def register(config: pytest.Config) -> None:
    """Turn the units on in a run with xdist (its controller is the process that schedules)."""
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(Scheduler(), "file-units")
