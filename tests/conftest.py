"""Suite-wide settings.

Every test process scores and trains with one OpenMP thread. The suite already runs on every core
(pytest-xdist), and on a busy machine OpenMP's spinning threads turn a sub-millisecond tree call
into tens of milliseconds; training is single-threaded for the same reason (see ``train.py``).
Results do not depend on the thread count.
"""

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_openmp_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield
