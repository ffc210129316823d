"""Suite-wide settings.

Every test process scores and trains with one OpenMP thread. The suite already runs on every core
(pytest-xdist), and on a busy machine OpenMP's spinning threads turn a sub-millisecond tree call
into tens of milliseconds; training is single-threaded for the same reason (see ``train.py``).
Results do not depend on the thread count.

The test files run slowest first (:mod:`slowest_first`), so the workers finish together; the
whole-path files go to one worker together, so one forkserver starts (:mod:`file_units`); and each
worker ends without tearing its interpreter down (:mod:`quick_exit`).

No test talks to a tracking server or a chat webhook the developer has configured: their variables
are removed for the session (and so for every subprocess); the tests that need a server start their
own on loopback and pass its address explicitly.
"""

# >>> tracking
import os

# <<< tracking
from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

# >>> serving
import collected_heap

# <<< serving
import file_units
import quick_exit
import slowest_first


def pytest_configure(config: pytest.Config) -> None:
    slowest_first.register(config)
    file_units.register(config)
    quick_exit.register(config)
    # >>> serving
    collected_heap.register(config)
    # <<< serving


@pytest.fixture(autouse=True, scope="session")
def _one_openmp_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True, scope="session")
def _no_tracking_server_nor_webhook() -> Iterator[None]:
    names = ["CHAT_WEBHOOK_URL"]
    # >>> tracking
    names += [name for name in os.environ if name.startswith("MLFLOW_")]
    # <<< tracking
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.delenv(name, raising=False)
        yield
