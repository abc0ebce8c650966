"""Files the commands read and write: lists of subject references, and exports.

An export holds personal data by design, so it is written with mode 0600,
whole or not at all, and never over an existing file unless the operator
says ``--force``. A provision stages its file before its record commits (a
full disk then stops the provision) and puts it in place after.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from mamori.errors import ValidationFailed
from mamori.subjects.store import REF_PATTERN


def read_refs(path: Path) -> list[str]:
    """References, one a line (blank lines and # comments skipped); bad lines named by number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise ValidationFailed(
            "the references file cannot be read as UTF-8 text", code="refs_unreadable"
        ) from None
    refs, bad = [], []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if REF_PATTERN.fullmatch(text):
            refs.append(text)
        else:
            bad.append(f"line {number} is not a subject reference")
    if bad:
        raise ValidationFailed(
            f"the references file has {len(bad)} bad line(s)",
            code="refs_invalid",
            problems=bad[:50],
        )
    if not refs:
        raise ValidationFailed("the references file names no subject", code="refs_missing")
    return refs


def check_out(out: Path, force: bool) -> None:
    """Refuse an --out that cannot be written, before any work is done."""
    if not out.parent.is_dir():
        raise ValidationFailed("the folder of --out does not exist", code="out_invalid")
    if out.is_dir():
        raise ValidationFailed("--out names a folder, not a file", code="out_invalid")
    if out.exists() and not force:
        raise ValidationFailed(
            "--out names a file that exists; choose another or add --force", code="out_exists"
        )


def stage(out: Path, content: bytes) -> str:
    """The file, written beside ``out`` with mode 0600 and synced, not yet in place."""
    fd, temp = tempfile.mkstemp(dir=out.parent, prefix=".mamori-", suffix=".part")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        os.unlink(temp)
        raise ValidationFailed(
            f"--out cannot be written ({error.strerror or type(error).__name__})",
            code="out_unwritable",
        ) from None
    return temp


def place(temp: str, out: Path, force: bool) -> None:
    """Put a staged file in place; without ``force`` never over a file that appeared meanwhile."""
    try:
        if force:
            os.replace(temp, out)
        else:
            os.link(temp, out)
    except FileExistsError:
        raise ValidationFailed(
            "--out appeared meanwhile; the record is written, the file is not", code="out_exists"
        ) from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def write_private(out: Path, content: bytes, *, force: bool) -> None:
    """Write ``content`` to ``out`` with mode 0600, whole or not at all."""
    place(stage(out, content), out, force)


SHOWN_REFUSALS = 50


def print_refused(console: Console, refused: Sequence[Mapping[str, Any]]) -> None:
    """Who was left out of a provision or hand-over: counts by rule, then the first few."""
    if not refused:
        return
    by_rule = Counter(r["rule"] for r in refused)
    console.print(
        f"refused {len(refused)}: " + ", ".join(f"{k} {n}" for k, n in sorted(by_rule.items())),
        markup=False,
    )
    for r in refused[:SHOWN_REFUSALS]:
        console.print(f"  {r['ref']}  {r['rule']}  {r['message']}", soft_wrap=True, markup=False)
    if len(refused) > SHOWN_REFUSALS:
        console.print(f"  ... and {len(refused) - SHOWN_REFUSALS} more (--json lists them all)")
