"""MkDocs hooks: generate the recipe table of ``docs/recipes.md`` from the justfile.

The justfile is the one place a command line lives, so the docs read it instead of repeating it:
the marker ``<!-- recipes -->`` in a page is replaced, at build time, by a table of every public
recipe (in justfile order) with its parameters and its doc comment, from ``just --dump``.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

MARKER = "<!-- recipes -->"


def _just(root: Path, *args: str) -> str:
    """Run just on the justfile in ``root`` and return its standard output."""
    just = shutil.which("just")
    if just is None:
        raise RuntimeError("the recipe table needs `just` on PATH (pip install rust-just)")
    argv = [just, "--justfile", str(root / "justfile"), "--working-directory", str(root), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _signature(recipe: dict[str, Any]) -> str:
    """``name`` followed by its parameters, ``[name]`` for the optional ones."""
    words = [recipe["name"]]
    for parameter in recipe["parameters"]:
        name = parameter["name"]
        optional = parameter["default"] is not None or parameter["kind"] == "star"
        words.append(f"[{name}]" if optional else name)
    return " ".join(words)


def recipes_table(root: Path) -> str:
    """A Markdown table of the public recipes of the justfile in ``root``, in justfile order."""
    recipes: dict[str, dict[str, Any]] = json.loads(_just(root, "--dump", "--dump-format", "json"))[
        "recipes"
    ]
    order = _just(root, "--summary", "--unsorted").split()
    rows = ["| recipe | what it does |", "| --- | --- |"]
    for name in order:
        recipe = recipes[name]
        if recipe["private"] or name == "default":
            continue
        doc = (recipe["doc"] or "").replace("|", "\\|")
        depends = [dep["recipe"] for dep in recipe["dependencies"]]
        if depends:
            doc += " Runs " + ", ".join(f"`{dep}`" for dep in depends) + "."
        rows.append(f"| `just {_signature(recipe)}` | {doc} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the recipe marker with the table built from the justfile next to mkdocs.yml."""
    del page, files  # part of the signature MkDocs calls hooks with; not needed here
    if MARKER not in markdown:
        return markdown
    root = Path(config.config_file_path).resolve().parent
    return markdown.replace(MARKER, recipes_table(root))
