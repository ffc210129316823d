"""Reading a rich table as a console of a given width prints it: the text a user sees."""

from rich.console import Console, RenderableType


def rendered(table: RenderableType, width: int) -> str:
    """``table`` as plain text, printed by a console ``width`` columns wide."""
    console = Console(record=True, width=width)
    console.print(table)
    return console.export_text()


def column_text(text: str, column: int) -> str:
    """The text of column ``column`` (0-based) of a rendered table: its cells' lines, joined.

    A cell folded over several lines reads whole again; a cell cut short keeps its ellipsis.
    """
    body = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    return "".join(cells[column + 1].strip() for cells in body)
