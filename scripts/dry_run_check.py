"""Dry run of the Check workflow: its ``run:`` steps, in order, on a clean clone of HEAD.

GitHub cannot be reached from every machine, so this is the next best proof that the Check workflow
passes: clone the committed state into a temporary folder, read ``.github/workflows/check.yml`` from
the clone, and run every ``run:`` step of every job, in file order, with the environment the
workflow and the job declare. The local ``uv`` and ``just`` stand in for the setup action; the other
``uses:`` steps (checkout, artifact upload, pull-request comment) need GitHub and are listed as
skipped. As on GitHub, a failing step skips the rest of its job; the script exits 1 when any step
failed and prints a step / job / result / seconds table either way.

The clone gets its own virtual environment, built from the shared uv cache, so nothing installed in
the working copy leaks in. Run it with ``just ci-dry-run``.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(".github/workflows/check.yml")
SETUP_ACTION = Path(".github/actions/setup")
# Variables that point uv at the working copy's environment: the clone must build its own.
ISOLATE = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_NO_SYNC", "UV_FROZEN")


@dataclass
class Result:
    """What happened to one step."""

    job: str
    step: str
    result: str
    seconds: float = 0.0


def _literal_env(block: dict[str, Any] | None) -> dict[str, str]:
    """The ``env:`` entries whose values are plain strings (expressions need GitHub)."""
    return {str(key): str(value) for key, value in (block or {}).items() if "${{" not in str(value)}


def _setup_versions(clone: Path) -> dict[str, str]:
    """The uv and just versions the setup action pins, keyed by tool."""
    action = yaml.safe_load((clone / SETUP_ACTION / "action.yml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for step in action["runs"]["steps"]:
        inputs = step.get("with") or {}
        if "setup-uv" in step.get("uses", ""):
            pins["uv"] = str(inputs.get("version", "?"))
        if "setup-just" in step.get("uses", ""):
            pins["just"] = str(inputs.get("just-version", "?"))
    return pins


def _capture(tool: str, *args: str, cwd: Path | None = None) -> str:
    """Run a local tool (found on PATH) and return its standard output; raise when it fails."""
    path = shutil.which(tool)
    if path is None:
        raise FileNotFoundError(f"{tool} is not on PATH")
    argv = [path, *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True).stdout


def _tool_version(tool: str) -> str:
    """The version a local tool reports ("just 1.59.0" gives "1.59.0"), or 'missing'."""
    try:
        words = _capture(tool, "--version").split()
    except (FileNotFoundError, subprocess.CalledProcessError):
        return "missing"
    return words[1] if len(words) > 1 else "missing"


def _stand_in_for_setup(clone: Path) -> str:
    """Check that the local tools can play the setup action's part; return the table's result."""
    pins = _setup_versions(clone)
    notes = []
    for tool in ("uv", "just"):
        local = _tool_version(tool)
        if local == "missing":
            return f"failed: {tool} not on PATH"
        if local != pins.get(tool):
            notes.append(f"{tool} {local}, workflow pins {pins.get(tool)}")
    return "local tools" + (f" ({'; '.join(notes)})" if notes else "")


def _run(command: str, cwd: Path, env: dict[str, str]) -> bool:
    """Run one step the way GitHub's default bash shell does; True when it passed."""
    shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command]
    return subprocess.run(shell, cwd=cwd, env=env, check=False).returncode == 0


def dry_run(clone: Path, summary: Path) -> list[Result]:
    """Run the Check workflow's steps in ``clone``; return one result per step."""
    workflow = yaml.safe_load((clone / WORKFLOW).read_text(encoding="utf-8"))
    base = {k: v for k, v in os.environ.items() if k not in ISOLATE}
    if venv := os.environ.get("VIRTUAL_ENV"):
        # `uv run` put the working copy's environment first on PATH: the clone must not see it.
        inherited = base.get("PATH", "").split(os.pathsep)
        base["PATH"] = os.pathsep.join(p for p in inherited if Path(p) != Path(venv) / "bin")
    base |= {"CI": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    base |= _literal_env(workflow.get("env"))
    results: list[Result] = []
    for job_name, job in workflow["jobs"].items():
        env = base | _literal_env(job.get("env"))
        failed = False
        for step in job.get("steps", []):
            uses, command = step.get("uses"), step.get("run")
            label = command or step.get("name") or str(uses).split("@", 1)[0]
            if failed:
                results.append(Result(job_name, label, "skipped (earlier step failed)"))
            elif command is None and uses == f"./{SETUP_ACTION}":
                outcome = _stand_in_for_setup(clone)
                failed = outcome.startswith("failed")
                results.append(Result(job_name, "setup action", outcome))
            elif command is None:
                results.append(Result(job_name, label, "skipped (needs GitHub)"))
            else:
                print(f"\n==> [{job_name}] {command}", flush=True)
                cwd = clone / step.get("working-directory", ".")
                start = time.perf_counter()
                passed = _run(command, cwd, env | _literal_env(step.get("env")))
                seconds = time.perf_counter() - start
                failed = not passed
                results.append(Result(job_name, command, "passed" if passed else "FAILED", seconds))
    return results


def table(results: list[Result]) -> str:
    """Render the results as a fixed-width table with a total line."""
    width = max(len(r.step) for r in results)
    jobs = max(len(r.job) for r in results)
    lines = [f"{'step':<{width}}  {'job':<{jobs}}  {'seconds':>7}  result"]
    lines += [f"{r.step:<{width}}  {r.job:<{jobs}}  {r.seconds:>7.1f}  {r.result}" for r in results]
    total = sum(r.seconds for r in results)
    lines.append(f"{'total':<{width}}  {'':<{jobs}}  {total:>7.1f}")
    return "\n".join(lines)


def main() -> int:
    """Clone HEAD, dry-run the Check workflow there, print the table; 0 when every step passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone for inspection")
    args = parser.parse_args()

    root = Path(_capture("git", "rev-parse", "--show-toplevel").strip())
    if _capture("git", "status", "--porcelain", "--untracked-files=no", cwd=root):
        print("note: uncommitted changes are not part of the dry run (it clones HEAD)")

    workdir = Path(tempfile.mkdtemp(prefix="ci-dry-run-"))
    clone = workdir / "repo"
    _capture("git", "clone", "--quiet", str(root), str(clone))
    head = _capture("git", "rev-parse", "--short", "HEAD", cwd=clone).strip()
    print(f"dry run of {WORKFLOW} at {head} in {clone}")

    summary = workdir / "step-summary.md"
    results = dry_run(clone, summary)
    print(f"\nCheck workflow dry run at {head}\n")
    print(table(results))
    if summary.exists():
        lines = summary.read_text(encoding="utf-8").count("\n")
        print(f"\njob summary: {lines} lines written to GITHUB_STEP_SUMMARY")

    failed = any(r.result == "FAILED" or r.result.startswith("failed") for r in results)
    if args.keep or failed:
        print(f"clone kept in {clone}")
    else:
        shutil.rmtree(workdir)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
