"""``mamori processors`` and ``mamori receipts``."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Entrusted processors: contracts, hand-overs and supervision.", no_args_is_help=True
)
receipts_app = typer.Typer(
    help="Data received from third parties, with receipt records.", no_args_is_help=True
)
