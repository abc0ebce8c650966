"""Figures, their goals, the Rich table and ``latest.json``."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import RESULTS


@dataclass(frozen=True)
class Goal:
    """The headline metric of a figure and the bound it should meet."""

    key: str
    limit: float
    at_most: bool

    def met(self, value: float) -> bool:
        return value <= self.limit if self.at_most else value >= self.limit

    def text(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:,g}"

    def off_by(self, value: float) -> str:
        """How far from the goal, as a factor (1.00× means exactly on it)."""
        if not value:
            return "n/a"
        factor = value / self.limit if self.at_most else self.limit / value
        return f"{factor:.2f}× over the goal" if self.at_most else f"{factor:.2f}× below the goal"


@dataclass
class Result:
    """One figure: its metrics (flat, for latest.json), its goals, details and profile."""

    name: str
    title: str
    goals: list[Goal]
    metrics: dict[str, float]
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    profile: list[dict[str, Any]] = field(default_factory=list)


def print_table(console: Console, results: list[Result]) -> None:
    """The headline figures against their goals, then what each was measured as."""
    table = Table(title="Mamori benchmarks (side by side with the bare work, same run)")
    for column in ("figure", "value", "goal", "met"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for result in results:
        for goal in result.goals:
            value = result.metrics[goal.key]
            met = goal.met(value)
            verdict = "[green]yes[/]" if met else f"[red]no[/], {goal.off_by(value)}"
            table.add_row(goal.key, f"{value:,.2f}", goal.text(), verdict)
    console.print(table)
    for result in results:
        console.print(f"[bold]{result.name}[/]: {result.summary}")


def write_json(results: list[Result], argv: list[str], source: dict[str, Any]) -> Path:
    """Write ``bench/results/latest.json``; returns its path."""
    figures: dict[str, float] = {}
    goals: dict[str, dict[str, Any]] = {}
    for result in results:
        figures.update(result.metrics)
        for goal in result.goals:
            value = result.metrics[goal.key]
            goals[goal.key] = {**asdict(goal), "goal": goal.text(), "met": goal.met(value)}
    doc = {
        "figures": figures,
        "goals": goals,
        "details": {r.name: r.details for r in results},
        "profiles": {
            r.name: {"file": f"bench/results/{r.name}.profile.txt", "top_own_time": r.profile}
            for r in results
        },
        "run": {**_run_info(argv), "source": source},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _run_info(argv: list[str]) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": argv,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
