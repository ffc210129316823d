"""Room for long names: every Python line of the template still fits once the rename lengthens it.

copier.yml accepts package and distribution names up to a cap (its validators), longer than the
template's own (``churn_model``, ``churn-model``). The rename lengthens every line that holds one,
so a line that fits here could break ruff's line limit (E501) in a generated project, and ruff
format would re-wrap code there (``just check-format`` fails). These tests rename every line of
every Python file git tracks (the files ruff checks; the template's machinery aside, which copier
does not copy) with names as long as the caps allow, and fail on any line over the limit.

Template only (copier does not copy ``.copier/``); standard library and fast, so ``just check``
runs them. ``just template-selftest`` also generates a project under names that long and runs ruff
on it for real.
"""

import re
import subprocess
import tomllib
from argparse import Namespace
from pathlib import Path

import pytest
import rename

ROOT = Path(__file__).resolve().parents[1]


def name_cap(copier_yml: str, question: str) -> int:
    """The longest answer copier.yml's validator of ``question`` accepts (``| length > N``)."""
    found = re.findall(rf"\b{question}\s*\|\s*length\s*>\s*(\d+)", copier_yml)
    if len(found) != 1:
        raise ValueError(f"copier.yml: no single '{question} | length > N' rule in the validator")
    return int(found[0])


def line_limit(pyproject: Path = ROOT / "pyproject.toml") -> int:
    """Ruff's line length (``[tool.ruff] line-length``), the limit E501 and the formatter keep."""
    return int(tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["ruff"]["line-length"])


def longest_names(package: int, distribution: int) -> dict[str, str]:
    """The rename's table with a package and a distribution name of those lengths, the rest kept.

    Only the length matters for the check: the names are a valid identifier and distribution name.
    """
    answers = Namespace(
        title=rename.OLD_TITLE,
        package="p" * package,
        distribution="d" * distribution,
        description=rename.OLD_DESCRIPTION,
        owner=rename.OLD_OWNER,
        repository=rename.OLD_REPOSITORY,
        author=rename.OLD_AUTHOR,
    )
    return rename.replacements(answers)


def python_files(root: Path = ROOT) -> list[str]:
    """The Python files ruff checks, without the template's own machinery.

    In a git checkout, the files that exist and git does not ignore; in a copy outside git (the
    slow tests copy the tracked files into a temporary folder), every file not under a hidden
    folder.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.py"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        names = [n for n in listed.stdout.decode("utf-8").split("\0") if (root / n).is_file()]
    else:
        found = (path.relative_to(root) for path in root.rglob("*.py"))
        names = [p.as_posix() for p in found if not any(s.startswith(".") for s in p.parts[:-1])]
    return sorted({name for name in names if name and not name.startswith(rename.TEMPLATE_ONLY)})


def overlong_lines(root: Path, files: list[str], table: dict[str, str], limit: int) -> list[str]:
    """Each line of ``files`` that the rename with ``table`` pushes past ``limit`` characters.

    A line over the limit already passes ruff for a reason of its own (a long literal it does not
    split, a URL), which the rename does not change, so only lines that fit here are judged.
    """
    found = []
    for name in files:
        text = (root / name).read_text(encoding="utf-8")
        if not any(old in text for old in table):
            continue  # nothing to rename: no line grows
        lines, renamed = text.splitlines(), rename.substitute(text, table).splitlines()
        if len(renamed) != len(
            lines
        ):  # the rename table keeps lines whole; make sure it still does
            raise ValueError(f"{name}: the rename changes the number of lines")
        for number, (line, new) in enumerate(zip(lines, renamed, strict=True), start=1):
            if len(new) > limit >= len(line):
                found.append(f"{name}:{number}: {len(line)} -> {len(new)} characters")
    return found


def caps() -> tuple[int, int]:
    """The package and distribution name caps of copier.yml."""
    copier_yml = (ROOT / "copier.yml").read_text(encoding="utf-8")
    return name_cap(copier_yml, "package_name"), name_cap(copier_yml, "distribution_name")


def test_every_python_line_fits_with_the_longest_names() -> None:
    files = python_files()
    assert f"src/{rename.OLD_PACKAGE}/__init__.py" in files
    assert not any(name.startswith(".copier/") for name in files)
    found = overlong_lines(ROOT, files, longest_names(*caps()), line_limit())
    assert found == [], (
        "lines that a generated project with the longest names copier.yml accepts would have over "
        "the line limit (rewrap them, or lower the cap in copier.yml):\n" + "\n".join(found)
    )


def test_the_caps_leave_room_beyond_the_templates_own_names() -> None:
    assert caps() == (24, 24)  # what copier.yml's messages and docs/getting-started.md say


def test_a_planted_long_line_is_found(tmp_path: Path) -> None:
    table, limit = longest_names(24, 24), 100
    grown = 24 - len(rename.OLD_PACKAGE)
    fits = f"# {rename.OLD_PACKAGE} "
    fits += "x" * (limit - grown - len(fits))
    over = "x" * (limit + 1)  # over the limit already: not the rename's doing
    planted = f"{fits}\n{fits}x\n{rename.OLD_PACKAGE}{over}\n"
    (tmp_path / "planted.py").write_text(planted, encoding="utf-8")
    assert len(fits) + 1 <= limit  # the planted lines fit the limit before the rename
    longest = len(fits) + 1
    assert overlong_lines(tmp_path, ["planted.py"], table, limit) == [
        f"planted.py:2: {longest} -> {longest + grown} characters"
    ]


def test_a_cap_missing_from_copier_yml_is_an_error() -> None:
    assert name_cap("{% elif package_name\n    | length > 30 %}", "package_name") == 30
    with pytest.raises(ValueError, match="distribution_name"):
        name_cap("{% elif package_name | length > 30 %}", "distribution_name")
