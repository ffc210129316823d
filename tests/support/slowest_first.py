"""Run the test files that took longest last time first, so the workers finish together.

``just check`` hands whole files to its workers (pytest-xdist's ``--dist loadfile``), in the order
the files are collected, a new one to whichever worker is free. A file of a few slow tests handed
out last keeps one worker busy while the others wait; handed out first, the short files fill in
around it (longest-first scheduling). So the suite remembers each file's seconds (setup, call and
teardown of its tests) in pytest's cache, and the collection lists the files slowest first; a file
the cache does not know yet goes first. ``-p no:cacheprovider`` turns both off. The order of the
tests within a file is kept, and which tests run never depends on it.
"""

from collections import defaultdict
from typing import Protocol

import pytest

CACHE_KEY = "check/seconds-per-file"
"""Where pytest's cache (``.pytest_cache/``) keeps each test file's seconds of the last run."""


class _Test(Protocol):
    @property
    def nodeid(self) -> str: ...


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def order_slowest_first[T: _Test](items: list[T], seconds: dict[str, float]) -> list[T]:
    """``items`` with their files ordered by ``seconds``, longest (and unknown) first.

    Files of equal seconds keep their collection order, and each file's tests theirs.
    """
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(_file(item.nodeid), len(first_seen))

    def rank(item: T) -> tuple[float, int]:
        name = _file(item.nodeid)
        return (-seconds.get(name, float("inf")), first_seen[name])

    return sorted(items, key=rank)


class FileSeconds:
    """A pytest plugin: orders the collection by the cache, and saves this run's seconds to it.

    Every xdist worker collects, and all must list the tests in one order: each reads the same
    cache. Only the process that is not a worker (the controller, or a run without workers) saves,
    once, at the end: it receives every worker's reports.
    """

    def __init__(self, config: pytest.Config) -> None:
        """Keep ``config`` (its cache, its root, whether it is a worker's) for the hooks."""
        assert config.cache is not None, "register only with the cache provider on"
        self.cache = config.cache
        self.root = config.rootpath
        self.saves = not hasattr(config, "workerinput")
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @pytest.hookimpl(trylast=True)  # after any other plugin's reordering
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Order the collected tests slowest file first, as the cache last saw them."""
        items[:] = order_slowest_first(items, self.cache.get(CACHE_KEY, {}))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add the phase's seconds to its file's."""
        self.seconds[_file(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        """Save the seconds of the files that ran; forget the files that no longer exist."""
        if not self.saves:
            return
        saved: dict[str, float] = self.cache.get(CACHE_KEY, {})
        merged = {**saved, **{name: round(value, 3) for name, value in self.seconds.items()}}
        kept = {name: value for name, value in merged.items() if (self.root / name).is_file()}
        self.cache.set(CACHE_KEY, kept)


def register(config: pytest.Config) -> None:
    """Turn the ordering on for this run, unless pytest's cache is off (``-p no:cacheprovider``)."""
    if getattr(config, "cache", None) is not None:  # the provider off, the attribute is not set
        config.pluginmanager.register(FileSeconds(config), "slowest-first")
