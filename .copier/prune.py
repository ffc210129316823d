"""Take out the optional parts a project was generated without: a task copier runs after the rename.

copier's ``_exclude`` (copier.yml) leaves out the files that belong to a part. The files that stay
but hold a few lines of it (the justfile, pyproject.toml, the workflows, the README, the docs, a
few modules and tests) mark those lines as a region, one marker line at each end:

- ``# >>> serving`` ... ``# <<< serving``: lines that exist only with the part; in Markdown,
  ``<!-- >>> serving -->`` ... ``<!-- <<< serving -->``.
- ``# >>> not serving`` ... ``# <<< not serving``: lines that replace them without the part, kept
  commented out (``# `` before each line) so the template itself never runs them; in Markdown, the
  block is one HTML comment, ``<!-- >>> not serving`` ... ``<<< not serving -->``. Not in Python,
  whose linter refuses commented-out code: write the code so that a region can simply go.
- ``<!-- only serving -->`` (or ``<!-- only not serving -->``) at the end of a Markdown line: that
  line alone (a table's row, which a marker line between rows would end).

Regions nest (``kubernetes`` inside ``serving``); nothing nests in a ``not`` region. For a part
that is kept, the marker lines go and the lines stay; for a part that is left out, the region goes
with its markers (and the blank lines after it, where the text before it ends with one), and a
``not`` region loses its markers and its comment signs. A generated project holds no marker.

Standard library only, like the rename (copier's own interpreter runs it). ``--check`` lists every
marker problem in the template's files instead (``.copier/test_prune.py`` runs it on every file).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import rename


@dataclass(frozen=True)
class Part:
    """An optional part of the template: its question in copier.yml and what it needs."""

    title: str
    requires: tuple[str, ...]
    leftovers: tuple[str, ...]
    """Words that no file of a project generated without the part may hold (case-insensitive
    regular expressions, matched on paths and on lines): the self-test greps for them."""


PARTS = {
    "serving": Part(
        title="HTTP serving and the image",
        requires=(),
        leftovers=(
            r"fastapi",
            r"uvicorn",
            r"starlette",
            r"schemathesis",
            r"docker",
            r"podman",
            r"hadolint",
            r"ghcr\.io",
            r"/predict\b",
            r"openapi",
            r"serving[./](app|contract|smoke|compiled_model|request_limits|heap)\b",
            r"micro_batching",
            r"http_check",
            r"running_service",
            r"just (serve|smoke|image)\b",
            r"image-(smoke|model|archive|push|latest)",
            r"(?<!reference/)serving\.md",
        ),
    ),
    "kubernetes": Part(
        title="Kubernetes deployment",
        requires=("serving",),
        leftovers=(
            r"kubernetes",
            r"kubectl",
            r"kube_config",
            r"check-manifests",
            r"deploy\.(yml|py)",
            r"just deploy\b",
            r"deploy-not-configured",
            r"deploy/",
        ),
    ),
    "tracking": Part(
        title="MLflow tracking",
        requires=(),
        leftovers=(
            r"mlflow",
            r"tracking\.md",
            r"release[./]tracking",
            r"just register\b",
            r"tracking-server",
        ),
    ),
    "benchmarks": Part(
        title="benchmarks",
        requires=(),
        leftovers=(
            r"\bbench-",
            r"benchmark_",
            r"load_test",
            r"peak_rss",
            r"serving_variants",
        ),
    ),
}
"""The parts, by the name of their question in copier.yml (a yes/no, yes by default)."""

MARKER = re.compile(
    r"^(?P<indent>[ \t]*)(?P<open>#|<!--)? ?(?P<arrow>>>>|<<<) (?P<negated>not )?"
    r"(?P<part>[a-z][a-z_]*)(?P<close> -->)?[ \t]*$"
)
"""A marker line: ``# >>> part``, ``# <<< not part``, ``<!-- >>> part -->``, ``<<< not part -->``
(the last closes a Markdown ``not`` region)."""


class MarkerError(Exception):
    """A marker is malformed, unbalanced or names no part; the message names the file and line."""


@dataclass(frozen=True)
class Marker:
    """One marker line, parsed."""

    number: int
    indent: str
    opens: bool
    part: str
    negated: bool
    style: str
    """``#`` for a comment line, ``md`` for an HTML comment (Markdown)."""


def parse_marker(line: str, number: int, where: str) -> Marker | None:
    """The marker on ``line`` (``None`` for an ordinary line), checked against its file's style.

    Raises:
        MarkerError: a marker of no known part, or one written in the other file type's style.
    """
    found = MARKER.match(line.rstrip("\r\n"))
    if found is None or (found["open"] is None and found["close"] is None):
        return None
    part, negated, opens = found["part"], found["negated"] is not None, found["arrow"] == ">>>"
    if part not in PARTS:
        raise MarkerError(f"{where}:{number}: a marker of no part ({part!r}; parts: {_names()})")
    markdown = where.endswith(".md")
    if markdown:
        # A region is a comment of its own; a `not` region is one comment around its lines.
        expected = (True, not negated) if opens else (not negated, True)
        if (found["open"] == "<!--", found["close"] is not None) != expected:
            arrow = ">>>" if opens else "<<<"
            shown = f"{'<!-- ' if expected[0] else ''}{arrow} {'not ' if negated else ''}{part}"
            raise MarkerError(f"{where}:{number}: in Markdown, write {shown}{' -->' * expected[1]}")
    elif found["open"] != "#" or found["close"] is not None:
        raise MarkerError(f"{where}:{number}: outside Markdown a marker is a # comment")
    style = "md" if markdown else "#"
    return Marker(number, found["indent"], opens, part, negated, style)


LINE_TAG = re.compile(
    r"[ \t]*<!-- only (?P<negated>not )?(?P<part>[a-z][a-z_]*) -->(?P<end>[ \t]*\r?\n?)$"
)
"""A Markdown line's own marker, at its end: the line exists only with the part (a table's row,
which a marker line between rows would break)."""


def _line_tag(line: str, number: int, where: str) -> tuple[str, tuple[str, bool] | None]:
    """``line`` without its line tag, and the tag's part and whether it is a ``not`` tag.

    ``None`` in place of the tag for an untagged line.

    Raises:
        MarkerError: a tag of no known part.
    """
    found = LINE_TAG.search(line) if where.endswith(".md") else None
    if found is None:
        return line, None
    if found["part"] not in PARTS:
        raise MarkerError(f"{where}:{number}: a line tag of no part ({found['part']!r})")
    return line[: found.start()] + found["end"], (found["part"], found["negated"] is not None)


def _names() -> str:
    return ", ".join(PARTS)


def _uncomment(line: str, region: Marker, where: str, number: int) -> str:
    """A line of a ``not`` region as it reads without the part: its ``# `` taken off."""
    if region.style == "md":
        return line
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    sign = region.indent + "#"
    if body == sign:
        return ending
    if not body.startswith(sign + " "):
        raise MarkerError(
            f"{where}:{number}: a line of a `not {region.part}` region must start with "
            f"{sign!r} and a space, at the marker's indentation"
        )
    return region.indent + body[len(sign) + 1 :] + ending


def prune_text(text: str, off: frozenset[str], where: str, sections: Sections | None = None) -> str:
    """``text`` with the parts in ``off`` taken out and every marker line gone.

    A Python file's import block is laid out again (:func:`_import_layout`) by ``sections``.

    Raises:
        MarkerError: a malformed, unbalanced or misplaced marker (the message names the line).
    """
    output: list[str] = []
    open_regions: list[Marker] = []
    dropping_blanks = False
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        marker = parse_marker(line, number, where)
        if marker is None:
            kept = all((region.part in off) == region.negated for region in open_regions)
            text_line, tagged = _line_tag(line, number, where)
            if not kept or (tagged is not None and (tagged[0] in off) != tagged[1]):
                continue
            if dropping_blanks and not text_line.strip():
                continue
            dropping_blanks = False
            negated = [region for region in open_regions if region.negated]
            output.append(
                _uncomment(text_line, negated[-1], where, number) if negated else text_line
            )
            continue
        if marker.opens:
            if any(region.negated for region in open_regions):
                raise MarkerError(f"{where}:{number}: nothing may open inside a `not` region")
            if where.endswith(".py") and marker.negated:
                raise MarkerError(
                    f"{where}:{number}: no `not` region in Python (its linter refuses "
                    "commented-out code): write the code so that a region can simply go"
                )
            open_regions.append(marker)
            continue
        if not open_regions or (open_regions[-1].part, open_regions[-1].negated) != (
            marker.part,
            marker.negated,
        ):
            expected = (
                "closes nothing (no region is open)"
                if not open_regions
                else f"does not close the region opened on line {open_regions[-1].number}"
            )
            raise MarkerError(f"{where}:{number}: this end marker {expected}")
        region = open_regions.pop()
        if (region.part in off) != region.negated:
            # The region went: so do the blank lines after it, where the text before it already
            # ends with one (a paragraph, a recipe or a function leaves no double gap behind).
            dropping_blanks = not output or not output[-1].strip()
    if open_regions:
        region = open_regions[-1]
        raise MarkerError(f"{where}:{region.number}: this region is never closed")
    if where.endswith(".py"):
        package = sections or Sections(rename.OLD_PACKAGE)
        output = _import_layout(output, package)
    pruned = "".join(output)
    if text.endswith("\n") and pruned.endswith("\n\n"):
        pruned = pruned.rstrip("\n") + "\n"
    return pruned


@dataclass(frozen=True)
class Sections:
    """What tells the sections of an import block apart, as the project's isort settings do."""

    package: str
    """The project's package (its own section)."""
    local: frozenset[str] = frozenset()
    """Modules of the project's other source folders (tests' helpers, scripts): first-party."""

    def of(self, statement: str) -> int:
        """The section of an import statement: future, standard library, third-party, ..."""
        top = statement.split()[1].split(".", maxsplit=1)[0]
        if top == "__future__":
            return 0
        if top in getattr(sys, "stdlib_module_names", ()):
            return 1
        if top == self.package:
            return 3
        return 4 if top in self.local else 2


def _is_import(line: str) -> bool:
    return line.startswith(("from ", "import "))


def _opening(statement: list[str]) -> str:
    """The ``from``/``import`` line of a statement (after any comment lines attached to it)."""
    return next(line for line in statement if _is_import(line))


def _import_layout(lines: list[str], sections: Sections) -> list[str]:
    """The import block of a pruned Python file laid out again, as the formatter lays it out.

    Marker comments inside an import block get a blank line on each side from the formatter; with
    the markers gone (the region kept or taken out), those blank lines would split a section, or
    leave two where one belongs. Within the block: one blank line between sections, none inside
    one. After it: two blank lines before a function or class, else one.
    """
    first = next((n for n, line in enumerate(lines) if _is_import(line)), None)
    if first is None:
        return lines
    statements: list[list[str]] = []
    n = first
    comments: list[str] = []  # a comment line inside the block goes with the import after it
    end = n
    while n < len(lines):
        line = lines[n]
        if _is_import(line):
            statement = [*comments, line]
            comments = []
            if "(" in line and ")" not in line:  # one name a line, up to the closing bracket
                while n + 1 < len(lines) and ")" not in statement[-1]:
                    n += 1
                    statement.append(lines[n])
            statements.append(statement)
            end = n + 1
        elif line.lstrip().startswith("#"):
            comments.append(line)
        elif line.strip():
            break
        n += 1
    rest = lines[end:]
    rest = rest[next((i for i, line in enumerate(rest) if line.strip()), len(rest)) :]
    ending = "\r\n" if lines[first].endswith("\r\n") else "\n"
    block: list[str] = []
    for index, statement in enumerate(statements):
        if index and sections.of(_opening(statement)) != sections.of(
            _opening(statements[index - 1])
        ):
            block.append(ending)
        block.extend(statement)
    if rest:
        code = next((line for line in rest if not line.lstrip().startswith("#")), "")
        definition = code.startswith(("def ", "class ", "@", "async def "))
        block.extend([ending] * (2 if definition else 1))
    return lines[:first] + block + rest


def parts_off(answers: dict[str, bool]) -> frozenset[str]:
    """The parts left out: those answered no, and those that need a part left out.

    Raises:
        MarkerError: an answer for no known part, or a part without its answer.
    """
    if set(answers) != set(PARTS):
        raise MarkerError(f"answers for {sorted(answers)}, but the parts are {_names()}")
    off = {name for name, wanted in answers.items() if not wanted}
    changed = True
    while changed:
        extra = {name for name, part in PARTS.items() if off.intersection(part.requires)}
        changed = not extra <= off
        off |= extra
    return frozenset(off)


def marked_files(root: Path, files: list[str]) -> dict[str, str]:
    """The text of each of ``files`` (relative to ``root``) that holds a marker, by path."""
    found = {}
    for relative in files:
        path = root / relative
        if not path.is_file():
            continue  # left out with its part (copier's _exclude)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary: no markers
        if ">>> " in text or "<<< " in text or "<!-- only " in text:
            found[relative] = text
    return found


def problems(root: Path, files: list[str]) -> list[str]:
    """Every marker problem in ``files``, pruned with each part off and with every part off."""
    found = []
    texts = marked_files(root, files)
    for off in [frozenset(), *(parts_off({**_on(), name: False}) for name in PARTS)]:
        for relative, text in texts.items():
            try:
                prune_text(text, off, relative)
            except MarkerError as error:
                found.append(str(error))
    return sorted(set(found))


def _on() -> dict[str, bool]:
    return dict.fromkeys(PARTS, True)


def local_modules(files: list[str]) -> frozenset[str]:
    """The modules of the source folders ruff's ``src`` setting names, beside the package."""
    folders = ("tests/", "tests/support/", "tests/whole_path/", "scripts/")
    return frozenset(
        Path(relative).stem
        for relative in files
        if relative.endswith(".py") and relative.startswith(folders)
    )


def prune(destination: Path, files: list[str], off: frozenset[str], package: str) -> list[str]:
    """Prune every file of ``files`` in ``destination`` that holds a marker; return those changed.

    Every file is pruned in memory first and written only when all were: a bad marker leaves the
    project as it was.
    """
    sections = Sections(package, local_modules(files))
    pruned = {
        relative: prune_text(text, off, relative, sections)
        for relative, text in marked_files(destination, files).items()
    }
    changed = [
        relative
        for relative, text in pruned.items()
        if text != (destination / relative).read_text(encoding="utf-8")
    ]
    for relative in changed:
        with (destination / relative).open("w", encoding="utf-8", newline="") as handle:
            handle.write(pruned[relative])
    return changed


def project_files(template: Path, package: str) -> list[str]:
    """The template's files as the rename left them in a project (its package folder renamed)."""
    old, new = f"src/{rename.OLD_PACKAGE}/", f"src/{package}/"
    return [
        rename.rendered_path(relative).replace(old, new, 1)
        for relative in rename.template_files(template)
        if not rename.rendered_path(relative).startswith(rename.TEMPLATE_ONLY)
    ]


def _answer(value: str) -> bool:
    """A yes/no answer as copier renders it (``True``/``False``)."""
    lowered = value.strip().lower()
    if lowered not in {"true", "false", "yes", "no"}:
        raise argparse.ArgumentTypeError(f"{value!r} is not a yes/no answer")
    return lowered in {"true", "yes"}


def parse(argv: list[str]) -> argparse.Namespace:
    """The template's clone, the package name and one yes/no per part."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, required=True, help="copier's clone of it")
    parser.add_argument("--package", help="the project's package name (the rename's)")
    parser.add_argument("--check", action="store_true", help="list marker problems, change nothing")
    for name, part in PARTS.items():
        parser.add_argument(f"--{name}", type=_answer, default=True, help=f"keep {part.title}")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Prune the project in the current folder (or ``--check`` the template's markers)."""
    args = parse(argv)
    template = args.template.resolve()
    if args.check:
        found = problems(template, rename.template_files(template))
        print("\n".join(found) or "prune: every marker is well formed")
        return 1 if found else 0
    if args.package is None:
        print("prune: --package is required to prune a project", file=sys.stderr)
        return 2
    destination = Path.cwd()
    if template == destination.resolve():
        print("prune: the destination is the template itself; nothing to do", file=sys.stderr)
        return 1
    try:
        off = parts_off({name: getattr(args, name) for name in PARTS})
        changed = prune(destination, project_files(template, args.package), off, args.package)
    except MarkerError as error:
        print(f"prune: {error}", file=sys.stderr)
        return 1
    left_out = ", ".join(sorted(off)) or "no optional part"
    print(
        f"prune: left out {left_out}; {len(changed)} files rewritten without their template"
        f" markers in {destination}"
    )
    if off and "pyproject.toml" in changed:  # with every part kept, only comment lines went
        return relock(destination)
    return 0


def relock(destination: Path) -> int:
    """Re-lock ``uv.lock`` for the dependencies the pruned pyproject.toml still names.

    uv drops the packages no part needs and keeps every other pin as it was; it needs the network
    only for what its cache lacks (``UV_OFFLINE=1`` is honoured). Without uv, it says what to run.
    """
    uv = shutil.which("uv")
    if uv is None:
        print("prune: uv not found: run `uv lock` in the project before `just check`")
        return 0
    done = subprocess.run([uv, "lock", "--quiet"], cwd=destination, check=False)
    if done.returncode != 0:
        print("prune: `uv lock` failed (see above): run it again in the project", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
