"""One pyinstrument profile per figure: own time by frame, then the call tree.

The flat table sums each function's own time (time on the stack top, C calls
included in the Python frame that made them) over the raw, unprocessed tree,
so library internals (sqlite3, SQLAlchemy, cryptography) stay visible. The
tree below it is pyinstrument's usual rendering, cut to its top lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pyinstrument import Profiler
from pyinstrument.frame import Frame
from pyinstrument.renderers import ConsoleRenderer
from pyinstrument.session import Session

T = TypeVar("T")
INTERVAL = 0.0005
TOP_FLAT = 30
TREE_LINES = 160


def profile(
    fn: Callable[[], T], *, out: Path, title: str, interval: float = INTERVAL
) -> tuple[T, list[dict[str, Any]]]:
    """Run ``fn`` under pyinstrument, write ``out``; returns its result and the top 5 frames."""
    profiler = Profiler(interval=interval, async_mode="disabled")
    began = time.perf_counter()
    profiler.start()
    try:
        result = fn()
    finally:
        session = profiler.stop()
    took = time.perf_counter() - began
    top = own_time(session)
    out.write_text(_render(session, top, title, took), encoding="utf-8")
    return result, top[:5]


def own_time(session: Session) -> list[dict[str, Any]]:
    """Functions by own time, largest first, with their share of the profiled time."""
    root = session.root_frame()
    if root is None:
        return []
    totals: dict[tuple[str, str, int], float] = {}
    stack: list[Frame] = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue
        key = (frame.function, frame.file_path_short or "?", frame.line_no or 0)
        totals[key] = totals.get(key, 0.0) + frame.total_self_time
    whole = root.time or 1.0
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return [
        {
            "function": function,
            "where": f"{path}:{line}",
            "own_s": round(seconds, 4),
            "share": round(seconds / whole, 4),
        }
        for (function, path, line), seconds in ranked
        if seconds > 0
    ]


def _render(session: Session, top: list[dict[str, Any]], title: str, took: float) -> str:
    lines = [
        f"# {title}",
        f"# profiled {took:.2f} s wall, {session.duration:.2f} s sampled, "
        f"{session.sample_count} samples every {INTERVAL * 1e3:.1f} ms",
        "",
        f"## top {TOP_FLAT} functions by own time",
        f"{'own s':>8} {'share':>7}  function  (where)",
    ]
    for item in top[:TOP_FLAT]:
        lines.append(
            f"{item['own_s']:8.3f} {item['share']:7.1%}  {item['function']}  ({item['where']})"
        )
    tree = ConsoleRenderer(unicode=False, color=False, short_mode=True).render(session)
    tree_lines = tree.splitlines()
    lines += ["", f"## call tree (first {TREE_LINES} lines)", *tree_lines[:TREE_LINES]]
    if len(tree_lines) > TREE_LINES:
        lines.append(f"... {len(tree_lines) - TREE_LINES} more lines")
    return "\n".join(lines) + "\n"


def summary(top: list[dict[str, Any]]) -> str:
    """The top frames on one line each, for the console."""
    return "\n".join(
        f"  {item['share']:6.1%}  {item['function']}  ({item['where']})" for item in top
    )
