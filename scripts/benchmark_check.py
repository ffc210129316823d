"""Time `just check` on a fresh clone (first run) and again on the same clone (warm).

Run with `just bench-check`. It clones the committed HEAD into a temporary folder, so uncommitted
changes are not measured. "First run" includes creating the virtual environment from uv.lock (with
uv's download cache warm, as on any machine that has synced once) and cold mypy/ruff/pytest caches;
"warm" is the run a developer makes hundreds of times a day.

`just bench-check --against REV` clones REV too and alternates the warm runs of the two clones
(HEAD, REV, HEAD, REV, ...), so a change is measured against what it replaces on the same machine
in the same minutes, and prints the ratio: a busy neighbour slows both alike.
"""

import argparse
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
    """Seconds ``cmd`` took in ``cwd``; exits with its output when it fails."""
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-12_000:] + result.stderr[-4_000:])
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}")
    return elapsed


def _clone(revision: str, dest: Path) -> Path:
    """A clone of this repository at ``revision`` in ``dest``."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", revision], check=True)
    return dest


def _row(name: str, figures: list[float], budget: float) -> str:
    cells = "".join(f"{figure:>10.1f}" for figure in figures)
    ratio = f"{figures[0] / figures[1]:>8.2f}" if len(figures) == 2 else ""
    return f"{name:<28}{cells}{budget:>10.0f}{ratio}"


def main() -> None:
    """Clone HEAD (and ``--against``), time the first `just check`, then the warm ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also time REV, alternating with HEAD")
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each clone (default 3)")
    args = parser.parse_args()
    revisions = ["HEAD"] + ([args.against] if args.against else [])
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        clones = [_clone(rev, Path(tmp) / f"clone-{i}") for i, rev in enumerate(revisions)]
        first = [_timed(["just", "check"], clone) for clone in clones]
        warm: list[list[float]] = [[] for _ in clones]
        for _ in range(args.runs):
            for times, clone in zip(warm, clones, strict=True):
                times.append(_timed(["just", "check"], clone))
    header = "".join(f"{rev[:10]:>10}" for rev in revisions)
    print(f"{'run (seconds)':<28}{header}{'budget':>10}" + ("   ratio" if args.against else ""))
    print(_row("fresh clone, first check", first, BUDGET_FIRST_S))
    print(_row("warm check (best)", [min(times) for times in warm], BUDGET_WARM_S))
    print(_row("warm check (median)", [statistics.median(t) for t in warm], BUDGET_WARM_S))
    print(_row("warm check (worst)", [max(times) for times in warm], BUDGET_WARM_S))
    # The budget is judged on HEAD's median: one run slowed by a neighbour is noise, not a
    # regression.
    if first[0] > BUDGET_FIRST_S or statistics.median(warm[0]) > BUDGET_WARM_S:
        raise SystemExit("over budget")


if __name__ == "__main__":
    main()
