"""``mamori recipients`` and ``mamori provide``."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Third parties that may receive data, and provision records.", no_args_is_help=True
)


def provide() -> None:
    """Provide data to a third party, with its record (filled in by the provision work)."""
    raise typer.Exit(1)
