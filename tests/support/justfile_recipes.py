"""Read the justfile's recipes the way just itself parses them (``just --dump --dump-format json``).

Tests that compare the justfile with the workflows, the docs or the planted-defect list read it
through here, so they all see the same thing just does. A process asks just once per content of the
files it reads (the justfile and the template's optional ``.copier/template.just``), not once per
test: a planted copy with an edited justfile is read anew.
"""

import hashlib
import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

JUSTFILES = ("justfile", ".copier/template.just")
"""The files just reads for the recipes: the justfile and the one it imports, if present."""


def read_recipes(root: Path = ROOT) -> dict[str, Any]:
    """Return the recipes of ``root/justfile``, keyed by name, as just's JSON dump gives them.

    The caller gets its own copy: it may edit it.
    """
    contents = hashlib.sha256()
    for name in JUSTFILES:
        path = root / name
        contents.update(path.read_bytes() if path.is_file() else b"\0absent\0")
    recipes: dict[str, Any] = json.loads(_dump(root.resolve(), contents.hexdigest()))["recipes"]
    return recipes


@cache
def _dump(root: Path, _contents: str) -> str:
    """The JSON dump just gives of ``root/justfile``, once per content of the files it reads."""
    return subprocess.run(
        ["just", "--justfile", str(root / "justfile"), "--dump", "--dump-format", "json"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def check_steps(recipes: dict[str, Any]) -> list[str]:
    """The checks ``just check`` runs, in its order, from ``recipes`` (:func:`read_recipes`).

    A recipe that only groups others (no body of its own, as ``check-static``) stands for its
    dependencies.
    """

    def steps(name: str) -> list[str]:
        recipe = recipes[name]
        if recipe["body"] or not recipe["dependencies"]:
            return [name]
        return [step for dep in recipe["dependencies"] for step in steps(dep["recipe"])]

    return [step for dep in recipes["check"]["dependencies"] for step in steps(dep["recipe"])]
