"""The states a request moves through, the steps between them, and the fixed lists
(reason codes, how a request may arrive) a privacy officer reports against.

    received ─► identity_check ─► in_progress ─► (awaiting_fee) ─► completed
        │              │                │               │
        └──────────────┴────────────────┴───────────────┴─► rejected (reason) | withdrawn

A duplicate of an open request is ``linked`` to it on arrival and never worked twice.
While identity or a fee is awaited the clock is paused: the due date moves by the
business time spent waiting.
"""

from __future__ import annotations

from enum import StrEnum

from mamori.policy.compiled import INQUIRY_PURPOSE
from mamori.policy.schemas import RequestKind


class State(StrEnum):
    RECEIVED = "received"
    IDENTITY_CHECK = "identity_check"
    IN_PROGRESS = "in_progress"
    AWAITING_FEE = "awaiting_fee"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LINKED = "linked"


OPEN = frozenset({State.RECEIVED, State.IDENTITY_CHECK, State.IN_PROGRESS, State.AWAITING_FEE})
CLOSED = frozenset({State.COMPLETED, State.REJECTED, State.WITHDRAWN, State.LINKED})
PAUSED = frozenset({State.IDENTITY_CHECK, State.AWAITING_FEE})

# Which state each step may start from.
STEPS: dict[str, frozenset[State]] = {
    "start_identity_check": frozenset({State.RECEIVED, State.IDENTITY_CHECK}),
    "verify_identity": frozenset({State.RECEIVED, State.IDENTITY_CHECK}),
    "request_fee": frozenset({State.IN_PROGRESS}),
    "record_payment": frozenset({State.AWAITING_FEE, State.IN_PROGRESS}),
    "complete": frozenset({State.IN_PROGRESS}),
    "reject": OPEN,
    "withdraw": OPEN,
    "assign": OPEN,
    "view": OPEN | CLOSED,
}


class Reason(StrEnum):
    """Why a request was refused; the list a regulator's questions are answered from."""

    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    NO_DATA_HELD = "no_data_held"
    # APPI Art. 33(2) (i)-(iii): grounds to refuse all or part of a disclosure.
    HARM_TO_PERSON = "harm_to_person"
    BUSINESS_INTERFERENCE = "business_interference"
    VIOLATES_LAW = "violates_law"
    FEE_NOT_PAID = "fee_not_paid"
    NOT_ENTITLED = "not_entitled"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.IDENTITY_NOT_VERIFIED: (
        "ご本人であることを確認できませんでした",
        "identity could not be verified",
    ),
    Reason.NO_DATA_HELD: (
        "該当する保有個人データがありません",
        "no personal data about the requester is held",
    ),
    Reason.HARM_TO_PERSON: (
        "本人又は第三者の生命、身体、財産その他の権利利益を害するおそれがあります",
        "disclosure could harm the life, body, property or other rights of the person or others",
    ),
    Reason.BUSINESS_INTERFERENCE: (
        "当社の業務の適正な実施に著しい支障を及ぼすおそれがあります",
        "disclosure could seriously interfere with the proper conduct of business",
    ),
    Reason.VIOLATES_LAW: (
        "他の法令に違反することとなります",
        "disclosure would violate another law",
    ),
    Reason.FEE_NOT_PAID: ("手数料のお支払いが確認できませんでした", "the fee was not paid"),
    Reason.NOT_ENTITLED: (
        "ご請求の内容は法令上の請求の対象となりません",
        "the request is not one the law entitles the requester to",
    ),
    Reason.MANIFESTLY_UNFOUNDED: (
        "ご請求に理由がありません",
        "the request is manifestly unfounded",
    ),
}


class Via(StrEnum):
    """How a request reached the company."""

    API = "api"
    PORTAL = "portal"
    PHONE = "phone"
    EMAIL = "email"
    FORM = "form"
    LETTER = "letter"
    VISIT = "visit"


class IdentityMethod(StrEnum):
    EMAIL_CODE = "email_code"
    PHONE_CALLBACK = "phone_callback"
    DOCUMENT_SEEN = "document_seen"
    SIGNED_IN = "signed_in"


STAFF_IDENTITY_METHODS = frozenset({IdentityMethod.PHONE_CALLBACK, IdentityMethod.DOCUMENT_SEEN})

# The system purpose each kind is worked under; inquiries use the policy's own purpose.
SYSTEM_PURPOSE: dict[RequestKind, str] = {
    RequestKind.DISCLOSURE: "dsr.disclosure",
    RequestKind.NOTIFICATION: "dsr.notification",
    RequestKind.CORRECTION: "dsr.correction",
    RequestKind.CESSATION_OF_USE: "dsr.cessation",
    RequestKind.RESUMPTION_OF_USE: "dsr.cessation",
    RequestKind.ERASURE: "dsr.erasure",
    RequestKind.CESSATION_OF_PROVISION: "dsr.cessation",
    RequestKind.RESUMPTION_OF_PROVISION: "dsr.cessation",
}
INQUIRY_KINDS = frozenset({RequestKind.INQUIRY, RequestKind.COMPLAINT})
# Kinds about a person's own data: they need a subject and a verified identity.
SUBJECT_KINDS = frozenset(SYSTEM_PURPOSE)


def purpose_of(kind: RequestKind) -> str:
    return SYSTEM_PURPOSE.get(kind, INQUIRY_PURPOSE)
