"""Imports every domain's tables so that metadata and migrations see them all."""

from mamori.audit.models import AuditEntry
from mamori.auth.models import CsrfUse, ServiceToken, StaffCredential, StaffSession
from mamori.consents.models import ConsentEvent
from mamori.db.base import Base
from mamori.db.meta import InstallationFact
from mamori.dsr.models import (
    DownloadLink,
    DownstreamSystem,
    DsrEvent,
    DsrRequest,
    IdentityCode,
    OutboxMessage,
)
from mamori.ledger.models import LedgerReview
from mamori.policy.models import NoticeVersion
from mamori.portal.models import MemberCode, MemberCsrfUse, MemberSession
from mamori.recipients.models import (
    Handover,
    PartyVersion,
    Provision,
    ProvisionSubject,
    Receipt,
    ReceiptSubject,
    Supervision,
)
from mamori.staff.models import StaffAccount
from mamori.subjects.models import BlindIndex, Subject, ValueHistory

__all__ = [
    "AuditEntry",
    "Base",
    "BlindIndex",
    "ConsentEvent",
    "CsrfUse",
    "DownloadLink",
    "DownstreamSystem",
    "DsrEvent",
    "DsrRequest",
    "Handover",
    "IdentityCode",
    "InstallationFact",
    "LedgerReview",
    "MemberCode",
    "MemberCsrfUse",
    "MemberSession",
    "NoticeVersion",
    "OutboxMessage",
    "PartyVersion",
    "Provision",
    "ProvisionSubject",
    "Receipt",
    "ReceiptSubject",
    "ServiceToken",
    "StaffAccount",
    "StaffCredential",
    "StaffSession",
    "Subject",
    "Supervision",
    "ValueHistory",
]
