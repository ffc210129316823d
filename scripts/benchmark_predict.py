"""Batch scoring at growing sizes: does ``churn-model predict`` keep its memory flat?

For each row count (1M and 10M by default) the script writes a CSV table of synthetic rows of the
project's schema (:mod:`churn_model.data.synthetic`, drawn chunk by chunk so the script
itself stays small; every size starts with the same rows, ids unique across the table), then
scores it with ``churn-model predict`` in a fresh process, with the same chunk size
for every size, and prints, side by side: wall time, CPU time, rows per second, and the peak
resident memory of the scoring process (measured as ``scripts/peak_rss.py`` explains).
``--one-piece`` adds a run at the smallest size with one chunk holding the whole table (what
scoring in one piece costs in memory).

At the smallest size it also runs, each in a fresh process, the two yardsticks of
``scripts/predict_baselines.py``: the naive pandas path (``read_csv``, ``Pipeline.predict_proba``,
``to_csv``) and the model-bound limit (Arrow's reader and writer around the compiled
preprocessing and the classifier, no validation), and prints the three side by side.

It then checks what the streaming promises, and exits non-zero if any fails:

- the peak stays under :data:`MEMORY_BUDGET_MB` at every size;
- the peak does not grow with the row count (largest against smallest, within
  :data:`GROWTH_MB`);
- the output of the largest size begins with exactly the bytes of the smallest's (the same rows
  scored the same, whatever comes after them);
- ``predict`` takes at most :data:`LIMIT_RATIO` times the model-bound limit's CPU time (wall time
  is printed too; on a shared machine it measures the neighbours as well).

The model is trained once on synthetic rows (the real training path), unless ``--model-dir``
names a packaged one. Tables and outputs go to a temporary folder (``--work`` to keep them and
reuse the tables on a later run). Run from the repository root: ``just bench-predict`` (or
``uv run python scripts/benchmark_predict.py --rows 100000 1000000``). The machine this template
is built on has two shared cores: 10M rows take a few minutes.
"""

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.candidate import create_candidate
from churn_model.serving.batch_scoring import CHUNK_ROWS

from peak_rss import measure

MEMORY_BUDGET_MB = 500
GROWTH_MB = 50
"""How much more the largest size may peak than the smallest: noise (allocator, page cache), not
growth (at 10x the rows, memory that grew with the table would add hundreds of MB)."""
LIMIT_RATIO = 1.5
"""How many times the model-bound limit's CPU time ``predict`` may take (it validates every value
and writes every field back byte for byte; the limit does neither)."""
TRAIN_ROWS = 20_000
GENERATE_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Run:
    """One scoring run's figures."""

    path: str
    """``predict``, or a yardstick (``naive``, ``limit``)."""
    rows: int
    chunk_rows: int
    input_mb: float
    wall_s: float
    cpu_s: float
    peak_mb: float


def _model(folder: Path) -> Path:
    """Train a candidate on synthetic rows (the real training path); lay it out as a model dir."""
    data = folder / "train.csv"
    write_csv(synthetic_frame(TRAIN_ROWS, seed=1), data)
    candidate = create_candidate(data, root=folder / "candidates")
    model = folder / "model"
    model.mkdir(exist_ok=True)
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copyfile(candidate / name, model / name)
    return model


def _table(path: Path, rows: int) -> Path:
    """Write ``rows`` synthetic scoring rows as CSV, chunk by chunk (reused if already there).

    Chunk ``i`` is drawn from seed ``100 + i``, so every size starts with the same rows; ids run
    over the whole table, so none repeats.
    """
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        for index, first in enumerate(range(0, rows, GENERATE_ROWS)):
            frame = synthetic_frame(min(GENERATE_ROWS, rows - first), seed=100 + index, label=False)
            if SCHEMA.id is not None:
                frame[SCHEMA.id.name] = [f"r{first + row:09d}" for row in range(len(frame))]
            frame.to_csv(handle, index=False, header=first == 0, float_format="%.15g")
    partial.replace(path)
    return path


def _score(table: Path, output: Path, model: Path, rows: int, chunk_rows: int) -> Run:
    """Time ``churn-model predict`` in a new process: wall time, CPU time, peak RSS."""
    command = [sys.executable, "-m", "churn_model", "predict", str(table), str(output)]
    run = measure([*command, "--model-dir", str(model), "--chunk-rows", str(chunk_rows)])
    if run.exit_code != 0:
        sys.exit(f"scoring {rows:,} rows failed (exit {run.exit_code})")
    return Run(
        path="predict",
        rows=rows,
        chunk_rows=chunk_rows,
        input_mb=table.stat().st_size / 2**20,
        wall_s=run.wall_s,
        cpu_s=run.cpu_s,
        peak_mb=run.peak_mb,
    )


def _yardstick(kind: str, table: Path, output: Path, model: Path, rows: int) -> Run:
    """Time one of ``scripts/predict_baselines.py``'s paths in a new process."""
    script = Path(__file__).with_name("predict_baselines.py")
    run = measure([sys.executable, str(script), kind, str(table), str(output), str(model)])
    if run.exit_code != 0:
        sys.exit(f"the {kind} path failed on {rows:,} rows (exit {run.exit_code})")
    return Run(
        path=kind,
        rows=rows,
        chunk_rows=0,
        input_mb=table.stat().st_size / 2**20,
        wall_s=run.wall_s,
        cpu_s=run.cpu_s,
        peak_mb=run.peak_mb,
    )


def _same_start(small: Path, large: Path) -> bool:
    """Whether ``large`` begins with every byte of ``small`` (read in blocks)."""
    with small.open("rb") as short, large.open("rb") as long:
        for block in iter(lambda: short.read(1 << 20), b""):
            if long.read(len(block)) != block:
                return False
    return True


def _report(runs: list[Run]) -> None:
    """Print the runs side by side."""
    print(
        f"{'path':>8} {'rows':>11} {'chunk rows':>11} {'input MB':>9} {'wall s':>8} {'cpu s':>8} "
        f"{'rows/s':>9} {'cpu us/row':>10} {'peak RSS MB':>12}"
    )
    for run in runs:
        chunks = f"{run.chunk_rows:>11,}" if run.chunk_rows else f"{'-':>11}"
        print(
            f"{run.path:>8} {run.rows:>11,} {chunks} {run.input_mb:>9.0f} {run.wall_s:>8.1f} "
            f"{run.cpu_s:>8.1f} {run.rows / run.wall_s:>9,.0f} {1e6 * run.cpu_s / run.rows:>10.1f} "
            f"{run.peak_mb:>12.0f}"
        )


def _verdict(streamed: list[Run], outputs: list[Path], bound: Run | None) -> bool:
    """Check budget, growth, outputs and the limit; print each finding; whether all hold."""
    ok = True
    if bound is not None:
        # CPU time: on a machine shared with other work, wall time measures the neighbours too
        # (the limit's reader may use more than one core, which only raises its CPU time).
        ratio = streamed[0].cpu_s / bound.cpu_s
        close = ratio <= LIMIT_RATIO
        ok &= close
        print(
            f"{streamed[0].rows:>11,} rows: predict takes {ratio:.2f}x the model-bound limit's "
            f"CPU time ({'within' if close else 'OVER'} {LIMIT_RATIO}x); wall time "
            f"{streamed[0].wall_s / bound.wall_s:.2f}x"
        )
    for run in streamed:
        within = run.peak_mb < MEMORY_BUDGET_MB
        ok &= within
        print(
            f"{run.rows:>11,} rows: peak {run.peak_mb:.0f} MB, "
            f"{'within' if within else 'OVER'} the {MEMORY_BUDGET_MB} MB budget"
        )
    if len(streamed) > 1:
        growth = streamed[-1].peak_mb - streamed[0].peak_mb
        flat = growth < GROWTH_MB
        same = _same_start(outputs[0], outputs[-1])
        ok &= flat and same
        print(
            f"peak at {streamed[-1].rows:,} rows minus peak at {streamed[0].rows:,}: "
            f"{growth:+.0f} MB ({'constant' if flat else 'GROWS WITH THE TABLE'}; "
            f"limit {GROWTH_MB} MB)"
        )
        print(
            f"the {streamed[-1].rows:,}-row output begins with the {streamed[0].rows:,}-row "
            f"output byte for byte: {'yes' if same else 'NO'}"
        )
    return ok


def main() -> None:
    """Parse arguments, prepare the model and tables, score every size, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    parser.add_argument("--model-dir", type=Path, help="a packaged model (default: train one)")
    parser.add_argument("--work", type=Path, help="keep tables and outputs here (and reuse)")
    parser.add_argument(
        "--one-piece", action="store_true", help="also score the smallest size as one chunk"
    )
    parser.add_argument(
        "--no-yardsticks", action="store_true", help="skip the naive and model-bound paths"
    )
    args = parser.parse_args()
    scratch = None if args.work else tempfile.mkdtemp(prefix="bench-predict-")
    work = args.work or Path(str(scratch))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print("preparing the model and the tables ...", file=sys.stderr, flush=True)
        model = args.model_dir or _model(work)
        sizes = sorted(args.rows)
        tables = {rows: _table(work / f"score-{rows}.csv", rows) for rows in sizes}
        runs, outputs = [], []
        for rows in sizes:
            print(f"scoring {rows:,} rows ...", file=sys.stderr, flush=True)
            output = work / f"scored-{rows}.csv"
            runs.append(_score(tables[rows], output, model, rows, args.chunk_rows))
            outputs.append(output)
        extra = []
        if args.one_piece:
            print(f"scoring {sizes[0]:,} rows in one piece ...", file=sys.stderr, flush=True)
            output = work / f"scored-{sizes[0]}-one-piece.csv"
            extra.append(_score(tables[sizes[0]], output, model, sizes[0], sizes[0]))
        bound = None
        if not args.no_yardsticks:
            for kind in ("naive", "limit"):
                print(f"{kind} path, {sizes[0]:,} rows ...", file=sys.stderr, flush=True)
                output = work / f"{kind}-{sizes[0]}.csv"
                extra.append(_yardstick(kind, tables[sizes[0]], output, model, sizes[0]))
            bound = extra[-1]
        _report(runs + extra)
        ok = _verdict(runs, outputs, bound)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
