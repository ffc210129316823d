"""Give a project rendered from the template its own names: the task copier runs after every render.

copier copies the template's files as they are (only the ``*.jinja`` files are rendered), then runs
this script in the destination. It moves the paths that carry the template's names
(``src/churn_model/`` becomes ``src/<package>/``, the rendered ``.copier/CHANGELOG.md`` becomes
``CHANGELOG.md``) and replaces the names in the text of every file it moved or left in place, in one
pass, most specific name first.

On ``copier update`` copier renders the old version, the new version and the project itself, and
runs this script in each. So it must hold in every one of them, and run twice without harm:

- It rewrites only the template's own files, listed from the template (``--template``, copier's
  clone of it), never the project's other files, and never with git (copier's renders are not
  repositories).
- It rewrites a file only while its bytes are still the template's: a file already renamed, or
  edited by the project, is left alone. A second run therefore changes nothing, even when a new
  name contains an old one.

Standard library only, for any Python copier runs on (3.9 and later): it runs on copier's own
interpreter, before the project has an environment.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

# The template's own names, as its files spell them. Kept in step with copier.yml's defaults; the
# self-test (.copier/selftest.py) fails if any of them survives a rename.
OLD_TITLE = "churn-model"
OLD_PACKAGE = "churn_model"
OLD_DISTRIBUTION = "churn-model"
OLD_OWNER = "your-org"
OLD_REPOSITORY = "churn-model"
OLD_AUTHOR = "churn-model contributors"
OLD_DESCRIPTION = (
    "A reference template for shipping ML models: a customer-churn classifier with data "
    "validation, quality gates, a registry and a served image."
)

# Rendered files that belong elsewhere in the project (copier cannot render two files to one path:
# the template's own CHANGELOG.md is excluded, and the project's is rendered beside this script).
MOVES = {".copier/CHANGELOG.md": "CHANGELOG.md"}

SKIPPED_FOLDERS = {".git", "__pycache__"}
# The template's machinery, which copier does not copy; left as it is when a clone of the template
# is renamed in place (`copier copy --overwrite <template> .`), to be deleted there.
TEMPLATE_ONLY = ("copier.yml", ".copier/")


def replacements(args: argparse.Namespace) -> dict[str, str]:
    """Map each old spelling to its new one, most specific first (the order the pattern tries)."""
    owner, repository = args.owner, args.repository
    return {
        f'description = "{OLD_DESCRIPTION}"': f'description = "{args.description}"',
        # Template-only: mypy's and pytest's lists of folders name .copier/, which a project does
        # not have.
        ', ".copier"]': "]",
        f"site_name: {OLD_TITLE}\n": f"site_name: {args.title}\n",
        f"# {OLD_TITLE}\n": f"# {args.title}\n",
        OLD_AUTHOR: args.author,
        f"{OLD_OWNER}.github.io/{OLD_REPOSITORY}": f"{owner}.github.io/{repository}",
        f"{OLD_OWNER}/{OLD_REPOSITORY}": f"{owner}/{repository}",
        OLD_OWNER: owner,
        OLD_PACKAGE: args.package,
        OLD_DISTRIBUTION: args.distribution,
    }


def substitute(text: str, table: dict[str, str]) -> str:
    """Replace every old spelling in ``text`` in one pass, so no replacement is replaced again."""
    pattern = re.compile("|".join(re.escape(old) for old in table))
    return pattern.sub(lambda match: table[match.group()], text)


def template_files(template: Path) -> list[str]:
    """The template's files, as paths relative to its root in POSIX form (no .git, no caches)."""
    found = []
    for folder, folders, files in os.walk(template):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        for name in files:
            relative = Path(folder, name).relative_to(template).as_posix()
            if "{{" not in relative:  # a templated name (the answers file): rendered by copier
                found.append(relative)
    return sorted(found)


def rendered_path(relative: str, suffix: str = ".jinja") -> str:
    """Where copier renders a template file (a ``.jinja`` file loses its suffix)."""
    return relative[: -len(suffix)] if relative.endswith(suffix) else relative


def rename(template: Path, destination: Path, table: dict[str, str]) -> list[str]:
    """Move and rewrite the template's files in ``destination``; return what changed (for the log).

    A file is rewritten only while it is byte for byte the template's file, which makes a second
    run a no-op and leaves the project's own edits alone.
    """
    changed = []
    emptied = set()
    for relative in template_files(template):
        source = rendered_path(relative)
        if source not in MOVES and source.startswith(TEMPLATE_ONLY):
            continue
        target = MOVES.get(source) or substitute(source, table)
        here, there = destination / source, destination / target
        if source != target and here.is_file():
            there.parent.mkdir(parents=True, exist_ok=True)
            here.replace(there)
            emptied.add(here.parent)
            changed.append(f"moved {source} -> {target}")
        if not there.is_file() or there.read_bytes() != (template / relative).read_bytes():
            continue  # not this template file any more: renamed already, or the project's own
        try:
            text = there.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # binary (a plot): no names to replace
        renamed = substitute(text, table)
        if renamed != text:
            with there.open("w", encoding="utf-8", newline="") as handle:
                handle.write(renamed)
            changed.append(f"renamed in {target}")
    remove_empty_folders(emptied, destination)
    return changed


def remove_empty_folders(folders: set[Path], destination: Path) -> None:
    """Remove the folders the moves emptied, and their emptied parents, up to ``destination``."""
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        current = folder
        while current != destination and current.is_dir():
            for cache in current.glob("__pycache__"):
                for stale in cache.iterdir():
                    stale.unlink()
                cache.rmdir()
            if any(current.iterdir()):
                break
            current.rmdir()
            current = current.parent


def parse(argv: list[str]) -> argparse.Namespace:
    """The template's clone and the answers (copier.yml validated them already)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--template", type=Path, required=True, help="copier's clone of the template"
    )
    for name in ("title", "package", "distribution", "description", "owner", "repository"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--author", required=True)
    parser.add_argument("--verbose", action="store_true", help="list every file moved or renamed")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Rename the project in the current folder; print a one-line summary."""
    args = parse(argv)
    destination = Path.cwd()
    template = args.template.resolve()
    if template == destination.resolve():
        print("rename: the destination is the template itself; nothing to do", file=sys.stderr)
        return 1
    changed = rename(template, destination, replacements(args))
    if args.verbose:
        print("\n".join(changed))
    moved = sum(line.startswith("moved") for line in changed)
    print(f"rename: {moved} paths moved, {len(changed) - moved} files renamed in {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
