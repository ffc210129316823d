"""Time `just train` and `just gate` on the bundled sample, as a user runs them.

Each recipe is run as a subprocess (so the figures include `uv run`, interpreter start-up and
imports), once untimed to warm caches, then ``--repeats`` times. Prints the wall time of each run
and the median per recipe, and exits non-zero when the median train + gate exceeds the target.

Run it with ``just bench-train-gate``. Every run writes a new candidate under
``artifacts/candidates/`` (never a registry change).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0
RECIPES = ("train", "gate")


def run(recipe: str, env: dict[str, str]) -> float:
    """Run ``just <recipe>`` in the repository root and return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        ["just", recipe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"`just {recipe}` failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def measure(env: dict[str, str], repeats: int) -> dict[str, list[float]]:
    """Warm up once, then time each recipe ``repeats`` times (train and gate alternating)."""
    for recipe in RECIPES:  # warm-up: uv's environment check, bytecode caches, font cache
        run(recipe, env)
    times: dict[str, list[float]] = {recipe: [] for recipe in RECIPES}
    for _ in range(repeats):
        for recipe, seconds in times.items():
            seconds.append(run(recipe, env))
    return times


def report(title: str, times: dict[str, list[float]]) -> float:
    """Print one block of figures; return the median train + gate."""
    print(title)
    for recipe, seconds in times.items():
        runs = " ".join(f"{s:.2f}" for s in seconds)
        print(f"  {recipe:<6} median {statistics.median(seconds):6.2f}   runs: {runs}")
    total = sum(statistics.median(seconds) for seconds in times.values())
    print(f"  total  median {total:6.2f}")
    return total


def main() -> None:
    """Parse arguments, time the recipes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per recipe")
    # >>> tracking
    # With a running MLflow server (`just tracking-server` in another terminal), the same runs are
    # timed again with MLFLOW_TRACKING_URI set, and the cost of tracking printed beside the figures
    # without it. Without tracking MLflow is never imported: the first figures are what a project
    # that does not track pays.
    parser.add_argument("--tracking-uri", help="also time with MLFLOW_TRACKING_URI set to this")
    # <<< tracking
    args = parser.parse_args()
    plain = dict(os.environ)
    # >>> tracking
    plain = {k: v for k, v in plain.items() if not k.startswith("MLFLOW_")}
    # <<< tracking
    title = f"just train + just gate on the sample, warm, {args.repeats} runs (wall seconds)"
    total = report(title, measure(plain, args.repeats))
    verdict = "within" if total <= TARGET_S else "OVER"
    print(f"  target <= {TARGET_S:.0f} s: {verdict}")
    # >>> tracking
    if args.tracking_uri:
        tracked = {**plain, "MLFLOW_TRACKING_URI": args.tracking_uri}
        with_tracking = report(f"{title}, tracking on", measure(tracked, args.repeats))
        print(f"  cost of tracking: {with_tracking - total:+.2f} s ({with_tracking / total:.2f}x)")
    # <<< tracking
    if total > TARGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
