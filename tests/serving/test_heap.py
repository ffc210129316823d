"""The service freezes the heap it starts on, and leaves a heap frozen around it as it finds it."""

import gc
import subprocess
import sys
import textwrap

from churn_model.serving.heap import frozen_heap

OUTERMOST = textwrap.dedent(
    """
    import gc, threading
    from churn_model.serving.heap import frozen_heap

    def cycle():
        loop = []
        loop.append(loop)

    gc.disable()  # no collection but the ones asked for
    own = gc.get_freeze_count()  # the interpreter's own (immortal objects a collection meets)
    cycle()
    with frozen_heap(collect=True):
        assert gc.get_freeze_count() > own
    assert gc.get_freeze_count() <= own, "unfrozen when the block closed"
    assert gc.collect() == 0, "the cycle was collected before the freeze"
    cycle()
    with frozen_heap(collect=False):
        assert gc.collect() == 0, "the cycle is frozen, out of the collector's reach"
    assert gc.collect() > 0, "not collected first: the freeze kept the cycle until the block closed"

    # Blocks nest across threads: the heap stays frozen until the last one closes.
    opened, closed, seen = threading.Event(), threading.Event(), []
    def other():
        with frozen_heap(collect=False):
            opened.set()
            closed.wait(10)
            seen.append(gc.get_freeze_count())
    with frozen_heap(collect=True):
        thread = threading.Thread(target=other)
        thread.start()
        assert opened.wait(10)
    assert gc.get_freeze_count() > own, "the other thread's block still holds the freeze"
    closed.set()
    thread.join(10)
    assert seen[0] > own
    assert gc.get_freeze_count() <= own
    print("ok")
    """
)


def test_the_outermost_block_collects_freezes_and_unfreezes() -> None:
    # A fresh interpreter: in this one the session's own block is open (collected_heap.py).
    done = subprocess.run(
        [sys.executable, "-c", OUTERMOST], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_block_inside_a_frozen_heap_leaves_it_frozen() -> None:
    before = gc.get_freeze_count()
    with frozen_heap(collect=True):
        assert gc.get_freeze_count() >= before
    assert gc.get_freeze_count() >= before, "the session's freeze was undone"
