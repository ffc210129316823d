"""The thread limits the scorers, the trainer and the service's model thread run under."""

import os
import threading

import sklearn.ensemble  # noqa: F401 -- loads scikit-learn's OpenMP runtime, as any model does
from threadpoolctl import threadpool_info

from churn_model.threads import controller, limit_this_thread, limited


def _threads() -> dict[str, int]:
    return {library["filepath"]: library["num_threads"] for library in threadpool_info()}


def test_the_controller_knows_every_native_library_loaded() -> None:
    assert {library["filepath"] for library in controller().info()} == set(_threads())


def test_a_limit_applies_to_every_library_and_is_undone_after() -> None:
    before = _threads()
    wanted = 2 if set(before.values()) == {1} else 1  # a value other than the one in force
    with limited(wanted):
        assert set(_threads().values()) == {wanted}
    assert _threads() == before


def _openmp_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}


def test_a_thread_limited_for_good_keeps_its_openmp_limit() -> None:
    # The model's trees run on OpenMP, whose limit belongs to each thread. (A BLAS pool's limit
    # is the process's, and some builds take it from the main thread only.)
    before = _threads()
    wanted = max(before.values()) + (os.cpu_count() or 1) + 1  # no library's default
    seen: set[int] = set()

    def model_thread() -> None:
        limit_this_thread(wanted)
        seen.update(_openmp_threads())

    with limited(None):  # what the thread changed process-wide (a BLAS pool) is undone after
        thread = threading.Thread(target=model_thread)
        thread.start()
        thread.join()
    assert seen == {wanted}
    assert _threads() == before
