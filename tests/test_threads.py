"""The thread limit the scorers and the trainer run under: applied to every library, then undone."""

import sklearn.ensemble  # noqa: F401 -- loads scikit-learn's OpenMP runtime, as any model does
from threadpoolctl import threadpool_info

from churn_model.threads import controller, limited


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
