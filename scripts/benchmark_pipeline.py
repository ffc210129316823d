"""Time the ML path at growing sizes and measure its peak memory: does it scale linearly?

For each row count (10k, 100k and 1M by default) a fresh Python process draws that many synthetic
rows of the project's schema (:mod:`churn_model.data.synthetic`), then runs,
timing each stage:

- ``write``: write the table as CSV (the deterministic writer that produces the pinned data);
- ``read``: read it back with :func:`churn_model.data.pinning.read_table`;
- ``validate``: :func:`churn_model.data.validation.validate` (Arrow, chunk by chunk,
  every rule);
- ``train``: fit the pipeline of :func:`churn_model.domain.features.build_pipeline`
  with the versioned hyper-parameters (``configs/model.toml``);
- ``predict``: ``predict_proba`` on every row (batch scoring).

Each stage reports its wall time and its CPU time (best of ``--repeat`` runs, training once).
Peak memory is the process's resident-set high-water mark (``ru_maxrss``) after each stage; it
only grows, so the value after ``predict`` is the peak of the whole path. One process per size keeps
the sizes from sharing a high-water mark. The table ends with a linearity check: the growth
exponent ``k`` in ``cpu_time ~ rows^k`` between consecutive sizes (1 is linear; fixed start-up
costs make small sizes look sub-linear). CPU time, not wall time: on a shared machine the wall time
of the same work varies by half or more, its CPU time much less. Exits non-zero if the largest
size exceeds the memory budget or a stage grows clearly faster than linearly.

Run from the repository root: ``just bench-pipeline`` (or ``uv run python
scripts/benchmark_pipeline.py --rows 10000 100000``).
"""

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from churn_model.config import load_model_config
from churn_model.data.pinning import read_table
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.domain.features import build_pipeline
from churn_model.domain.schema import SCHEMA

STAGES = ("write", "read", "validate", "train", "predict")
MEMORY_BUDGET_MB = 2_048
MAX_EXPONENT = 1.15  # above this between the two largest sizes, growth is worse than linear


def _peak_mb() -> float:
    """This process's resident-set high-water mark, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best_of[T](repeat: int, action: Callable[[], T]) -> tuple[float, float, T]:
    """Run ``action`` ``repeat`` times; return the fastest wall and CPU times and the last result.

    CPU time (all threads of this process) measures the work done, whatever else the machine is
    running; wall time is what a user waits. The linearity check uses CPU time.
    """
    walls, cpus, results = [], [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        results.append(action())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), results[-1]


def _timed[T](figures: dict[str, float], stage: str, repeat: int, action: Callable[[], T]) -> T:
    """Time one stage into ``figures`` (wall, CPU and the RSS high-water mark after it)."""
    figures[f"{stage}_s"], figures[f"{stage}_cpu"], result = _best_of(repeat, action)
    figures[f"{stage}_mb"] = _peak_mb()
    return result


def _write_and_read(rows: int, repeat: int, figures: dict[str, float]) -> pd.DataFrame:
    """Draw ``rows`` synthetic rows, time writing them as CSV and reading them back."""
    frame = _timed(figures, "generate", 1, lambda: synthetic_frame(rows))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.csv"
        _timed(figures, "write", repeat, lambda: write_csv(frame, path))
        figures["csv_mb"] = path.stat().st_size / 2**20
        return _timed(figures, "read", repeat, lambda: read_table(path))


def _worker(rows: int, repeat: int) -> None:
    """Run every stage on ``rows`` synthetic rows; print one JSON object of figures."""
    config = load_model_config()
    # Warm up once on a tiny table, so one-time costs (lazy imports, schema construction) do not
    # pass for per-row costs in the linearity check.
    validate(synthetic_frame(SCHEMA.min_rows + 100), "warm-up")
    figures: dict[str, float] = {"baseline_mb": _peak_mb()}
    raw = _write_and_read(rows, repeat, figures)
    valid = _timed(figures, "validate", repeat, lambda: validate(raw, "benchmark"))
    features = valid[SCHEMA.feature_names()]
    labels = SCHEMA.label.encode(valid[SCHEMA.label.name])
    model = build_pipeline(config.model, config.seed)
    _timed(figures, "train", 1, lambda: model.fit(features, labels))
    scores = _timed(figures, "predict", repeat, lambda: model.predict_proba(features)[:, 1])
    figures["share_flagged"] = float((scores >= config.decision.threshold).mean())
    print(json.dumps(figures))


def _run(rows: int, repeat: int, threads: int) -> dict[str, float]:
    """Measure one size in a fresh process (so each size has its own memory high-water mark)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    result = subprocess.run(  # our own script, same interpreter
        [sys.executable, __file__, "--worker", str(rows), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode != 0:
        sys.exit(f"benchmark worker for {rows} rows failed:\n{result.stderr}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _report(results: dict[int, dict[str, float]]) -> bool:
    """Print the figures and the linearity check; return whether every budget is met."""
    print(
        f"{'rows':>9} {'stage':>9} {'wall s':>7} {'cpu s':>7} {'rows/s':>11} {'cpu us/row':>10} "
        f"{'peak RSS MB':>12}"
    )
    for rows, figures in results.items():
        for stage in STAGES:
            wall, cpu = figures[f"{stage}_s"], figures[f"{stage}_cpu"]
            print(
                f"{rows:>9,} {stage:>9} {wall:>7.2f} {cpu:>7.2f} {rows / wall:>11,.0f} "
                f"{1e6 * cpu / rows:>10.2f} {figures[f'{stage}_mb']:>12.0f}"
            )
        print(
            f"{'':>9} {'(setup)':>9} generate {figures['generate_s']:.2f} s; CSV "
            f"{figures['csv_mb']:.1f} MB; RSS after imports {figures['baseline_mb']:.0f} MB"
        )
    sizes = sorted(results)
    ok = True
    print("\nlinearity: k in cpu_time ~ rows^k between consecutive sizes (1 = linear)")
    for stage in STAGES:
        exponents = [
            math.log(results[large][f"{stage}_cpu"] / results[small][f"{stage}_cpu"])
            / math.log(large / small)
            for small, large in itertools.pairwise(sizes)
        ]
        worst = exponents[-1] if exponents else 0.0
        ok &= worst <= MAX_EXPONENT
        shown = ", ".join(
            f"{a:,}->{b:,}: {k:.2f}"
            for (a, b), k in zip(itertools.pairwise(sizes), exponents, strict=True)
        )
        print(f"  {stage:>9}: {shown}  {'ok' if worst <= MAX_EXPONENT else 'WORSE THAN LINEAR'}")
    peak = max(results[sizes[-1]][f"{stage}_mb"] for stage in STAGES)
    within = peak < MEMORY_BUDGET_MB
    ok &= within
    print(
        f"\npeak RSS at {sizes[-1]:,} rows: {peak:.0f} MB "
        f"({'within' if within else 'OVER'} the {MEMORY_BUDGET_MB} MB budget)"
    )
    return ok


def main() -> None:
    """Parse arguments; run the worker, or drive one worker per size and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="best of N for every stage but training (default 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OpenMP threads for scikit-learn (default 1; 0 = the library's default)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, max(1, args.repeat))
        return
    threads = "library default" if args.threads == 0 else str(args.threads)
    print(f"best of {args.repeat} (training: one run); OpenMP threads: {threads}")
    results = {}
    for rows in sorted(args.rows):
        print(f"measuring {rows:,} rows ...", file=sys.stderr, flush=True)
        results[rows] = _run(rows, args.repeat, args.threads)
    if not _report(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
