"""Each test process's heap, frozen once its tests are collected, for the whole session.

Collecting the tests imports the libraries every test file uses (scikit-learn, pandas, FastAPI,
Hypothesis): millions of objects and little garbage, which the collector's automatic full
collections walked again and again (~0.5 s a worker). So the collector is off while the tests are
collected; then the heap collection leaves is frozen out of its reach (the service's own
:func:`~churn_model.serving.heap.frozen_heap`) and the collector turned back on: no
collection walks that heap again, and a service a test starts in process finds a freeze holding
it, so it neither collects it (~0.2 s a start) nor unfreezes it.
"""

import gc
from collections.abc import Generator
from contextlib import ExitStack

import pytest

from churn_model.serving.heap import frozen_heap


class FreezeWhenCollected:
    """A pytest plugin: no collector while the tests are collected; then their heap frozen."""

    def __init__(self) -> None:
        """Nothing is frozen yet."""
        self.frozen = ExitStack()

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self) -> Generator[None, object, object]:
        """Collect with the collector off; then freeze what collecting left and turn it back on.

        Around the hook, not its parts: an xdist controller runs it too (and collects nothing).
        """
        gc.disable()
        try:
            return (yield)
        finally:
            self.frozen.enter_context(frozen_heap(collect=False))  # its little garbage too
            gc.enable()

    def pytest_unconfigure(self) -> None:
        """Unfreeze the heap (when nothing else holds a freeze on it)."""
        self.frozen.close()


def register(config: pytest.Config) -> None:
    """Freeze the heap the tests are collected into, with no collection while they are."""
    config.pluginmanager.register(FreezeWhenCollected(), "collected-heap")
