"""``mamori demo`` (build a demo home, tour it, serve it) and ``mamori demo-code``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mamori import demo_mailbox
from mamori.cli.common import console, handle_errors
from mamori.config import load_settings
from mamori.demo import run_demo
from mamori.demo_access import DemoAccess, current_code, make_demo_access

HomeOpt = Annotated[Path, typer.Option(help="The demo home.")]


@handle_errors
def demo(
    people: Annotated[
        int, typer.Option(min=10, max=2_000_000, help="How many synthetic people.")
    ] = 10_000,
    home: Annotated[Path, typer.Option(help="Where to build the demo home (replaced).")] = Path(
        "mamori-demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed for the synthetic population.")] = 2009,
    serve_it: Annotated[
        bool, typer.Option("--serve", help="Then serve the demo home over HTTP.")
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Build a fresh demo home with the QualitySoft policy and a synthetic population, then tour it."""
    member = run_demo(home=home, people=people, seed=seed)
    if not serve_it:
        return
    from mamori.cli.main import serve

    home = home.absolute()
    base = f"http://127.0.0.1:{port}"
    os.environ["MAMORI_HOME"] = str(home)
    os.environ.setdefault("MAMORI_PUBLIC_URL", base)
    mailbox = None if os.environ.get("MAMORI_SMTP_URL") else demo_mailbox.start(home)
    if mailbox is not None:
        os.environ["MAMORI_SMTP_URL"] = mailbox[1]
    access = make_demo_access(load_settings(dict(os.environ)), member)
    _tell(access, base, home, mailbox is not None)
    try:
        serve(host="127.0.0.1", port=port, workers=1)
    finally:
        if mailbox is not None:
            mailbox[0].stop()


def _tell(access: DemoAccess, base: str, home: Path, mailbox: bool) -> None:
    where = (
        f"they land in {home / 'mailbox'}/" if mailbox else "set MAMORI_SMTP_URL to receive them"
    )
    console.print(
        f"\nserving the demo home at [bold]{base}[/] (API documentation: {base}/docs)\n"
        f"privacy center: {base}/privacy  (sign in as the member {access.member_email};"
        f" codes come by mail: {where})\n"
        f"staff console: {base}/console  (sign in as {access.console_handle} /"
        f" {access.console_password}; the second-factor code: mamori demo-code --home {home})\n"
        f"API sign-in: {access.handle} / {access.password}\n"
        f"service token (privacy officer's role; shown once):\n  {access.token}\n"
        f'try: curl -H "Authorization: Bearer $TOKEN" "{base}/subjects?purpose=purchase_fulfillment&limit=3"\n'
        "stop with Ctrl-C",
        soft_wrap=True,
    )


@handle_errors
def demo_code(home: HomeOpt = Path("mamori-demo")) -> None:
    """Print the demo console login's second-factor code now (demo homes only)."""
    console.print(current_code(home))
