"""Time `just check` on a fresh clone (first run) and again on the same clone (warm).

Run with `just bench-check`. It clones the committed HEAD into a temporary folder, so uncommitted
changes are not measured. "First run" includes creating the virtual environment from uv.lock (with
uv's download cache warm, as on any machine that has synced once) and cold mypy/ruff/pytest caches;
"warm" is the run a developer makes hundreds of times a day.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_WARM_S = 30.0
BUDGET_FIRST_S = 90.0


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}")
    return elapsed


def main(warm_runs: int = 3) -> None:
    """Clone HEAD, time the first `just check`, then the warm ones, and print a table."""
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        first = _timed(["just", "check"], clone)
        warm = [_timed(["just", "check"], clone) for _ in range(warm_runs)]
    best, worst, median = min(warm), max(warm), statistics.median(warm)
    print(f"{'run':<28}{'seconds':>10}{'budget':>10}")
    print(f"{'fresh clone, first check':<28}{first:>10.1f}{BUDGET_FIRST_S:>10.0f}")
    print(f"{'warm check (best)':<28}{best:>10.1f}{BUDGET_WARM_S:>10.0f}")
    print(f"{'warm check (median)':<28}{median:>10.1f}{BUDGET_WARM_S:>10.0f}")
    print(f"{'warm check (worst)':<28}{worst:>10.1f}{BUDGET_WARM_S:>10.0f}")
    # The budget is judged on the median: one run slowed by a neighbour is noise, not a regression.
    if first > BUDGET_FIRST_S or median > BUDGET_WARM_S:
        raise SystemExit("over budget")


if __name__ == "__main__":
    main()
