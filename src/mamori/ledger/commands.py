"""``mamori ledger``: the management ledger, records of processing and the data map."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The management ledger, records of processing and the data map.", no_args_is_help=True
)
