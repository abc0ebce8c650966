"""``mamori notice``: the public notice of APPI Art. 32."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The public notice: what the company announces (APPI Art. 32).", no_args_is_help=True
)
