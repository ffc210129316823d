"""The package's layers: no module imports a layer above its own, nor what its package forbids.

The layers, lowest first (``README.md`` draws them): the records every stage shares, the domain,
the configuration, then ``data``, ``model``, ``serving`` and ``release``, and the command line over
all of it. A module may import its own layer and any layer below; a module of a subpackage may
import, outside its package, only what the package's ``__init__`` docstring names on its
``May import:`` line (names relative to the package; the package's root, its name and version,
is open to every module). Imports are read from the source with ``ast``, wherever they are (a
function's lazy import is a dependency too), as are ``importlib.import_module`` calls with a
constant name.
"""

import ast
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src"
PACKAGE = "churn_model"
ALLOWED_LINE = "May import:"

LAYERS: tuple[tuple[str, ...], ...] = (
    (PACKAGE, f"{PACKAGE}.errors", f"{PACKAGE}.files", f"{PACKAGE}.records", f"{PACKAGE}.table"),
    (f"{PACKAGE}.domain",),
    (f"{PACKAGE}.config",),
    (f"{PACKAGE}.data",),
    (f"{PACKAGE}.model",),
    (f"{PACKAGE}.serving",),
    (f"{PACKAGE}.release",),
    (f"{PACKAGE}.cli", f"{PACKAGE}.__main__"),
)
"""Each layer's units (a top-level module, or a subpackage with everything in it), lowest first."""


@functools.cache
def _parsed(source: str) -> ast.Module:
    """``source``'s syntax tree, parsed once per text: the planted copies differ in one file."""
    return ast.parse(source)


def _tree(path: Path) -> ast.Module:
    """The syntax tree of the module at ``path``."""
    return _parsed(path.read_text(encoding="utf-8"))


def _layer(unit: str) -> int:
    """The layer of ``unit``; a top-level module no layer names is a shared record (layer 0)."""
    return next((number for number, units in enumerate(LAYERS) if unit in units), 0)


def _unit(module: str) -> str:
    """The unit ``module`` belongs to: its subpackage, or itself for a top-level module."""
    if module == PACKAGE:
        return PACKAGE
    units = [unit for layer in LAYERS for unit in layer if unit != PACKAGE]
    found = [unit for unit in units if module == unit or module.startswith(f"{unit}.")]
    return max(found, key=len) if found else ".".join(module.split(".")[:2])


def _modules(source: Path) -> dict[str, Path]:
    """Every module of the package under ``source``, by dotted name (a package by its own)."""
    found = {}
    for path in sorted((source / PACKAGE).rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Each package module ``tree`` imports, with its line: ``from a import b`` as ``a.b``."""
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                base = f"{anchor}.{base}" if base else anchor
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in {"importlib.import_module", "import_module"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _allowed(init: Path) -> list[str] | None:
    """The units a package's ``__init__`` docstring allows (its ``May import:`` line), if any."""
    docstring = ast.get_docstring(_tree(init)) or ""
    _, found, rest = docstring.partition(ALLOWED_LINE)
    if not found:
        return None
    listed = rest.split("\n\n")[0].replace("`", "").replace("\n", " ").rstrip(". ")
    return [f"{PACKAGE}.{name.strip()}" for name in listed.split(",") if name.strip()]


def _relative(units: list[str]) -> str:
    return ", ".join(unit.removeprefix(f"{PACKAGE}.") for unit in units)


def layout_problems(source: Path) -> list[str]:
    """Every import under ``source`` that breaks the layers, one line each, naming the rule."""
    modules = _modules(source)
    problems = []
    allowed: dict[str, list[str]] = {}
    units = [unit for layer in LAYERS for unit in layer if unit != PACKAGE]
    for package in [unit for unit in units if modules.get(unit, source).name == "__init__.py"]:
        names = _allowed(modules[package])
        where = f"{package.replace('.', '/')}/__init__.py"
        if names is None:
            problems.append(f"{where}: its docstring has no `{ALLOWED_LINE} ...` line")
            continue
        allowed[package] = names
        for name in names:
            unit = _unit(name)
            if unit != name or name not in modules or _layer(unit) >= _layer(package):
                problems.append(f"{where}: `{ALLOWED_LINE}` names {name}, not a layer below it")
    for module, path in modules.items():
        own = _unit(module)
        where = path.relative_to(source).as_posix()
        in_a_package = own != module or path.name == "__init__.py"
        if own not in [PACKAGE, *units] and in_a_package:
            problems.append(f"{where}: a subpackage in no layer (add it to LAYERS and the README)")
            continue
        tree = _tree(path)
        for line, name in _imports(tree, module, path.name == "__init__.py"):
            target = name if name in modules else name.rpartition(".")[0]
            if target != PACKAGE and not target.startswith(f"{PACKAGE}."):
                continue
            unit = _unit(target)
            if unit in {own, PACKAGE}:
                continue
            if _layer(unit) > _layer(own):
                problems.append(
                    f"{where}:{line} imports {target}: {own} may not import {unit}, a layer above"
                )
            elif own in allowed and unit not in allowed[own]:
                problems.append(
                    f"{where}:{line} imports {target}: {own.replace('.', '/')}/__init__.py does "
                    f"not allow {unit} ({ALLOWED_LINE} {_relative(allowed[own])})"
                )
    return problems


def test_every_import_keeps_to_the_layers() -> None:
    assert layout_problems(SOURCE) == []


def test_a_new_top_level_module_is_a_shared_record_and_a_new_subpackage_needs_a_layer(
    copy: Path,
) -> None:
    assert layout_problems(copy) == []
    line = _plant(copy, "_extra.py", f"from {PACKAGE}.model.card import read_card")
    (copy / PACKAGE / "extras").mkdir()
    _plant(copy, "extras/__init__.py", '"""A package in no layer."""')
    assert layout_problems(copy) == [
        f"{PACKAGE}/_extra.py:{line} imports {PACKAGE}.model.card: "
        f"{PACKAGE}._extra may not import {PACKAGE}.model, a layer above",
        f"{PACKAGE}/extras/__init__.py: a subpackage in no layer (add it to LAYERS and the README)",
    ]


# >>> serving
SERVICE = f"{PACKAGE}.serving.app"
NOT_FOR_THE_SERVICE: tuple[str, ...] = ("matplotlib", "pyarrow", "yaml", "httpx")
"""Libraries the HTTP service must not load: what the image lacks (the ``train`` and ``tracking``
extras)."""
# >>> tracking
NOT_FOR_THE_SERVICE += ("mlflow",)
# <<< tracking


def _loaded_on_import(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: not in a function, nor type-only."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _loaded_on_import(node)


def test_the_service_loads_neither_the_validation_stack_nor_a_training_extra() -> None:
    modules = _modules(SOURCE)
    seen: set[str] = set()
    todo = [SERVICE]
    libraries: dict[str, str] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        is_package = modules[module].name == "__init__.py"
        tree = _tree(modules[module])
        for node in _loaded_on_import(tree):
            for _, name in _imports(ast.Module(body=[node], type_ignores=[]), module, is_package):
                target = name if name in modules else name.rpartition(".")[0]
                parents = [".".join(target.split(".")[:n]) for n in range(1, target.count(".") + 2)]
                todo += [part for part in parents if part in modules]
                root = (name if isinstance(node, ast.Import) else target).partition(".")[0]
                libraries.setdefault(root, f"{modules[module].relative_to(SOURCE)}:{node.lineno}")
    assert {name: libraries[name] for name in NOT_FOR_THE_SERVICE if name in libraries} == {}


# <<< serving
@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package's source, to plant defects in."""
    shutil.copytree(
        SOURCE / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def _plant(copy: Path, relative: str, line: str) -> int:
    """Add ``line`` at the end of module ``relative`` of the copy; return its line number."""
    path = copy / PACKAGE / relative
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


def test_an_import_of_a_layer_above_is_named(copy: Path) -> None:
    assert layout_problems(copy) == []
    line = _plant(copy, "data/tables.py", f"from {PACKAGE}.release.gate import GateRow")
    assert layout_problems(copy) == [
        f"{PACKAGE}/data/tables.py:{line} imports {PACKAGE}.release.gate: "
        f"{PACKAGE}.data may not import {PACKAGE}.release, a layer above"
    ]


def test_a_lazy_import_of_a_layer_above_is_named(copy: Path) -> None:
    line = _plant(copy, "model/card.py", f"def later():\n    from {PACKAGE} import serving")
    assert layout_problems(copy) == [
        f"{PACKAGE}/model/card.py:{line + 1} imports {PACKAGE}.serving: "
        f"{PACKAGE}.model may not import {PACKAGE}.serving, a layer above"
    ]


def test_an_import_the_package_does_not_allow_is_named(copy: Path) -> None:
    line = _plant(copy, "domain/features.py", f"from {PACKAGE}.files import write_atomic")
    [problem] = layout_problems(copy)
    assert problem == (
        f"{PACKAGE}/domain/features.py:{line} imports {PACKAGE}.files: "
        f"{PACKAGE}/domain/__init__.py does not allow {PACKAGE}.files "
        "(May import: errors, records, table)"
    )


def test_a_package_that_allows_a_layer_above_is_named(copy: Path) -> None:
    init = copy / PACKAGE / "data/__init__.py"
    text = init.read_text(encoding="utf-8")
    init.write_text(text.replace("domain, config\n", "domain, config, model\n"))
    assert layout_problems(copy) == [
        f"{PACKAGE}/data/__init__.py: `May import:` names {PACKAGE}.model, not a layer below it"
    ]
