"""``mamori demo``: a fresh home with QualitySoft's policy, synthetic people, a tour.

The tour shows the promises at work: a permitted read, a refused one with
its reason, a consent withdrawal changing the answer, a look-up by e-mail
through the blind index, a correction kept as history, the database file
holding none of the values written, a disclosure and an erasure worked at the
privacy desk (``demo_requests``), data provided to a partner and handed to
processors with their records, the ledger and the public notice
(``demo_parties``), and the audit trail and its verification.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mamori import boot
from mamori.audit.service import tail
from mamori.audit.verify import verify
from mamori.config import Settings, load_settings
from mamori.consents import service as consents
from mamori.demo_parties import PartiesTour
from mamori.demo_requests import RequestsTour
from mamori.errors import ConfigError, Denied
from mamori.guard.rules import Actor
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.runtime import Runtime
from mamori.staff import service as staff
from mamori.subjects import changes, service
from mamori.subjects.intake import Registration, register_many
from mamori.synthetic import Population

EXAMPLE_POLICY = Path(__file__).with_name("data") / "qualitysoft-policy.yaml"
MARKER = ".mamori-demo"
BATCH = 2000
console = Console()


@dataclass(frozen=True)
class Plan:
    """A share of the population: who came through which channel, and what they agreed to."""

    channel: str
    purpose: str
    share: float
    consents: tuple[str, ...] = ()


PLANS = (
    Plan("product_purchase", "purchase_fulfillment", 0.30),
    Plan("membership_registration", "membership", 0.20, ("personalization",)),
    Plan("event_application", "event_registration", 0.15, ("event_participation",)),
    Plan("email_subscription", "email_delivery", 0.20, ("email_delivery", "partner_information")),
    Plan("business_card_exchange", "business_card_promotion", 0.15),
)
STAFF = {
    "officer": "privacy_officer",
    "sales.tanaka": "sales",
    "marketing.sato": "marketing",
    "support.suzuki": "support",
    "auditor.kato": "auditor",
}


def _fresh_home(home: Path) -> Settings:
    if home.exists():
        if not (home / MARKER).exists():
            raise ConfigError(f"{home} exists and is not a Mamori demo home; choose another --home")
        shutil.rmtree(home)
    settings = load_settings({"MAMORI_HOME": str(home)})
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:demo")
    (home / MARKER).write_text("made by 'mamori demo'; safe to delete\n", encoding="utf-8")
    return settings


def populate(
    rt: Runtime, *, people: int, seed: int, progress: Progress | None = None
) -> dict[str, list[str]]:
    """Register ``people`` synthetic people across the plans; returns refs per channel."""
    population = Population(seed)
    officer = Actor("officer", ("privacy_officer",))
    refs: dict[str, list[str]] = {}
    task = progress.add_task("registering people", total=people) if progress else None
    start = 0
    for plan in PLANS:
        count = round(people * plan.share) if plan is not PLANS[-1] else people - start
        covered = rt.policy.categories_of(plan.purpose)
        for offset in range(0, count, BATCH):
            size = min(BATCH, count - offset)
            records = [
                Registration(
                    {k: v for k, v in p.values.items() if k in covered},
                    plan.consents,
                    explicit=True,
                )
                for p in population.people(size, start + offset)
            ]
            with rt.db.transaction() as tx:
                made = register_many(
                    tx,
                    rt,
                    actor=officer,
                    channel=plan.channel,
                    purpose=plan.purpose,
                    records=records,
                )
            refs.setdefault(plan.channel, []).extend(made)
            if progress and task is not None:
                progress.advance(task, size)
        start += count
    return refs


def run_demo(*, home: Path, people: int, seed: int) -> str:
    """Build and tour the demo home; returns the web member a served demo signs in as."""
    console.print(
        Panel.fit("Mamori demo: QualitySoft Corporation's privacy policy, running", style="bold")
    )
    settings = _fresh_home(home)
    rt = boot.start(settings)
    try:
        with rt.db.transaction() as tx:
            for handle, role in STAFF.items():
                staff.add(tx, rt, handle=handle, roles=[role], by="cli:demo")
            notice = notices.publish(tx, rt, actor=Actor("officer", ("privacy_officer",)))
        console.print(
            f"home [bold]{home}[/], notice version {notice.version} published, staff: {', '.join(STAFF)}"
        )
        began = time.perf_counter()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            refs = populate(rt, people=people, seed=seed, progress=bar)
        took = time.perf_counter() - began
        console.print(
            f"registered {people:,} synthetic people in {took:.1f} s ({people / took:,.0f}/s), sealed"
        )
        Tour(rt, refs, settings).run()
    finally:
        rt.close()
    return refs["membership_registration"][1]


class Tour:
    """The guided part of the demo, one promise per step."""

    def __init__(self, rt: Runtime, refs: dict[str, list[str]], settings: Settings) -> None:
        self.rt, self.refs, self.settings = rt, refs, settings
        self.customer = refs["product_purchase"][0]
        self.subscriber = refs["email_subscription"][0]

    def run(self) -> None:
        self.permitted_read()
        self.refused_read()
        self.withdrawal()
        self.lookup_and_correction()
        self.no_plaintext()
        member = self.refs["membership_registration"][0]
        RequestsTour(self.rt, console, self.customer, member).run(first_step=6)
        PartiesTour(self.rt, console, self.refs["email_subscription"]).run(first_step=9)
        self.audit(12)
        console.print(
            Panel.fit(
                f"Try it yourself:\n  export MAMORI_HOME={self.settings.home}\n"
                f"  mamori subjects show {self.customer} --actor sales.tanaka --purpose purchase_fulfillment\n"
                f"  mamori subjects show {self.customer} --actor marketing.sato --purpose purchase_fulfillment\n"
                "  mamori requests list --actor officer\n"
                "  mamori recipients records --actor officer\n"
                "  mamori processors list --actor officer\n"
                "  mamori ledger export --format html --out ledger.html --actor officer\n"
                "  mamori notice show --lang en\n"
                "  mamori audit tail --outcome denied\n  mamori audit verify",
                title="next",
            )
        )

    def step(self, title: str) -> None:
        console.rule(f"[bold]{title}")

    def read(self, handle: str, ref: str, purpose: str) -> service.SubjectView | Denied:
        with self.rt.db.transaction() as tx:
            try:
                return service.read(
                    tx,
                    self.rt,
                    actor=staff.actor(tx, self.rt, handle=handle, purpose=purpose, action="read"),
                    ref=ref,
                    purpose=purpose,
                )
            except Denied as denied:
                return denied

    def show(self, result: service.SubjectView | Denied, who: str) -> None:
        if isinstance(result, Denied):
            console.print(
                f"[red]refused[/] for {who} (rule [bold]{result.rule}[/]): {result.message}"
            )
            return
        table = Table(
            "category", "value", "collected through", title=f"{result.ref} as read by {who}"
        )
        for category, value in result.values.items():
            table.add_row(category, value, str(result.sources[category][0]))
        console.print(table)

    def permitted_read(self) -> None:
        self.step("1. A permitted read: sales reads a customer to deliver an order")
        self.show(self.read("sales.tanaka", self.customer, "purchase_fulfillment"), "sales.tanaka")

    def refused_read(self) -> None:
        self.step("2. A refused read: marketing asks for the same customer's delivery data")
        self.show(
            self.read("marketing.sato", self.customer, "purchase_fulfillment"), "marketing.sato"
        )

    def withdrawal(self) -> None:
        self.step("3. Consent withdrawn: the newsletter can no longer use the subscriber's data")
        self.show(
            self.read("marketing.sato", self.subscriber, "email_delivery"),
            "marketing.sato (before)",
        )
        with self.rt.db.transaction() as tx:
            officer = staff.actor(
                tx, self.rt, handle="officer", purpose="email_delivery", action="write"
            )
            consents.record(
                tx,
                self.rt,
                actor=officer,
                ref=self.subscriber,
                purpose="email_delivery",
                state=consents.WITHDRAWN,
                channel="unsubscribe_link",
            )
        console.print(f"{self.subscriber} withdrew consent to email_delivery (unsubscribe link)")
        self.show(
            self.read("marketing.sato", self.subscriber, "email_delivery"), "marketing.sato (after)"
        )

    def lookup_and_correction(self) -> None:
        self.step("4. Look-up by e-mail through the blind index, then a correction kept as history")
        email = self.read("officer", self.customer, "purchase_fulfillment")
        assert not isinstance(email, Denied)
        address = email.values["user.contact.email"]
        with self.rt.db.transaction() as tx:
            officer = staff.actor(
                tx, self.rt, handle="officer", purpose="purchase_fulfillment", action="read"
            )
            found = service.find(
                tx, self.rt, actor=officer, purpose="purchase_fulfillment", email=address.upper()
            )
        console.print(
            f"looking up {address.upper()} finds {', '.join(found)} (case does not matter)"
        )
        with self.rt.db.transaction() as tx:
            officer = staff.actor(
                tx, self.rt, handle="officer", purpose="registration_correction", action="write"
            )
            changes.correct(
                tx,
                self.rt,
                actor=officer,
                ref=self.customer,
                purpose="registration_correction",
                values={
                    "user.contact.address.postal_code": "〒１００－０００１",
                    "user.contact.address.prefecture": "東京都",
                    "user.contact.address.municipality": "千代田区",
                },
            )
        self.show(
            self.read("sales.tanaka", self.customer, "purchase_fulfillment"),
            "sales.tanaka (after correction)",
        )

    def audit(self, number: int) -> None:
        self.step(f"{number}. Every step above left an audit entry; the chain verifies")
        with self.rt.db.transaction() as tx:
            rows = tail(tx, limit=8)
            report = verify(tx, self.rt.audit)
        table = Table("seq", "actor", "purpose", "action", "outcome", "rule")
        for r in reversed(rows):
            table.add_row(
                str(r["seq"]),
                r["actor"],
                r["purpose"],
                r["action"],
                r["outcome"],
                r["rule"],
                style="red" if r["outcome"] == "denied" else None,
            )
        console.print(table)
        verdict = (
            "[green]intact[/]" if report.ok else f"[red]broken: {report.findings[0].message}[/]"
        )
        console.print(f"audit verify: {report.entries:,} entries, chain {verdict}")

    def no_plaintext(self) -> None:
        self.step("5. The database file holds none of the values")
        view = self.read("officer", self.customer, "purchase_fulfillment")
        assert not isinstance(view, Denied)
        files = [p for p in self.settings.home.glob("mamori.db*") if p.is_file()]
        blob = b"".join(p.read_bytes() for p in files)
        for category in ("user.name", "user.contact.email", "user.contact.address.street"):
            needle = view.values[category].encode()
            console.print(
                f"{category}: {'[red]FOUND[/]' if needle in blob else '[green]not found[/]'} "
                f"in {sum(len(b) for b in [blob]):,} bytes of database files"
            )
