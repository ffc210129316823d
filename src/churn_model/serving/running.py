"""What the service holds while it runs: the model, its thread, the batch validator's, the batcher.

Predictions run on one dedicated thread whose OpenMP pool is limited to one thread: on a tiny batch
a thread team costs more than it saves, and concurrent requests are served by micro-batching
(``micro_batching``), not by threads fighting over two cores. Batches are parsed and validated on
another thread, so the event loop (``/health`` above all) is never blocked.
"""

from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel

from churn_model.serving import contract
from churn_model.serving.compiled_model import score_records
from churn_model.serving.heap import frozen_heap
from churn_model.serving.micro_batching import MicroBatcher
from churn_model.serving.served_model import CompiledModel
from churn_model.threads import limit_this_thread

MICRO_BATCH_MAX = 256
"""Most single-record requests scored in one pipeline call (well under a 1 ms queue at any load)."""

VALIDATION_THREADS = 1
"""Batches parsed and validated at once, on a worker thread (more wait their turn). Parsing is one
call into pydantic-core that holds the interpreter (up to ~40 ms for the largest body): two at once
would stack, and the event loop, ``/health`` included, would wait for both."""


def predictions(model: CompiledModel, records: Sequence[BaseModel]) -> list[contract.Prediction]:
    """Score ``records`` into one prediction each, in order (run on the model thread)."""
    probability, label = score_records(model, records)
    return [
        contract.prediction(record, p, y)
        for record, p, y in zip(records, probability.tolist(), label.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class Running:
    """What the service holds while it runs: the model and the threads that serve it."""

    model: CompiledModel
    scoring: ThreadPoolExecutor
    """The one model thread (its OpenMP pool limited to one thread)."""
    validation: ThreadPoolExecutor
    """Where batches are parsed and validated, off the event loop."""
    batcher: MicroBatcher[BaseModel, contract.Prediction]
    """Single records, scored together on the model thread."""


@asynccontextmanager
async def running(model: CompiledModel) -> AsyncIterator[Running]:
    """Start the threads that serve ``model``; on the way out, stop them once their work is done."""
    scoring = ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="model",
        initializer=limit_this_thread,
        initargs=(1,),
    )
    validation = ThreadPoolExecutor(VALIDATION_THREADS, thread_name_prefix="validate")
    # The model and the imported libraries live as long as the process.
    try:
        with frozen_heap(collect=True):
            yield Running(
                model=model,
                scoring=scoring,
                validation=validation,
                batcher=MicroBatcher(partial(predictions, model), scoring, MICRO_BATCH_MAX),
            )
    finally:
        scoring.shutdown(wait=True)
        validation.shutdown(wait=True)
