"""The documentation site stays in step with the code: pages, recipe table and API reference.

``just doc`` (``mkdocs build --strict``) catches broken links and missing pages; these fast tests
catch what a strict build cannot: a recipe the table would omit, a module the API reference forgets.
"""

from pathlib import Path

import yaml

from justfile_recipes import read_recipes
from project_tools import load_script

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "src" / "churn_model"
hooks = load_script("mkdocs_hooks")


def _nav_pages(nav: list[object]) -> list[str]:
    """Every page file named in a MkDocs ``nav`` tree."""
    pages: list[str] = []
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages += _nav_pages(value) if isinstance(value, list) else [str(value)]
    return pages


def test_every_page_of_the_nav_exists_and_has_content() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert "model/report.md" in pages
    for page in pages:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert text.startswith("# "), f"{page} has no title"
        assert len(text.split()) > 40, f"{page} is a stub"


def test_the_recipe_tables_list_every_recipe_with_its_doc_under_its_group() -> None:
    assert hooks.MARKER in (DOCS / "recipes.md").read_text(encoding="utf-8")
    table = hooks.recipes_table(ROOT)
    heading = ""
    seen = {}
    for line in table.splitlines():
        if line.startswith("## "):
            heading = line.removeprefix("## ")
        elif line.startswith("| `just "):
            seen[line.removeprefix("| `just ").split("`")[0].split()[0]] = (heading, line)
    for name, recipe in read_recipes().items():
        if name == "default":
            continue
        groups = [a["group"] for a in recipe["attributes"] if isinstance(a, dict) and "group" in a]
        expected = hooks.PRIVATE if recipe["private"] else groups[0]
        heading, row = seen[name]
        assert heading == expected, f"{name}: under {heading!r}, not {expected!r}"
        assert recipe["doc"] in row, f"{name}: doc comment missing from the table"


def test_every_public_recipe_is_in_a_group() -> None:
    recipes = read_recipes()
    ungrouped = [
        name
        for name, recipe in recipes.items()
        if not recipe["private"]
        and not any(isinstance(a, dict) and "group" in a for a in recipe["attributes"])
    ]
    assert ungrouped == [], "give each a [group('...')] so `just --list` shows it in a section"


def test_the_recipe_table_follows_a_changed_justfile(tmp_path: Path) -> None:
    (tmp_path / "justfile").write_text(
        "# Say hello to someone.\nhello name:\n    echo {{ name }}\n\n"
        "# Build it (the pipe | is escaped).\nbuild target='all': clean\n    echo {{ target }}\n\n"
        "# Start afresh.\nclean:\n    echo clean\n",
        encoding="utf-8",
    )
    rows = hooks.recipes_table(tmp_path).splitlines()
    assert rows[2] == "| `just hello name` | Say hello to someone. |"
    assert (
        rows[3] == "| `just build [target]` | Build it (the pipe \\| is escaped). Runs `clean`. |"
    )


def test_the_recipe_tables_follow_the_groups(tmp_path: Path) -> None:
    (tmp_path / "justfile").write_text(
        "# Tidy.\n[group('develop')]\ntidy:\n    echo tidy\n\n"
        "# Check.\n[group('check')]\ncheck:\n    echo check\n\n"
        "# Only CI.\n[private]\nnotify:\n    echo notify\n\n"
        "# Lint.\n[group('check')]\nlint:\n    echo lint\n",
        encoding="utf-8",
    )
    sections: dict[str, list[str]] = {}
    for line in hooks.recipes_table(tmp_path).splitlines():
        if line.startswith("## "):
            rows = sections.setdefault(line.removeprefix("## "), [])
        elif line.startswith("| `"):
            rows.append(line)
    assert sections == {
        "develop": ["| `just tidy` | Tidy. |"],
        "check": ["| `just check` | Check. |", "| `just lint` | Lint. |"],
        hooks.PRIVATE: ["| `just notify` | Only CI. |"],
    }


def test_the_api_reference_covers_every_public_module_on_its_packages_page() -> None:
    pages = {
        path.stem: path.read_text(encoding="utf-8") for path in (DOCS / "reference").glob("*.md")
    }
    entry = f"::: {PACKAGE.name}."
    listed = {
        line.removeprefix(entry): page
        for page, text in pages.items()
        for line in text.splitlines()
        if line.startswith(entry)
    }
    modules = sorted(
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if not path.stem.startswith("_")
    )
    missing = [name for name in modules if name not in listed]
    assert missing == [], f"add `{entry}<module>` to a page of docs/reference/ for {missing}"
    misplaced = [
        f"{name} (on {listed[name]}.md)"
        for name in modules
        if "." in name and listed[name] != name.partition(".")[0]
    ]
    assert misplaced == [], f"a subpackage's modules go on its own page: {misplaced}"
    overview = (DOCS / "reference.md").read_text(encoding="utf-8")
    assert [page for page in pages if f"(reference/{page}.md)" not in overview] == []
