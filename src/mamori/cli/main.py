"""The ``mamori`` command: mounts each domain's commands, plus init and demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mamori.audit.commands import app as audit_app
from mamori.auth.commands import app as tokens_app
from mamori.cli.common import JsonOpt, console, emit, handle_errors, operator
from mamori.cli.demo_commands import demo, demo_code
from mamori.config import load_settings
from mamori.consents.commands import app as consents_app
from mamori.db.commands import app as db_app
from mamori.demo import EXAMPLE_POLICY
from mamori.dsr.commands import app as requests_app
from mamori.dsr.systems_commands import app as systems_app
from mamori.install import initialise
from mamori.ledger.commands import app as ledger_app
from mamori.ledger.notice_commands import app as notice_app
from mamori.policy.commands import app as policy_app
from mamori.recipients.commands import app as recipients_app
from mamori.recipients.commands import provide
from mamori.recipients.processor_commands import app as processors_app
from mamori.recipients.processor_commands import receipts_app
from mamori.staff.commands import app as staff_app
from mamori.subjects.commands import app as subjects_app

app = typer.Typer(
    name="mamori",
    help="Mamori: a privacy policy as running, enforced, provable software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo)
app.command("demo-code")(demo_code)
app.add_typer(policy_app, name="policy")
app.add_typer(staff_app, name="staff")
app.add_typer(subjects_app, name="subjects")
app.add_typer(consents_app, name="consents")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
app.add_typer(requests_app, name="requests")
app.add_typer(systems_app, name="systems")
app.add_typer(recipients_app, name="recipients")
app.command("provide")(provide)
app.add_typer(receipts_app, name="receipts")
app.add_typer(processors_app, name="processors")
app.add_typer(ledger_app, name="ledger")
app.add_typer(notice_app, name="notice")


@app.command("init")
@handle_errors
def init(
    policy: Annotated[
        Path, typer.Option(help="The policy file to run; the QualitySoft example by default.")
    ] = EXAMPLE_POLICY,
    as_json: JsonOpt = False,
) -> None:
    """Create a Mamori home: key file, database, policy and audit log."""
    settings = load_settings()
    installation = initialise(settings, policy_source=policy, by=operator())
    data = {
        "home": str(settings.home),
        "installation": installation,
        "key_file": str(settings.key_file),
    }
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            f"initialised Mamori in {d['home']}\n"
            f"key file: {d['key_file']} (owner-only; back it up apart from the database)\n"
            "next: mamori staff add NAME --role privacy_officer, then mamori policy publish --actor NAME"
        ),
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (uvicorn) on the home in MAMORI_HOME."""
    import uvicorn

    uvicorn.run(
        "mamori.api.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_config=None,
    )


def run() -> None:
    app()
