"""``python -m bench`` (``make bench``): run the figures, print the table, write the results.

The figure modules import Mamori, so they are imported only after the
source has been frozen (see ``bench.snapshot``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import RESULTS
from bench.profiling import summary
from bench.report import Result, print_table, write_json
from bench.snapshot import freeze

FIGURES = (
    "guarded_read",
    "bulk_import",
    "stream_import",
    "audit_verify",
    "api_read",
    "disclosure",
    "erasure",
    "provision",
    "pages",
)
SEED = 2009


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Mamori's benchmarks, side by side with bare SQLite."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="stream_import, disclosure and erasure use 100,000 subjects instead of 1,000,000;"
        " provision 20,000 instead of 100,000; pages 5,000 people instead of 20,000",
    )
    parser.add_argument(
        "--only", choices=FIGURES, action="append", help="run only this figure (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the synthetic people")
    parser.add_argument(
        "--tmp", type=Path, default=None, help="where the temporary homes go (default: system temp)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    args = parse(args_list)
    console = Console()
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mamori-bench-src-", dir=args.tmp) as frozen:
        source = freeze(Path(frozen))
        console.print(f"measuring src at {source['commit']} (snapshot {source['src_sha256']})")
        results = [_run(console, name, args) for name in args.only or FIGURES]
    print_table(console, results)
    console.print(f"wrote {write_json(results, args_list, source)}")
    return 0


def _run(console: Console, name: str, args: Any) -> Result:
    console.rule(f"[bold]{name}")
    module = importlib.import_module(f"bench.{name}")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mamori-bench-{name}-", dir=args.tmp) as tmp:
        result: Result = module.run(Path(tmp), seed=args.seed, quick=args.quick)
    console.print(f"{result.summary}  [dim]({time.perf_counter() - began:.0f} s)[/]")
    console.print(f"top own time (bench/results/{name}.profile.txt):\n{summary(result.profile)}")
    return result


if __name__ == "__main__":
    sys.exit(main())
