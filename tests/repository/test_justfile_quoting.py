"""Recipe arguments are data, not shell: no recipe pastes an argument into its command unquoted.

The static test walks every recipe's body as just parses it (``just --dump --dump-format json``):
an interpolation may use a parameter only inside ``quote(...)`` (or in an ``if`` condition, which
compares it and pastes nothing). Variadic parameters cannot be quoted as one word, so those recipes
take ``[positional-arguments]`` and pass ``"$@"``, which the shell keeps word for word. The slow
tests run the recipes for real with a command substitution in an argument, and a model folder
whose name has a space.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from justfile_recipes import ROOT, read_recipes
from served_model import make_model_dir, sample


def _unquoted(expression: object, parameters: set[str], *, quoted: bool = False) -> list[str]:
    """The parameters ``expression`` pastes into the command line without ``quote()``."""
    if not isinstance(expression, list):
        return []  # literal text
    match expression:
        case ["variable", name]:
            return [name] if name in parameters and not quoted else []
        case ["call", "quote", argument]:
            return _unquoted(argument, parameters, quoted=True)
        case ["if", _condition, then, otherwise]:  # the condition is compared, never pasted
            return _unquoted(then, parameters, quoted=quoted) + _unquoted(
                otherwise, parameters, quoted=quoted
            )
        case _:
            return [
                name for part in expression for name in _unquoted(part, parameters, quoted=quoted)
            ]


def unquoted_arguments(recipes: dict[str, Any]) -> dict[str, list[str]]:
    """Map each recipe to the parameters its body interpolates unquoted (empty: none)."""
    found: dict[str, list[str]] = {}
    for name, recipe in recipes.items():
        parameters = {parameter["name"] for parameter in recipe["parameters"]}
        pasted = [
            parameter
            for line in recipe["body"]
            for fragment in line
            if isinstance(fragment, list)  # a list of expressions is one {{ ... }}
            for expression in fragment
            for parameter in _unquoted(expression, parameters)
        ]
        if pasted:
            found[name] = sorted(set(pasted))
    return found


def test_no_recipe_interpolates_an_unquoted_argument() -> None:
    assert unquoted_arguments(read_recipes()) == {}


def test_the_walk_finds_a_planted_unquoted_argument() -> None:
    planted = {
        "bare": {
            "parameters": [{"name": "seeds"}],
            "body": [["run --seeds ", [["variable", "seeds"]]]],
        },
        "in a branch": {
            "parameters": [{"name": "x"}],
            "body": [["run ", [["if", ["==", ["variable", "x"], ""], "", ["variable", "x"]]]]],
        },
        "inside another call": {
            "parameters": [{"name": "x"}],
            "body": [["run ", [["call", "uppercase", ["variable", "x"]]]]],
        },
        "quoted": {
            "parameters": [{"name": "x"}],
            "body": [["run ", [["call", "quote", ["concatenate", "--a=", ["variable", "x"]]]]]],
        },
    }
    assert unquoted_arguments(planted) == {
        "bare": ["seeds"],
        "in a branch": ["x"],
        "inside another call": ["x"],
    }


def test_variadic_recipes_pass_their_arguments_word_for_word() -> None:
    for name, recipe in read_recipes().items():
        if any(parameter["kind"] != "singular" for parameter in recipe["parameters"]):
            assert "positional-arguments" in recipe["attributes"], name
            text = "".join(
                part for line in recipe["body"] for part in line if isinstance(part, str)
            )
            assert '"$@"' in text, name


@pytest.mark.parametrize(
    "words", [["in put.csv", "--scoring"], ["--scoring", "in put.csv"]], ids=["after", "before"]
)
def test_validate_passes_the_clis_options_word_for_word(words: list[str], tmp_path: Path) -> None:
    """`just validate FILE --scoring` and `just validate --scoring FILE`, as the docs show them.

    A stand-in ``uv`` first on the PATH prints the words it is given: the command the recipe runs.
    """
    (tmp_path / "uv").write_text('#!/bin/sh\nprintf "[%s]" "$@"\n', encoding="utf-8")
    (tmp_path / "uv").chmod(0o755)
    just = shutil.which("just")
    assert just is not None
    ran = subprocess.run(
        [just, "--justfile", str(ROOT / "justfile"), "validate", *words],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
    )
    assert ran.returncode == 0, ran.stderr
    command = ["run", "churn-model", "validate", *words]
    assert ran.stdout == "".join(f"[{word}]" for word in command)


def _just(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["just", "--justfile", str(ROOT / "justfile"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_a_command_substitution_in_an_argument_is_not_run(tmp_path: Path) -> None:
    marker_p, marker_q = tmp_path / "P", tmp_path / "Q"
    predicted = _just(
        "predict",
        str(tmp_path / "a.csv"),
        str(tmp_path / "b.csv"),
        f"--model-dir=$(touch {marker_p}; echo dist/model)",
    )
    calibrated = _just("calibrate", "--seeds", f"2 $(touch {marker_q})")
    assert predicted.returncode != 0  # a.csv does not exist: the CLI says so
    assert "a.csv: file not found" in predicted.stderr
    assert calibrated.returncode != 0  # '2 $(touch ...)' is not a number of seeds
    assert "--seeds" in calibrated.stderr
    assert not marker_p.exists()
    assert not marker_q.exists()


@pytest.mark.slow
def test_a_model_folder_with_a_space_works(tmp_path: Path) -> None:
    model_dir = tmp_path / "model folder" / "champion model"
    make_model_dir(model_dir)
    source, output = tmp_path / "in put.csv", tmp_path / "out put.csv"
    sample(20, seed=3).to_csv(source, index=False)
    result = _just("predict", str(source), str(output), "--model-dir", str(model_dir))
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(output)) == 20
