"""MkDocs hooks: generate the recipe table of ``docs/recipes.md`` from the justfile.

The justfile is the one place a command line lives, so the docs read it instead of repeating it:
the marker ``<!-- recipes -->`` in a page is replaced, at build time, by a table of every public
recipe (by group, in justfile order) with its parameters and its doc comment, from ``just --dump``.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the docs tests load these hooks without mkdocs' import
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

MARKER = "<!-- recipes -->"
PRIVATE = "private: the workflows' helpers"
"""The heading of the private recipes: not in ``just --list``, still run by name."""


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


def _group(recipe: dict[str, Any]) -> str:
    """The recipe's group (its ``[group(...)]`` attribute), or ``""`` for none."""
    groups = [a["group"] for a in recipe["attributes"] if isinstance(a, dict) and "group" in a]
    return groups[0] if groups else ""


def _row(recipe: dict[str, Any]) -> str:
    """The recipe's row: its signature, its doc comment and the recipes it runs first."""
    doc = (recipe["doc"] or "").replace("|", "\\|")
    depends = [dep["recipe"] for dep in recipe["dependencies"]]
    if depends:
        doc += " Runs " + ", ".join(f"`{dep}`" for dep in depends) + "."
    return f"| `just {_signature(recipe)}` | {doc} |"


def recipes_table(root: Path) -> str:
    """Markdown tables of the recipes of the justfile in ``root``, one per group.

    Recipes without a group come first, in one table without a heading; then each group, in the
    order ``just --list --unsorted`` shows them, under a ``##`` heading of its name; then the
    private recipes (the workflows' helpers, which ``just --list`` hides) under :data:`PRIVATE`.
    """
    recipes: dict[str, dict[str, Any]] = json.loads(_just(root, "--dump", "--dump-format", "json"))[
        "recipes"
    ]
    groups: dict[str, list[str]] = {}
    listed = _just(root, "--summary", "--unsorted").split()  # justfile order, no private recipe
    for name in listed + sorted(set(recipes) - set(listed)):
        recipe = recipes[name]
        if name != "default":
            group = PRIVATE if recipe["private"] else _group(recipe)
            groups.setdefault(group, []).append(_row(recipe))
    header = ["| recipe | what it does |", "| --- | --- |"]
    tables = [
        "\n".join([*([f"## {group}", ""] if group else []), *header, *rows])
        for group, rows in sorted(
            groups.items(), key=lambda item: (item[0] != "", item[0] == PRIVATE)
        )
    ]
    return "\n\n".join(tables)


def on_page_markdown(markdown: str, page: "Page", config: "MkDocsConfig", files: "Files") -> str:
    """Replace the recipe marker with the table built from the justfile next to mkdocs.yml."""
    del page, files  # part of the signature MkDocs calls hooks with; not needed here
    if MARKER not in markdown:
        return markdown
    root = Path(config.config_file_path).resolve().parent
    return markdown.replace(MARKER, recipes_table(root))
