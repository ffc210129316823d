"""Time `just train` and `just gate` on the bundled sample, as a user runs them.

Each recipe is run as a subprocess (so the figures include `uv run`, interpreter start-up and
imports), once untimed to warm caches, then ``--repeats`` times. Prints the wall time of each run
and the median per recipe, and exits non-zero when the median train + gate exceeds the target.

Run it with ``just bench-train-gate``. Every run writes a new candidate under
``artifacts/candidates/`` (never a registry change).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0


def run(recipe: str) -> float:
    """Run ``just <recipe>`` in the repository root and return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        ["just", recipe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"`just {recipe}` failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    """Parse arguments, time the recipes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per recipe")
    args = parser.parse_args()
    run("train")  # warm-up: uv's environment check, bytecode caches, matplotlib's font cache
    run("gate")
    times: dict[str, list[float]] = {"train": [], "gate": []}
    for _ in range(args.repeats):
        for recipe, seconds in times.items():
            seconds.append(run(recipe))
    print(f"just train + just gate on the sample, warm, {args.repeats} runs (wall seconds)")
    for recipe, seconds in times.items():
        runs = " ".join(f"{s:.2f}" for s in seconds)
        print(f"  {recipe:<6} median {statistics.median(seconds):6.2f}   runs: {runs}")
    total = sum(statistics.median(seconds) for seconds in times.values())
    verdict = "within" if total <= TARGET_S else "OVER"
    print(f"  total  median {total:6.2f}   target <= {TARGET_S:.0f} s: {verdict}")
    if total > TARGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
