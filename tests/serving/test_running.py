"""The service's heap freeze: the outermost one is undone at shut-down, a nested one is not."""

import gc
from collections.abc import Iterator

import pytest

from churn_model.serving.running import frozen_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A heap nothing froze (the suite freezes its own after collection: restored after)."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.freeze()


def test_a_freeze_on_an_unfrozen_heap_is_undone_after(unfrozen: None) -> None:
    with frozen_heap(collect=True):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_freeze_on_a_frozen_heap_leaves_it_frozen(unfrozen: None) -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with frozen_heap(collect=False):
        assert gc.get_freeze_count() >= frozen
    assert gc.get_freeze_count() >= frozen > 0


def test_collecting_first_frees_the_garbage_instead_of_freezing_it(unfrozen: None) -> None:
    class Cycle:
        """An object that refers to itself: only the collector frees it."""

        def __init__(self) -> None:
            self.me = self

    found: list[object] = []
    gc.callbacks.append(
        lambda phase, info: found.append(info["collected"]) if phase == "stop" else None
    )
    try:
        Cycle()
        with frozen_heap(collect=True):
            pass
    finally:
        gc.callbacks.pop()
    assert sum(found) >= 1
