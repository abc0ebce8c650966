"""The demo's third part: data that leaves the company, and the records that prove it.

A provision of newsletter subscribers to a sales partner goes through on their
consent and leaves its record (APPI Art. 29), leaving out by name the one who
asked to stop provision; a hand-over to the call center is refused because its
contract has lapsed, while the mail delivery company receives only e-mail
addresses and names; the management ledger counts who is held for what, and
the public notice says all of it in Japanese and English.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.ledger import ledger
from mamori.ledger.notice import matters
from mamori.policy import service as notices
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients import processors
from mamori.recipients.export import ExportFormat
from mamori.recipients.provision import Selection, provide
from mamori.runtime import Runtime
from mamori.subjects import changes

OFFICER = Actor("officer", ("privacy_officer",))


class PartiesTour:
    def __init__(self, rt: Runtime, console: Console, subscribers: list[str]) -> None:
        self.rt, self.console, self.subscribers = rt, console, subscribers

    def run(self, first_step: int) -> None:
        self.provision(first_step)
        self.handover(first_step + 1)
        self.records(first_step + 2)

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def provision(self, number: int) -> None:
        self.step(
            f"{number}. Subscribers provided to a sales partner, on their consent (Art. 27, 29)"
        )
        rt, stopped = self.rt, self.subscribers[1]
        with rt.db.transaction() as tx:
            changes.set_provision_stop(tx, rt, actor=OFFICER, ref=stopped, purposes=None, stop=True)
        self.console.print(f"{stopped} asked to stop provision to third parties (Art. 35)")
        with rt.db.transaction() as tx:
            result = provide(
                tx,
                rt,
                actor=OFFICER,
                recipient="partner_kanto",
                purpose="partner_information",
                basis=ProvisionBasis.CONSENT,
                selection=Selection(refs=self.subscribers[:200]),
                fmt=ExportFormat.CSV,
            )
        record = result.record
        refused = Counter(r.rule for r in result.refused)
        self.console.print(
            f"record [bold]{record['ref']}[/]: {record['subject_count']} people, items "
            f"{', '.join(record['categories'])}; kept until {record['keep_until'][:10]}; "
            f"file sha256 {record['export_digest'][:16]}…"
        )
        self.console.print(
            "left out, each with its reason: "
            + ", ".join(f"{rule} × {n}" for rule, n in sorted(refused.items()))
        )

    def handover(self, number: int) -> None:
        self.step(
            f"{number}. Hand-over to processors: only under a contract and NDA in force (Art. 25)"
        )
        rt = self.rt
        try:
            with rt.db.transaction() as tx:
                processors.handover(
                    tx,
                    rt,
                    actor=OFFICER,
                    processor="call_center",
                    purpose="product_support",
                    fmt=ExportFormat.CSV,
                    refs=self.subscribers[:5],
                )
        except Denied as denied:
            self.console.print(f"[red]refused[/] (rule [bold]{denied.rule}[/]): {denied.message}")
        with rt.db.transaction() as tx:
            done = processors.handover(
                tx,
                rt,
                actor=OFFICER,
                processor="mail_delivery",
                purpose="email_delivery",
                fmt=ExportFormat.CSV,
                refs=self.subscribers[:200],
            )
        view = done.record
        self.console.print(
            f"hand-over [bold]{view['ref']}[/] to mail_delivery: {view['subject_count']} people, "
            f"items {', '.join(view['categories'])} only; {len(done.refused)} left out with reasons"
        )

    def records(self, number: int) -> None:
        self.step(f"{number}. The management ledger and the public notice, from the same policy")
        rt = self.rt
        with rt.db.transaction() as tx:
            ledger.require_reader(tx, rt, OFFICER, "ledger")
            built = ledger.build(tx, rt)
            ledger.record_read(tx, rt, OFFICER, "ledger", {"format": "demo"})
            notice, snapshot = notices.frozen(tx, rt)
        table = Table("purpose", "persons", "processors", "recipients", title="management ledger")
        for row in built.rows:
            if row.processors or row.recipients:
                table.add_row(
                    row.purpose.key,
                    f"{row.persons:,}",
                    ", ".join(p.key for p in row.processors),
                    ", ".join(r.key for r in row.recipients),
                )
        self.console.print(table)
        shown = matters(notice, snapshot, "en")
        self.console.print(
            f"public notice version {notice.version}: {len(shown['purposes'])} purposes, "
            "request fees, security measures, joint use and foreign provision, at /notice"
        )
