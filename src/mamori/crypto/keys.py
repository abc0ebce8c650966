"""The key ring: key-encryption keys, blind-index keys and the audit key.

Keys live outside the database: in a JSON key file that ``mamori init``
creates readable by its owner only, or in ``MAMORI_KEYS`` (the same JSON).
Each kind of key is versioned; the newest version seals, every listed
version opens, so rotation can proceed while reads go on.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mamori.errors import KeyFileError

KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class KeyMaterial:
    keks: dict[int, bytes]
    blind: dict[int, bytes]
    audit: bytes

    @property
    def kek_version(self) -> int:
        return max(self.keks)

    @property
    def blind_version(self) -> int:
        return max(self.blind)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": "mamori-keys/1",
                "kek": {str(v): _b64(k) for v, k in sorted(self.keks.items())},
                "blind_index": {str(v): _b64(k) for v, k in sorted(self.blind.items())},
                "audit": _b64(self.audit),
            },
            indent=2,
        )


def generate() -> KeyMaterial:
    return KeyMaterial(
        keks={1: os.urandom(KEY_BYTES)},
        blind={1: os.urandom(KEY_BYTES)},
        audit=os.urandom(KEY_BYTES),
    )


def _versioned(doc: dict[str, Any], name: str) -> dict[int, bytes]:
    entries = doc.get(name)
    if not isinstance(entries, dict) or not entries:
        raise KeyFileError(f"the key file has no '{name}' keys")
    keys = {int(v): base64.b64decode(k, validate=True) for v, k in entries.items()}
    if any(len(k) != KEY_BYTES for k in keys.values()):
        raise KeyFileError(f"a '{name}' key in the key file is not {KEY_BYTES} bytes long")
    return keys


def parse(text: str) -> KeyMaterial:
    """Read key material from the key file's JSON; every flaw is a KeyFileError."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != "mamori-keys/1":
            raise KeyFileError("the key file is not a Mamori key file (format mamori-keys/1)")
        audit = base64.b64decode(doc.get("audit", ""), validate=True)
        if len(audit) != KEY_BYTES:
            raise KeyFileError("the key file's audit key is missing or malformed")
        return KeyMaterial(_versioned(doc, "kek"), _versioned(doc, "blind_index"), audit)
    except KeyFileError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise KeyFileError("the key file is malformed and cannot be read") from exc


def write_key_file(path: Path, material: KeyMaterial, *, replace: bool = False) -> None:
    """Write the key file with owner-only permissions, never over an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"a key file already exists at {path}; it was left as it is") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(material.to_json())


def read_key_file(path: Path) -> KeyMaterial:
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"there is no key file at {path}: run 'mamori init' or set MAMORI_KEYS",
            code="key_file_missing",
        ) from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the key file {path} can be read by others than its owner; run 'chmod 600' on it",
            code="key_file_exposed",
        )
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"the key file {path} cannot be read") from exc


def key_check(keys: KeyMaterial, installation: str) -> str:
    """A value that tells whether a key file belongs to an installation, and nothing else."""
    digest = hmac.digest(keys.audit, f"mamori/key-check/v1|{installation}".encode(), "sha256")
    return digest[:16].hex()
