"""The command-line interface: one sub-command per stage of the ML path.

The justfile calls these commands; each one is a thin shell over a plain function in its own module,
so the same logic is reachable from tests and notebooks without going through the CLI.
"""

from typing import Annotated

import typer

from churn_model import __version__

app = typer.Typer(
    name="churn-model",
    help="Train, gate, promote and serve the customer-churn model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    """Print the package version and stop, for ``--version``."""
    if value:
        typer.echo(f"churn-model {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Train, gate, promote and serve the customer-churn model."""
