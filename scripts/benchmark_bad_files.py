"""Feed the table readers files built to stall them: the time to refuse each, and peak RSS.

Unbounded readers took 501 s and died with a MemoryError on a 5 MB CSV of one line of commas, and
took 37 s and 6.5 GB to refuse a 2 GB sparse file after 13 KB of valid CSV. This script builds
such files (sparse where it can, so they cost no disk) and runs
``churn-model validate`` (a whole-table read) and ``churn-model predict``
(the chunked read) on each, in a fresh process with a time limit and an address-space
limit (so an unbounded reader fails on this machine instead of taking it down), and
prints for each: the exit code, the wall time to refuse, the peak resident memory of that
process (``scripts/peak_rss.py``) and the last line of the message.

It imports nothing from the package beyond what every version has, so the same script measures an
older checkout too (run it with that checkout's interpreter: ``uv run --project OLD python
scripts/benchmark_bad_files.py``), which gives the before/after figures. Run from the repository
root: ``just bench-bad-files``. ``--model-dir`` names a packaged model for ``predict`` (default:
``dist/model``; without one, ``predict`` refuses for that reason and only ``validate`` counts).
"""

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.schema import SCHEMA

from peak_rss import Measured, measure

MB = 1 << 20


def _commas(path: Path, size: int) -> None:
    path.write_bytes(b"," * size)


def _valid_then_zeros(path: Path, size: int) -> None:
    write_csv(synthetic_frame(120, seed=3), path)  # ~13 KB of valid rows
    with path.open("r+b") as handle:
        handle.truncate(size)  # a sparse hole: zeros that use no disk


def _wide_header(path: Path, columns: int) -> None:
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n1\n", encoding="utf-8")


def _long_row(path: Path, size: int) -> None:
    write_csv(synthetic_frame(120, seed=3), path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("x" * size + "\n")


def _valid(path: Path, _: int) -> None:
    write_csv(synthetic_frame(SCHEMA.min_rows + 100, seed=3), path)


CASES: dict[str, tuple[Callable[[Path, int], None], int]] = {
    "(baseline: a valid table)": (_valid, 0),
    "5 MB of commas on one line": (_commas, 5 * MB),
    "50 MB of commas on one line": (_commas, 50 * MB),
    "13 KB of CSV, then zeros to 2 GB": (_valid_then_zeros, 2048 * MB),
    "a header of 20,000 columns": (_wide_header, 20_000),
    "valid rows, then a 20 MB row": (_long_row, 20 * MB),
}


def _run(command: list[str], timeout: float, address_space: int) -> tuple[str, Measured, str]:
    """Run ``command``; how it ended, its figures and the last line of its message."""
    with tempfile.TemporaryFile() as errors:
        run = measure(command, timeout=timeout, address_space=address_space, stderr=errors)
        errors.seek(0)
        lines = [line for line in errors.read().decode(errors="replace").splitlines() if line]
    outcome = f"killed at {timeout:.0f} s" if run.killed else f"exit {run.exit_code}"
    return outcome, run, (lines[-1] if lines else "")[:110]


def main() -> None:
    """Build each hostile file, run the readers on it, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-gb", type=float, default=3.0, help="address-space limit")
    parser.add_argument("--model-dir", type=Path, default=Path("dist/model"))
    parser.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "churn_model"]
    print(f"{'file':<34} {'command':<8} {'outcome':<14} {'wall s':>7} {'peak MB':>8}  message")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.case or list(CASES):
            make, size = CASES[name]
            path = Path(folder) / "hostile.csv"
            make(path, size)
            commands = {
                "validate": [*cli, "validate", str(path)],
                "predict": [
                    *cli,
                    *("predict", str(path), str(Path(folder) / "out.csv")),
                    *("--model-dir", str(args.model_dir)),
                ],
            }
            for command, line in commands.items():
                outcome, run, message = _run(line, args.timeout, int(args.memory_gb * (1 << 30)))
                print(
                    f"{name:<34} {command:<8} {outcome:<14} {run.wall_s:>7.2f} "
                    f"{run.peak_mb:>8.0f}  {message}",
                    flush=True,
                )
            path.unlink()


if __name__ == "__main__":
    main()
