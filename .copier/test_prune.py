"""The prune task takes an optional part out whole, and every marker of the template is sound.

Fast: no copier, no generated project (``just template-selftest`` generates the matrix). Every
marked file of the template is pruned with each part off and with every part off, and must give no
marker problem; planted defects show that the checks and the leftover grep can fail.

Template only (copier does not copy ``.copier/``).
"""

import subprocess
from pathlib import Path

import prune
import pytest
import selftest

ROOT = Path(__file__).resolve().parents[1]
EVERY_PART = frozenset(prune.PARTS)
SECTIONS = prune.Sections("churn_model", frozenset({"model_support"}))


CACHES = frozenset({".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
"""Folders of a working copy that no clone holds."""


def _template_files() -> list[str]:
    """The template's files as git lists them: what a clone holds, without local caches.

    In a copy outside git (the slow tests copy the tracked files into a temporary folder), every
    file outside the local caches.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        return [name for name in listed.stdout.split("\0") if name]
    found = (path.relative_to(ROOT) for path in ROOT.rglob("*") if path.is_file())
    return sorted(p.as_posix() for p in found if not CACHES.intersection(p.parts))


def test_every_marker_of_the_template_is_well_formed() -> None:
    assert prune.problems(ROOT, _template_files()) == []


def test_the_template_has_markers_of_every_part() -> None:
    texts = prune.marked_files(ROOT, _template_files())
    marked = {part for text in texts.values() for part in prune.PARTS if f">>> {part}" in text}
    assert marked == set(prune.PARTS)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a\n# >>> serving\nb\n", "this region is never closed"),
        ("a\n# <<< serving\n", "closes nothing"),
        ("# >>> serving\n# <<< tracking\n", "does not close the region opened on line 1"),
        ("# >>> servng\n# <<< servng\n", "a marker of no part ('servng'"),
        (
            "# >>> not serving\n# >>> tracking\n# <<< tracking\n# <<< not serving\n",
            "inside a `not`",
        ),
    ],
    ids=["unclosed", "unopened", "crossed", "unknown part", "nested in not"],
)
def test_a_planted_marker_defect_is_one_sentence_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(prune.MarkerError, match=r"^justfile:\d+: ") as caught:
        prune.prune_text(text, EVERY_PART, "justfile")
    assert problem in str(caught.value)


def test_python_has_no_not_region_and_markdown_its_own_markers() -> None:
    with pytest.raises(prune.MarkerError, match="no `not` region in Python"):
        prune.prune_text("# >>> not tracking\n# x = 1\n# <<< not tracking\n", EVERY_PART, "a.py")
    with pytest.raises(prune.MarkerError, match="in Markdown, write <!-- >>> tracking -->"):
        prune.prune_text("# >>> tracking\n", EVERY_PART, "a.md")


def test_a_region_goes_with_its_part_and_only_its_markers_go_with_the_part_kept() -> None:
    text = "one\n\n# >>> tracking\ntracked\n\n# <<< tracking\n# >>> not tracking\n# plain\n"
    text += "# <<< not tracking\nlast\n"
    assert prune.prune_text(text, frozenset({"tracking"}), "justfile") == "one\n\nplain\nlast\n"
    assert prune.prune_text(text, frozenset(), "justfile") == "one\n\ntracked\n\nlast\n"


def test_a_markdown_table_row_goes_by_its_line_tag() -> None:
    text = "| a | b |\n| --- | --- |\n| x | 1 | <!-- only serving -->\n"
    text += "| y | 2 | <!-- only not serving -->\n"
    assert prune.prune_text(text, frozenset({"serving"}), "a.md").endswith("| y | 2 |\n")
    assert prune.prune_text(text, frozenset(), "a.md").endswith("| --- | --- |\n| x | 1 |\n")


def test_an_import_block_is_laid_out_again_by_its_sections() -> None:
    text = (
        '"""Doc."""\n\nimport os\n\n# >>> tracking\nimport socket\n\n# <<< tracking\n'
        "# >>> tracking\nimport httpx\n\n# <<< tracking\nimport pytest\n\n"
        "from churn_model.errors import UserError\n\n# >>> tracking\n"
        "from model_support import x\n\n# <<< tracking\n\nROOT = 1\n"
    )
    kept = '"""Doc."""\n\nimport os\nimport socket\n\nimport httpx\nimport pytest\n\n'
    kept += "from churn_model.errors import UserError\n\nfrom model_support import x\n\nROOT = 1\n"
    assert prune.prune_text(text, frozenset(), "t.py", SECTIONS) == kept
    gone = '"""Doc."""\n\nimport os\n\nimport pytest\n\n'
    gone += "from churn_model.errors import UserError\n\nROOT = 1\n"
    assert prune.prune_text(text, frozenset({"tracking"}), "t.py", SECTIONS) == gone


def test_kubernetes_goes_with_serving_and_every_answer_is_needed() -> None:
    on = dict.fromkeys(prune.PARTS, True)
    assert prune.parts_off({**on, "serving": False}) == {"serving", "kubernetes"}
    assert prune.parts_off({**on, "kubernetes": False}) == {"kubernetes"}
    with pytest.raises(prune.MarkerError, match="but the parts are"):
        prune.parts_off({"serving": True})


def test_the_leftover_grep_finds_a_planted_reference_to_each_part(tmp_path: Path) -> None:
    selftest.check_part_leftovers_can_fail(tmp_path)  # raises SelfTestError if a grep misses it
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "README.md").write_text("Score with `just predict`.\n", encoding="utf-8")
    assert selftest.part_leftovers(clean, list(prune.PARTS)) == []
