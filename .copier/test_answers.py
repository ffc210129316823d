"""copier refuses an answer holding a control character, whatever the question.

An answer goes into files as text: a tab or an escape code in the description or the author made
``pyproject.toml`` invalid TOML, or wrote an escape sequence into ``LICENSE``. Every question's
validator in copier.yml therefore refuses an answer that is not printable (``str.isprintable``:
control characters, and the invisible separators and format characters Unicode lists with them),
with one sentence naming the question, before its other rules.

The fast tests render each validator the way copier does (Jinja, sandboxed) for every question and
several control characters, and show that ordinary answers, accented letters included, still pass.
The slow one asks the pinned copier itself (the ``template`` dependency group, ``uv run --group
template``): one process copies, in pretend mode, a template holding this copier.yml with each
refused answer, then with good ones.

Template only (copier does not copy ``.copier/``).
"""

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

ROOT = Path(__file__).resolve().parents[1]
CONTROL = {
    "escape": "\x1b[31m",
    "tab": "\t",
    "NUL": "\x00",
    "line feed": "\n",
    "carriage return": "\r",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "line separator": "\u2028",
}
GOOD = {
    "project_name": "Loan Risk",
    "package_name": "loan_risk",
    "distribution_name": "loan-risk",
    "description": "Scores loan applications for the risk of défaut (à la française).",
    "github_owner": "acme-labs",
    "repository_name": "loan-risk",
    "author": "Zoë Ångström",
}
REFUSAL = "holds a control or invisible character"


@functools.cache
def questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions (its keys without a leading underscore), parsed once."""
    data = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("_")}


def refusal(question: str, answer: str, others: dict[str, str] = GOOD) -> str:
    """What ``question``'s validator says of ``answer`` (empty: accepted), rendered like copier."""
    context = {**others, question: answer}
    return _validator(question).render(context).strip()


@functools.cache
def _validator(question: str) -> Template:
    return SandboxedEnvironment().from_string(questions()[question]["validator"])


def text_questions() -> dict[str, dict[str, Any]]:
    """The questions answered in words (the yes/no ones, the optional parts, need no validator)."""
    return {key: spec for key, spec in questions().items() if spec.get("type") != "bool"}


def test_every_question_has_a_validator() -> None:
    assert set(text_questions()) == set(GOOD)
    assert all("validator" in spec for spec in text_questions().values())
    yes_no = {key: spec for key, spec in questions().items() if key not in GOOD}
    assert all(spec["type"] == "bool" for spec in yes_no.values()), yes_no


@pytest.mark.parametrize("question", sorted(GOOD))
def test_every_validator_accepts_a_good_answer(question: str) -> None:
    assert refusal(question, GOOD[question]) == ""


@pytest.mark.parametrize("question", sorted(GOOD))
@pytest.mark.parametrize("character", sorted(CONTROL))
def test_every_validator_refuses_a_control_character(question: str, character: str) -> None:
    answer = GOOD[question][:4] + CONTROL[character] + GOOD[question][4:]
    said = refusal(question, answer)
    assert REFUSAL in said, said
    # The message never echoes the answer: an escape code would act on the user's terminal.
    assert CONTROL[character] not in said


COPIER_SCRIPT = """
import json, sys
import copier

template, target, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
results = []
for index, answers in enumerate(cases):
    try:
        copier.run_copy(
            template, f"{target}/{index}", data=answers, defaults=True, unsafe=True,
            pretend=True, quiet=True,
        )
        results.append("")
    except ValueError as error:
        results.append(str(error))
print(json.dumps(results))
"""


@pytest.mark.slow
def test_the_pinned_copier_refuses_a_control_character_in_any_answer(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    shutil.copy2(ROOT / "copier.yml", template / "copier.yml")
    refused = [{**GOOD, question: "a\x1b[2Jb"} for question in sorted(GOOD)]
    refused += [{**GOOD, "description": "one\ttab"}, {**GOOD, "author": "NUL\x00here"}]
    cases = [*refused, GOOD]
    uv = shutil.which("uv")
    assert uv is not None, "uv runs the pinned copier (the `template` dependency group)"
    arguments = [str(template), str(tmp_path / "out"), json.dumps(cases)]
    done = subprocess.run(
        [uv, "run", "--group", "template", "python", "-c", COPIER_SCRIPT, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_LOCKED": "1"},
    )
    assert done.returncode == 0, done.stderr
    *said_refused, said_good = json.loads(done.stdout.splitlines()[-1])
    assert said_good == ""
    for answers, said in zip(refused, said_refused, strict=True):
        question = next(key for key, value in answers.items() if value != GOOD[key])
        assert f"question '{question}'" in said, said
        assert REFUSAL in said, said
