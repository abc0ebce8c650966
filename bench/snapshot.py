"""Run the benchmarks against one frozen copy of ``src/mamori``.

Other people edit ``src/`` while a run takes minutes; a module imported
early and a migration read late could then come from two different
versions (a run once failed exactly so). ``freeze`` copies the package to a
temporary directory and puts it first on the import path of this process
and of the child processes it starts, and says which source was measured.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def freeze(into: Path) -> dict[str, Any]:
    """Copy ``src/mamori`` under ``into`` and import it from there from now on."""
    if "mamori" in sys.modules:
        raise RuntimeError("mamori was imported before the source was frozen")
    dest = into / "src"
    shutil.copytree(SRC / "mamori", dest / "mamori", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(dest))
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(dest), str(ROOT), *([inherited] if inherited else [])]
    )
    return {"commit": _git("rev-parse", "--short", "HEAD"), **_describe(dest / "mamori")}


def _describe(package: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    changed = _git("status", "--porcelain", "--", "src").splitlines()
    return {"src_sha256": digest.hexdigest()[:16], "src_uncommitted": changed}


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()
