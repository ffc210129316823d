"""The machinery goes the whole path on schemas it was not written for, drawn by Hypothesis.

Each schema runs in a fresh child process whose domain it is (:mod:`fresh_domain`), exactly as an
adopter's edited ``schema.py``: infer -> validate -> train -> calibrate -> gate -> promote -> export
-> load as ``serve`` does -> ``/predict`` and ``/predict/batch`` on a real uvicorn server -> smoke
test -> ``predict`` on a file, with the same probabilities everywhere (:mod:`whole_path`).

The fast set runs three of the tables written down in ``schema_strategies.EXAMPLES`` (no boolean, no
number, no category column; labels written as words); the slow set runs them all (between them,
every corner of ``schema_strategies.CORNERS``) and 25 schemas drawn at random, and prints each
one's CPU time and the corners they reached.
"""

import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from drawn_tables import DrawnTable
from fresh_domain import run_in_domain
from schema_strategies import EXAMPLES, FAST_EXAMPLES, corners_of, drawn_tables

SLOW_EXAMPLES = 25


def _whole_path(table: DrawnTable) -> dict[str, Any]:
    """Go the whole path on ``table`` in a child whose domain is its schema, or fail with why."""
    with tempfile.TemporaryDirectory(prefix="drawn-domain-") as scratch:
        outcome = run_in_domain(
            table.source(), Path(scratch), "whole_path:run", table.rows, table.seed, table.sparse
        )
    if outcome.error is not None:
        pytest.fail(
            f"the whole path failed under this schema.py ({table.rows} rows, seed {table.seed}, "
            f"missing in most rows: {list(table.sparse)}):\n{table.source()}\n"
            f"the child's traceback:\n{outcome.error}",
            pytrace=False,
        )
    assert isinstance(outcome.value, dict)
    return {**outcome.value, "cpu": outcome.cpu_seconds}


@pytest.mark.parametrize("name", FAST_EXAMPLES)
def test_the_whole_path_holds_on_a_table_written_down(name: str) -> None:
    seen = _whole_path(EXAMPLES[name])
    print(f"{name}: {seen['cpu']:.2f} s CPU in the child; steps: {seen['seconds']}")


@pytest.mark.slow
def test_the_whole_path_holds_on_drawn_schemas() -> None:
    runs: list[tuple[set[str], dict[str, Any]]] = []

    @settings(
        max_examples=SLOW_EXAMPLES,
        database=None,
        deadline=None,
        # A failing schema is reported as drawn: shrinking would rerun the path hundreds of times.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(table=drawn_tables())
    def holds(table: DrawnTable) -> None:
        runs.append((corners_of(table), _whole_path(table)))

    for table in EXAMPLES.values():
        holds = example(table=table)(holds)
    holds()
    assert len(runs) >= len(EXAMPLES) + SLOW_EXAMPLES
    seconds = [seen["cpu"] for _, seen in runs]
    reached = Counter(corner for corners, _ in runs for corner in corners)
    print(
        f"{len(runs)} schemas ({len(EXAMPLES)} written down), CPU per schema (in its child): "
        f"min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s, total {sum(seconds):.1f} s"
    )
    for corners, seen in runs:
        slices = seen["held-out slice rows"]
        print(f"  {seen['cpu']:5.2f} s  {len(slices):3} slices  {sorted(corners)}")
    print("corners reached (schemas):", dict(sorted(reached.items())))
