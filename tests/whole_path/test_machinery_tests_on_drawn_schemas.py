"""The machinery's own tests pass on tables unlike the example's, as ``docs/adapting.md`` promises.

Every test outside ``tests/example/`` is a test of the machinery, and an adopter's ``just check``
runs them under the adopter's schema. For each table written down in
``schema_strategies.EXAMPLES`` (between them, every corner of ``schema_strategies.CORNERS``: no
boolean, no number, no category, 200 values, a slice of a few rows, labels of every spelling), a
copy of the repository is set up as an adopter's is after the documented steps, and its fast tests
run there: the schema in the domain's ``schema.py``, the two lines of ``example.py``, the example's
tests gone, no baseline yet, no slice floor of the example's in ``ci/gates.toml``, and a decision
threshold for the table's positive rate (what ``just calibrate`` has the adopter set first).
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import tomlkit

from churn_model.config import load_gate_config
from churn_model.release.calibration import gates_toml

from drawn_tables import DrawnTable
from fresh_domain import EXAMPLE_SOURCE
from repo_copy import copy_repository, reused_environment
from schema_strategies import EXAMPLES

pytestmark = pytest.mark.slow


def _adopted(dest: Path, table: DrawnTable) -> Path:
    """A copy of the repository whose domain is ``table``'s schema, set up as an adopter's."""
    copy_repository(dest)
    domain = dest / "src/churn_model/domain"
    (domain / "schema.py").write_text(table.source(), encoding="utf-8")
    (domain / "example.py").write_text(EXAMPLE_SOURCE, encoding="utf-8")
    shutil.rmtree(dest / "tests/example")
    (dest / "ci/baseline.json").unlink()
    gates = load_gate_config(dest / "ci/gates.toml")
    text = gates_toml(gates.model_copy(update={"slice_floors": {}}))
    (dest / "ci/gates.toml").write_text(text, encoding="utf-8")
    config = tomlkit.parse((dest / "configs/model.toml").read_text(encoding="utf-8"))
    decision = config["decision"]
    assert isinstance(decision, dict), "configs/model.toml has no [decision] table"
    decision["threshold"] = round(sum(table.schema.positive_rate) / 2, 2)
    (dest / "configs/model.toml").write_text(tomlkit.dumps(config), encoding="utf-8")
    return dest


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_machinerys_tests_pass_on_a_table_unlike_the_example(name: str, tmp_path: Path) -> None:
    project = _adopted(tmp_path / "project", EXAMPLES[name])
    argv = ["uv", "run", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider"]
    # .copier/ holds the template's own tests, which a generated project has not.
    argv += ["--numprocesses", "auto", "--dist", "loadfile", "--ignore-glob", ".copier/*"]
    done = subprocess.run(
        argv, cwd=project, env=reused_environment(), capture_output=True, text=True, check=False
    )
    lines = done.stdout.splitlines()
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))] or lines[-40:]
    assert done.returncode == 0, f"under the schema {name!r}:\n" + "\n".join(failed)
