"""How many threads the native libraries (OpenMP, BLAS) the model calls may use, set cheaply.

Scoring a few rows, timing latency and training all run with one OpenMP thread (each caller says
why). :func:`threadpoolctl.threadpool_limits` finds the loaded native libraries anew on every call
(a walk over every shared object of the process, ~2.5 ms), which a gate pays some ten times per
candidate. :func:`limited` asks one controller built on first use instead (~20 µs), as
threadpoolctl's documentation advises for repeated limits. It is built after the model's libraries
are loaded: every caller holds a scikit-learn pipeline, so scikit-learn's OpenMP runtime and
NumPy's BLAS are in the process by then.
"""

from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def controller() -> ThreadpoolController:
    """The process's controller of the native libraries' thread pools, built on first use."""
    return ThreadpoolController()


def limited(threads: int | None = 1) -> AbstractContextManager[object]:
    """A context in which every native thread pool uses at most ``threads`` threads.

    ``None`` leaves each library its own default (every core).
    """
    limiter: AbstractContextManager[object] = controller().limit(limits=threads)  # untyped library
    return limiter


def limit_this_thread(threads: int = 1) -> None:
    """From now on, the native thread pools the calling thread starts use at most ``threads``.

    For a thread pool's initializer (the service's model thread): OpenMP's limit belongs to the
    thread that sets it (a BLAS pool's to the process), and this one is never lifted.
    """
    controller().limit(limits=threads)
