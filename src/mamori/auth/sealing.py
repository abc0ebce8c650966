"""Keys derived for authentication, sealing of stored secrets, and digests.

No new key goes into the key file: each use gets its own subkey, derived
with HKDF-SHA256 from the audit key and a label naming the use
(``mamori/totp/v1``, ``mamori/csrf/v1``, ...). Keys derived for different
labels are independent, so a CSRF MAC key says nothing about the TOTP seal.

A sealed secret is ``0x01 | nonce (12 bytes) | ciphertext and tag``
(AES-256-GCM), with the label and the owner (a staff handle) as associated
data: moved to another account, it does not open.
"""

from __future__ import annotations

import functools
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mamori.errors import IntegrityError
from mamori.runtime import Runtime

TOTP_LABEL = b"mamori/totp/v1"
CSRF_LABEL = b"mamori/csrf/v1"
RATE_LIMIT_LABEL = b"mamori/ratelimit/v1"
_FORMAT = b"\x01"
_NONCE = 12


@functools.lru_cache(maxsize=16)
def _derive(root: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(root)


def subkey(rt: Runtime, label: bytes) -> bytes:
    """The 256-bit key for ``label``, derived from the installation's audit key."""
    return _derive(rt.audit.key, label)


def seal(rt: Runtime, label: bytes, owner: str, secret: str) -> bytes:
    """Seal ``secret`` for ``owner`` under the subkey of ``label``."""
    nonce = os.urandom(_NONCE)
    aad = label + b"|" + owner.encode()
    return _FORMAT + nonce + AESGCM(subkey(rt, label)).encrypt(nonce, secret.encode(), aad)


def unseal(rt: Runtime, label: bytes, owner: str, sealed: bytes) -> str:
    """Open what ``seal`` made; anything altered or moved is an IntegrityError."""
    sealed = bytes(sealed)
    aad = label + b"|" + owner.encode()
    if sealed[:1] != _FORMAT:
        raise IntegrityError("a sealed secret has an unknown format", code="seal_format")
    try:
        plain = AESGCM(subkey(rt, label)).decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], aad)
    except InvalidTag as exc:
        raise IntegrityError(
            f"a sealed secret of '{owner}' does not open: altered or moved",
            code="seal_broken",
        ) from exc
    return plain.decode()


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (token, cookie): enough, no salt needed."""
    return hashlib.sha256(secret.encode()).hexdigest()
