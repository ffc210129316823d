"""Read the justfile's recipes the way just itself parses them (``just --dump --dump-format json``).

Tests that compare the justfile with the workflows, the docs or the planted-defect list read it
through here, so they all see the same thing just does.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def read_recipes(root: Path = ROOT) -> dict[str, Any]:
    """Return the recipes of ``root/justfile``, keyed by name, as just's JSON dump gives them."""
    dump = subprocess.run(
        ["just", "--justfile", str(root / "justfile"), "--dump", "--dump-format", "json"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    recipes: dict[str, Any] = json.loads(dump)["recipes"]
    return recipes
