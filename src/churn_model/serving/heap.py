"""The process's heap kept out of the garbage collector's reach while the service runs.

The service's model and the libraries it imported live as long as the process. Frozen
(:func:`gc.freeze`), they are never walked again by a full collection, which then visits only the
objects made since: short collections, fewer latency spikes under load.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Freezes:
    """How many :func:`frozen_heap` blocks are open, in any thread: while one is, the heap is."""

    lock = threading.Lock()
    open = 0


@contextmanager
def frozen_heap(*, collect: bool) -> Iterator[None]:
    """Keep every object alive now out of the garbage collector's reach until the block ends.

    With ``collect``, what is garbage already is collected first, or the freeze would keep it.
    Blocks nest, in any thread: the first to open freezes the heap, the last to close unfreezes
    it, so a service started inside a frozen heap (by the gate's serving check, by a test session)
    leaves the heap as it finds it and does not walk it again.
    """
    with _Freezes.lock:
        if _Freezes.open == 0:
            if collect:
                gc.collect()
            gc.freeze()
        _Freezes.open += 1
    try:
        yield
    finally:
        with _Freezes.lock:
            _Freezes.open -= 1
            if _Freezes.open == 0:
                gc.unfreeze()
