"""Download links for disclosure reports: random, expiring, and good for one download.

A link carries 256 random bits; Mamori keeps only their SHA-256 digest, so a
copy of the database cannot be turned back into working links. Redeeming
marks the link used with one conditional ``UPDATE``: of two requests racing
with the same token, exactly one changes the row and gets the report; the
other is told the link was used. The report itself is built afresh when a
link is redeemed, through the guard, so it is never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Gone, NotFound, ValidationFailed
from mamori.runtime import Runtime

FORMATS = ("json", "html")
LANGUAGES = ("ja", "en")

_INSERT = (
    "INSERT INTO dsr_downloads (request_id, digest, format, language, created_at, expires_at)"
    " VALUES (?,?,?,?,?,?)"
)
_CLAIM = (
    "UPDATE dsr_downloads SET used_at = ?"
    " WHERE digest = ? AND used_at IS NULL AND expires_at > ?"
    " RETURNING request_id, format, language"
)
_STATE = "SELECT used_at, expires_at FROM dsr_downloads WHERE digest = ?"


@dataclass(frozen=True)
class Redeemed:
    """What a redeemed link asks for: the request's report in a format and language."""

    request_id: int
    format: str
    language: str


def digest(token: str) -> str:
    """The stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    tx: Tx, rt: Runtime, *, request_id: int, format: str, language: str, now: datetime
) -> str:
    """A new link token for the request's report; only its digest is stored."""
    if format not in FORMATS:
        raise ValidationFailed(
            f"a report is downloaded as {' or '.join(FORMATS)}, not as '{format}'",
            code="download_format",
        )
    if language not in LANGUAGES:
        raise ValidationFailed(
            f"a report is written in {' or '.join(LANGUAGES)}, not in '{language}'",
            code="language_unsupported",
        )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=rt.policy.source.requests.download_valid_days)
    tx.execute(
        _INSERT,
        (request_id, digest(token), format, language, to_utc_text(now), to_utc_text(expires)),
    )
    return token


def redeem(tx: Tx, rt: Runtime, *, token: str) -> Redeemed:
    """Use a link once: mark it used in ``tx`` and say what it was for.

    An unknown token is ``NotFound``; one used already or expired is ``Gone``.
    """
    key = digest(token)
    now = to_utc_text(rt.now())
    cursor = tx.execute(_CLAIM, (now, key, now))
    claimed = cursor.fetchall()
    if len(claimed) == 1:
        request_id, format, language = claimed[0]
        return Redeemed(int(request_id), format, language)
    state = tx.fetchone(_STATE, (key,))
    if state is None:
        raise NotFound("this download link is not known", code="download_unknown")
    if state[0] is not None:
        raise Gone("this download link has been used already", code="download_used")
    raise Gone("this download link has expired", code="download_expired")
