"""The demo's second half: a person's requests worked at the privacy desk.

A disclosure taken by phone waits for its fee, then releases a report through
a link that works once; an erasure shows first what ends and what the law
makes QualitySoft keep, then shreds the rest; the queue shows what is open.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mamori.dsr import erasure, fulfil, queue, verification, workflow
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import IdentityMethod, Via
from mamori.errors import Denied, Gone
from mamori.guard.rules import Actor
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects import service

OFFICER = Actor("officer", ("privacy_officer",))


class RequestsTour:
    def __init__(self, rt: Runtime, console: Console, customer: str, member: str) -> None:
        self.rt, self.console = rt, console
        self.customer, self.member = customer, member

    def run(self, first_step: int) -> None:
        self.disclosure(first_step)
        self.erasure(first_step + 1)
        self.desk(first_step + 2)

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def disclosure(self, number: int) -> None:
        self.step(f"{number}. A customer calls to ask what is held about them (APPI Art. 33)")
        rt = self.rt
        with rt.db.transaction() as tx:
            new = NewRequest(RequestKind.DISCLOSURE, Via.PHONE, self.customer)
            row = create(tx, rt, actor=OFFICER, new=new)
            verification.record_identity(
                tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.PHONE_CALLBACK
            )
            held = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
        due = (
            held.request.due_at.astimezone(workflow.calendar(rt).zone)
            if held.request.due_at
            else None
        )
        self.console.print(
            f"request {row.ref} received by phone, identity checked by callback; due "
            f"{due:%Y-%m-%d %H:%M} (10 business days); state [bold]{held.request.state}[/] "
            f"until the {held.request.fee_yen} yen fee is paid"
        )
        with rt.db.transaction() as tx:
            workflow.record_payment(tx, rt, actor=OFFICER, ref=row.ref, amount_yen=row.fee_yen)
            done = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref, format="json")
        assert done.download_token is not None
        with rt.db.transaction() as tx:
            body, _, name = fulfil.download(tx, rt, token=done.download_token)
        self.console.print(
            f"fee recorded, report released: {name}, {len(body):,} bytes, built through the guard "
            "when the link was used (no copy is stored)"
        )
        try:
            with rt.db.transaction() as tx:
                fulfil.download(tx, rt, token=done.download_token)
        except Gone as used:
            self.console.print(f"the same link again: [red]refused[/] ({used.message})")

    def erasure(self, number: int) -> None:
        self.step(f"{number}. The customer asks to be erased; invoices stay under the tax law")
        rt = self.rt
        with rt.db.transaction() as tx:
            row = create(
                tx, rt, actor=OFFICER, new=NewRequest(RequestKind.ERASURE, Via.EMAIL, self.customer)
            )
            verification.record_identity(
                tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
            )
            shown = erasure.preview(tx, rt, actor=OFFICER, ref=self.customer)
        table = Table("", "what", title="before confirming")
        for group in shown.ends:
            titles = ", ".join(p.title.en for p in group.purposes)
            table.add_row(f"ends: {group.title.en}", titles)
        for kept in shown.kept:
            table.add_row("kept", f"{kept.category} until {kept.until:%Y-%m-%d}")
        if shown.kept:
            table.add_row("why kept", shown.kept[0].reason.en)
        table.add_row("erased", ", ".join(shown.erased))
        self.console.print(table)
        with rt.db.transaction() as tx:
            fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
        try:
            with rt.db.transaction() as tx:
                service.read(
                    tx, rt, actor=OFFICER, ref=self.customer, purpose="purchase_fulfillment"
                )
        except Denied as refused:
            self.console.print(f"a delivery read now: [red]refused[/] (rule {refused.rule})")

    def desk(self, number: int) -> None:
        self.step(f"{number}. The privacy desk: what is open, what is late")
        rt = self.rt
        with rt.db.transaction() as tx:
            create(
                tx,
                rt,
                actor=OFFICER,
                new=NewRequest(
                    RequestKind.CESSATION_OF_USE,
                    Via.LETTER,
                    self.member,
                    purposes=["personalization"],
                ),
            )
            rows = queue.open_requests(tx, rt, actor=OFFICER)
            numbers = queue.metrics(tx, rt, actor=OFFICER)
        table = Table("request", "kind", "state", "due", "assigned")
        for r in rows:
            table.add_row(r["ref"], r["kind"], r["state"], r["due_at"][:16], r["assigned_to"])
        self.console.print(table)
        self.console.print(
            f"open {numbers['open']}, overdue {numbers['overdue']}, by state {numbers['by_state']}"
        )
