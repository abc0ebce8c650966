"""One-time codes that prove a requester is the person the request is about.

A six-digit code goes to the e-mail address Mamori holds for the subject (not
one the requester types in); only its keyed digest is stored, bound to the
request. A code expires after the policy's minutes (10 by default), works once,
and allows a limited number of wrong tries, after which it is spent and a new
one must be sent. Codes are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mamori.auth.sealing import subkey
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.dsr import mail
from mamori.errors import Denied, Gone, MamoriError, NotFound
from mamori.runtime import Runtime

CODE_LABEL = b"mamori/dsr-code/v1"
DIGITS = 6

_MAIL = {
    "ja": (
        "【{company}】ご本人確認コード",
        "個人情報に関するご請求（受付番号 {request}）のご本人確認コードは {code} です。\n"
        "有効期限は {minutes} 分です。お心当たりのない場合は、このメールを破棄してください。\n",
    ),
    "en": (
        "[{company}] Your verification code",
        "Your verification code for request {request} about your personal data is {code}.\n"
        "It is valid for {minutes} minutes. If you did not make this request, ignore this mail.\n",
    ),
}


@dataclass(frozen=True)
class CodeSent:
    expires_at: datetime
    attempts_allowed: int


def _digest(rt: Runtime, request_id: int, code: str) -> bytes:
    message = f"{request_id}\x1f{code}".encode()
    return hmac.digest(subkey(rt, CODE_LABEL), message, "sha256")


def issue(
    tx: Tx, rt: Runtime, *, request_id: int, request_ref: str, to: str, language: str
) -> CodeSent:
    """Store a fresh code (spending older ones) and mail it; nothing stays if mail fails."""
    settings = rt.policy.source.requests
    now = rt.now()
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    expires = now + timedelta(minutes=settings.identity_code_minutes)
    stamp = to_utc_text(now)
    tx.execute(
        "UPDATE dsr_identity_codes SET spent_at = ? WHERE request_id = ? AND used_at IS NULL"
        " AND spent_at IS NULL",
        (stamp, request_id),
    )
    tx.execute(
        "INSERT INTO dsr_identity_codes (request_id, digest, created_at, expires_at, attempts)"
        " VALUES (?,?,?,?,0)",
        (request_id, _digest(rt, request_id, code), stamp, to_utc_text(expires)),
    )
    subject, body = _MAIL["en" if language == "en" else "ja"]
    company = (
        rt.policy.source.company.name.en if language == "en" else rt.policy.source.company.name.ja
    )
    fields = {
        "company": company,
        "request": request_ref,
        "code": code,
        "minutes": settings.identity_code_minutes,
    }
    # Last step of the transaction: a mail server that is down rolls the code back.
    mail.send(rt, to=to, subject=subject.format(**fields), body=body.format(**fields))
    return CodeSent(expires, settings.identity_code_attempts)


def check(tx: Tx, rt: Runtime, *, request_id: int, code: str) -> None:
    """Accept the code or raise; a wrong try is counted even though the work rolls back."""
    row = tx.fetchone(
        "SELECT id, digest, expires_at, attempts FROM dsr_identity_codes"
        " WHERE request_id = ? AND used_at IS NULL AND spent_at IS NULL ORDER BY id DESC",
        (request_id,),
    )
    if row is None:
        raise NotFound(
            "no verification code is waiting for this request: ask for a new one",
            code="identity_code_missing",
        )
    code_id, digest, expires_at, attempts = row
    now = rt.now()
    if from_utc_text(expires_at) <= now:
        raise _spent(
            Gone(
                "the verification code has expired: ask for a new one", code="identity_code_expired"
            ),
            code_id,
            now,
        )
    allowed = rt.policy.source.requests.identity_code_attempts
    given = code.strip()
    if not (given.isdigit() and len(given) == DIGITS) or not hmac.compare_digest(
        bytes(digest), _digest(rt, request_id, given)
    ):
        left = allowed - attempts - 1
        if left <= 0:
            error: MamoriError = Denied(
                "the verification code was wrong too many times: ask for a new one",
                rule="identity_attempts_exhausted",
            )
            raise _spent(error, code_id, now, count=True)
        wrong = Denied(
            f"the verification code is wrong; {left} more {'try' if left == 1 else 'tries'}",
            rule="identity_code_wrong",
            attempts_left=left,
        )
        raise _counted(wrong, code_id)
    tx.execute(
        "UPDATE dsr_identity_codes SET used_at = ?, attempts = attempts + 1 WHERE id = ?",
        (to_utc_text(now), code_id),
    )


def _counted(error: MamoriError, code_id: int) -> MamoriError:
    def record(tx: Tx) -> None:
        tx.execute("UPDATE dsr_identity_codes SET attempts = attempts + 1 WHERE id = ?", (code_id,))

    return error.keeping(record)


def _spent(error: MamoriError, code_id: int, now: datetime, *, count: bool = False) -> MamoriError:
    def record(tx: Tx) -> None:
        tx.execute(
            "UPDATE dsr_identity_codes SET spent_at = ?, attempts = attempts + ? WHERE id = ?",
            (to_utc_text(now), 1 if count else 0, code_id),
        )

    return error.keeping(record)
