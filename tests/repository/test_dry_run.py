"""The Check-workflow dry run runs the steps in order, with the workflow's env, and fails honestly.

``scripts/dry_run_check.py`` (``just ci-dry-run``) is run for real on a clone of the repository by
``.ci/run``; here its engine runs on a tiny made-up workflow, so a step that fails must show as
FAILED, skip the rest of its job but not the next job, and make the run count as failed.
"""

from pathlib import Path
from types import ModuleType

import pytest

from project_tools import load_script

ROOT = Path(__file__).resolve().parents[2]

WORKFLOW = """\
name: Check
on: pull_request
env:
  FROM_WORKFLOW: "yes"
  EXPRESSION: ${{ github.sha }}
jobs:
  first:
    runs-on: ubuntu-latest
    env:
      FROM_JOB: "also"
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - uses: ./.github/actions/setup
      - run: just env
      - run: just fail
      - run: just ok
  second:
    runs-on: ubuntu-latest
    steps:
      - run: just ok
"""

SETUP = """\
name: Setup
description: test double
runs:
  using: composite
  steps:
    - uses: astral-sh/setup-uv@c18668ad3cf93ea998bef934396af7bb5c839dc7 # v10.2.0
      with:
        version: "0.0.1"
"""

JUSTFILE = """\
# The workflow's and the job's literal env reach the step; expressions (GitHub-only) do not.
env:
    test "$FROM_WORKFLOW" = yes && test "$FROM_JOB" = also && test -z "${EXPRESSION:-}"
    test "$CI" = true && test -n "$GITHUB_STEP_SUMMARY"

# Fail.
fail:
    exit 3

# Pass.
ok:
    true
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("dry_run_check")


def test_steps_run_in_order_and_a_failure_skips_the_rest_of_its_job(
    script: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / ".github/actions/setup").mkdir(parents=True)
    (tmp_path / ".github/workflows/check.yml").write_text(WORKFLOW, encoding="utf-8")
    (tmp_path / ".github/actions/setup/action.yml").write_text(SETUP, encoding="utf-8")
    (tmp_path / "justfile").write_text(JUSTFILE, encoding="utf-8")

    results = script.dry_run(tmp_path, tmp_path / "summary.md")

    outcomes = [(r.job, r.step, r.result.split(" ")[0]) for r in results]
    assert outcomes == [
        ("first", "actions/checkout", "skipped"),
        ("first", "setup action", "local"),
        ("first", "just env", "passed"),
        ("first", "just fail", "FAILED"),
        ("first", "just ok", "skipped"),
        ("second", "just ok", "passed"),
    ]
    assert "workflow pins 0.0.1" in results[1].result
    table = script.table(results)
    assert table.splitlines()[0].split() == ["step", "job", "seconds", "result"]
    assert table.splitlines()[-1].startswith("total")
