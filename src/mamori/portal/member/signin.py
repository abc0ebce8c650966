"""Sign-in codes for web members, mailed to the address their record holds.

The e-mail typed in is only used to compute its blind-index digest; the
member subjects holding that digest are found without opening any value.
When exactly one member holds it, a six-digit code goes to the address held
(read through the guard as that member, so the read is audited), stored as
an HMAC bound to the subject, valid 10 minutes, 5 tries, compared in
constant time (as ``dsr/identity.py``). Whether a member was found is never
told to the visitor: the caller shows the same page either way. The mail's
text is in the catalogs like a page's, in the language of the page that asked.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mamori.auth.sealing import subkey
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.dsr import mail
from mamori.errors import Denied, Gone, MamoriError, NotFound
from mamori.policy.schemas import Validator
from mamori.portal.member.sessions import member_actor
from mamori.portal.web import translate
from mamori.runtime import Runtime
from mamori.subjects import service, store
from mamori.subjects.validation import lookup_key

CODE_LABEL = b"mamori/member-code/v1"
DIGITS = 6
MINUTES = 10
TRIES = 5
EMAIL = "user.contact.email"
MEMBER_KIND = "member"


def _(message: str) -> str:
    """Marks an English message id for the catalogs; it is translated when a mail is made."""
    return message


# The code mail, in the language the member chose for the page that asked for it.
MAIL_SUBJECT = _("[%(company)s] Your privacy center sign-in code")
MAIL_BODY = _(
    "Your code to sign in to the privacy center is %(code)s.\n"
    "It is valid for %(minutes)s minutes. If you did not ask for it, ignore this mail.\n"
)


def address_digest(rt: Runtime, raw: str) -> bytes:
    """The blind-index digest of a typed address; ``ValidationFailed`` when malformed."""
    key = lookup_key(Validator.EMAIL, raw.strip())
    return rt.vault.blind_digest(EMAIL, key)


def member_for(tx: Tx, digest_: bytes) -> store.SubjectRow | None:
    """The one live member subject holding the address, or None (none, or several)."""
    refs = store.refs_by_digests(tx, EMAIL, [digest_])
    rows = [r for r in store.load_many(tx, refs) if r.kind == MEMBER_KIND and r.erased_at is None]
    return rows[0] if len(rows) == 1 else None


def _digest(rt: Runtime, subject_id: int, code: str) -> bytes:
    return hmac.digest(subkey(rt, CODE_LABEL), f"{subject_id}\x1f{code}".encode(), "sha256")


@dataclass(frozen=True)
class Letter:
    """A code mail ready to go; sent after the page is answered (``deliver``)."""

    to: str
    subject: str
    body: str


def deliver(rt: Runtime, letter: Letter) -> None:
    """Send after the answer, so its timing does not tell a member's address from another.

    A mail server that is down loses this code only: the member asks again
    (the page cannot say so without saying the address is a member's).
    """
    with contextlib.suppress(MamoriError):
        mail.send(rt, to=letter.to, subject=letter.subject, body=letter.body)


def send_code(tx: Tx, rt: Runtime, member: store.SubjectRow, language: str) -> Letter | None:
    """Spend older codes and store a fresh one; returns the mail to send once committed."""
    view = service.read(
        tx, rt, actor=member_actor(member.ref), ref=member.ref,
        purpose="dsr.disclosure", categories=[EMAIL],
    )  # fmt: skip
    address = view.values.get(EMAIL)
    if address is None:
        return None
    now = rt.now()
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    tx.execute(
        "UPDATE member_codes SET used_at = ? WHERE subject_id = ? AND used_at IS NULL",
        (to_utc_text(now), member.id),
    )
    tx.execute(
        "INSERT INTO member_codes (subject_id, digest, created_at, expires_at, attempts)"
        " VALUES (?,?,?,?,0)",
        (member.id, _digest(rt, member.id, code), to_utc_text(now),
         to_utc_text(now + timedelta(minutes=MINUTES))),
    )  # fmt: skip
    return Letter(address, *_letter_text(rt, language, code))


def _letter_text(rt: Runtime, language: str, code: str) -> tuple[str, str]:
    """The code mail's subject and body in ``language``, from the catalogs."""
    name = rt.policy.source.company.name
    fields = {"company": getattr(name, language), "code": code, "minutes": MINUTES}
    subject = translate(language, MAIL_SUBJECT) % fields
    return subject, translate(language, MAIL_BODY) % fields


def check_code(tx: Tx, rt: Runtime, member: store.SubjectRow, code: str) -> None:
    """Accept the code (spending it) or raise; a wrong try is counted although the step fails."""
    row = tx.fetchone(
        "SELECT id, digest, expires_at, attempts FROM member_codes"
        " WHERE subject_id = ? AND used_at IS NULL ORDER BY id DESC",
        (member.id,),
    )
    if row is None:
        raise NotFound("no sign-in code is waiting", code="code_missing")
    code_id, stored, expires_at, attempts = row
    now = rt.now()
    if from_utc_text(expires_at) <= now:
        raise _spend(Gone("the sign-in code has expired", code="code_expired"), code_id, now)
    given = code.strip()
    right = given.isdigit() and len(given) == DIGITS
    if not hmac.compare_digest(bytes(stored), _digest(rt, member.id, given)) or not right:
        if TRIES - attempts - 1 <= 0:
            spent = Denied("the sign-in code was wrong too many times", rule="code_exhausted")
            raise _spend(spent, code_id, now, count=True)
        wrong = Denied("the sign-in code is wrong", rule="code_wrong")
        return _raise_counted(wrong, code_id)
    tx.execute(
        "UPDATE member_codes SET used_at = ?, attempts = attempts + 1 WHERE id = ?",
        (to_utc_text(now), code_id),
    )


def _raise_counted(error: MamoriError, code_id: int) -> None:
    def record(tx: Tx) -> None:
        tx.execute("UPDATE member_codes SET attempts = attempts + 1 WHERE id = ?", (code_id,))

    raise error.keeping(record)


def _spend(error: MamoriError, code_id: int, now: datetime, *, count: bool = False) -> MamoriError:
    def record(tx: Tx) -> None:
        tx.execute(
            "UPDATE member_codes SET used_at = ?, attempts = attempts + ? WHERE id = ?",
            (to_utc_text(now), 1 if count else 0, code_id),
        )

    return error.keeping(record)


def code_problem(error: MamoriError) -> str:
    """The key of the message the code form shows for a refused code."""
    rule = getattr(error, "rule", None) or error.code
    return {"code_wrong": "wrong", "code_exhausted": "exhausted", "code_expired": "expired"}.get(
        rule, "missing"
    )
