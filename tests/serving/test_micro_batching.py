"""Micro-batching: concurrent submissions share calls, keep their order, and share failures."""

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from churn_model.serving.micro_batching import MicroBatcher


def test_concurrent_submissions_are_scored_together_in_order() -> None:
    calls: list[list[int]] = []

    def score(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        return [item * 10 for item in items]

    async def main() -> list[int]:
        with ThreadPoolExecutor(max_workers=1) as executor:
            batcher = MicroBatcher(score, executor, max_size=4)
            return await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    assert asyncio.run(main()) == [i * 10 for i in range(10)]
    # All ten were queued before the first call started: batches of at most 4, in arrival order.
    assert calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    def score(items: Sequence[int]) -> list[int]:
        if 0 in items:
            raise ValueError("boom")
        return list(items)

    async def main() -> tuple[tuple[int | BaseException], int]:
        with ThreadPoolExecutor(max_workers=1) as executor:
            batcher = MicroBatcher(score, executor, max_size=8)
            first = await asyncio.gather(batcher.submit(0), return_exceptions=True)
            return first, await batcher.submit(5)

    first, later = asyncio.run(main())
    assert isinstance(first[0], ValueError)
    assert later == 5


def test_a_caller_that_went_away_does_not_break_the_batch() -> None:
    async def main() -> int:
        with ThreadPoolExecutor(max_workers=1) as executor:
            batcher: MicroBatcher[int, int] = MicroBatcher(list, executor, max_size=8)
            gone: asyncio.Future[int] = asyncio.ensure_future(batcher.submit(1))
            kept: asyncio.Future[int] = asyncio.ensure_future(batcher.submit(2))
            await asyncio.sleep(0)  # both are queued, the first call is under way
            gone.cancel()
            with pytest.raises(asyncio.CancelledError):
                await gone
            return await kept

    assert asyncio.run(main()) == 2


def test_a_scorer_returning_the_wrong_count_fails_its_callers_instead_of_hanging() -> None:
    async def main() -> BaseException | int:
        with ThreadPoolExecutor(max_workers=1) as executor:
            batcher: MicroBatcher[int, int] = MicroBatcher(lambda items: [], executor, max_size=8)
            (outcome,) = await asyncio.wait_for(
                asyncio.gather(batcher.submit(1), return_exceptions=True), timeout=5
            )
            return outcome

    assert isinstance(asyncio.run(main()), ValueError)


def test_cancelling_the_drain_cancels_every_waiting_caller() -> None:
    release = threading.Event()

    def score(items: Sequence[int]) -> list[int]:
        release.wait(5)
        return list(items)

    async def main() -> list[bool]:
        with ThreadPoolExecutor(max_workers=1) as executor:
            batcher = MicroBatcher(score, executor, max_size=1)
            callers = [asyncio.ensure_future(batcher.submit(i)) for i in range(3)]
            await asyncio.sleep(0.05)  # the first batch is being scored, two are queued
            assert batcher._drainer is not None
            batcher._drainer.cancel()
            done = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 5)
            release.set()
            return [isinstance(result, asyncio.CancelledError) for result in done]

    assert asyncio.run(main()) == [True, True, True]
