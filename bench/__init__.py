"""Mamori's benchmarks: what the guard, the seal and the audit chain cost.

Every figure is measured side by side with the bare work (plain ``sqlite3``,
same journal mode and synchronous setting, same data, same machine, same
run) and reported as a ratio against it, so that a slow or busy machine
moves both sides together. ``python -m bench`` runs them all, prints a
table and writes ``bench/results/latest.json`` and one pyinstrument profile
per figure (``bench/results/<name>.profile.txt``).
"""

from pathlib import Path

RESULTS = Path(__file__).with_name("results")
