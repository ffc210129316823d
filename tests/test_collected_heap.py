"""The tests run with the collector on, over the heap their collection left, frozen."""

import gc


def test_the_collector_runs_again_once_the_tests_are_collected() -> None:
    assert gc.isenabled()


def test_the_heap_the_collection_left_is_frozen() -> None:
    # Python keeps a few hundred objects of its own in the permanent generation; the collected
    # tests' heap (pytest, the libraries, the test modules) is some hundred thousand.
    assert gc.get_freeze_count() > 10_000
