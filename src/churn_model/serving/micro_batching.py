"""Micro-batching: concurrent single-record requests share one pipeline call.

Scoring one row costs about a millisecond (the compiled path of
:mod:`churn_model.serving.fast_path`), nearly all of it fixed overhead (input checks,
one call per tree): scoring eight rows costs about the same as scoring one. Under concurrent load,
requests that arrive while the model is busy are therefore queued and scored together on its next
call, which keeps tail latency flat without changing what is computed (each row's prediction does
not depend on the other rows).
"""

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor


class MicroBatcher[In, Out]:
    """Coalesce concurrent :meth:`submit` calls into calls of ``score`` on ``executor``.

    ``score`` receives a list of inputs and must return one output per input, in order. At most
    one call runs at a time; whatever arrived meanwhile (up to ``max_size``) forms the next call.
    """

    def __init__(
        self, score: Callable[[Sequence[In]], Sequence[Out]], executor: Executor, max_size: int
    ) -> None:
        """Score batches of at most ``max_size`` inputs with ``score``, run on ``executor``."""
        self._score = score
        self._executor = executor
        self._max_size = max_size
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        """Score one input, together with whatever else is waiting, and return its output."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Score pending inputs batch by batch until none are left."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._pending[: self._max_size]
                del self._pending[: self._max_size]
                inputs = [item for item, _ in batch]
                try:
                    outputs = await loop.run_in_executor(self._executor, self._score, inputs)
                    paired = list(zip(batch, outputs, strict=True))
                except asyncio.CancelledError:  # shutting down: no caller may wait forever
                    for _, future in [*batch, *self._pending]:
                        future.cancel()
                    raise
                except Exception as error:  # every caller of this batch sees the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), output in paired:
                    if not future.done():  # the caller may have gone (client disconnected)
                        future.set_result(output)
        finally:
            self._drainer = None
