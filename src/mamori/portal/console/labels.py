"""The words the console shows for request kinds, states, steps and reasons, and its dates.

The keys are the request desk's own codes; the texts are English message
ids, marked so the translators' tool finds them, and translated when the
page is rendered. Times are shown in the company's zone, as its calendar has
them (the request desk's views are already in that zone).
"""

from __future__ import annotations

from datetime import datetime


def _(message: str) -> str:
    """Marks a message id for extraction; the page translates it."""
    return message


KINDS = {
    "disclosure": _("Disclosure"),
    "notification": _("Notification of purposes"),
    "correction": _("Correction"),
    "cessation_of_use": _("Cessation of use"),
    "resumption_of_use": _("Resumption of use"),
    "erasure": _("Erasure"),
    "cessation_of_provision": _("Cessation of provision to third parties"),
    "resumption_of_provision": _("Resumption of provision to third parties"),
    "inquiry": _("Inquiry"),
    "complaint": _("Complaint"),
}
STATES = {
    "received": _("Received"),
    "identity_check": _("Identity check"),
    "in_progress": _("In progress"),
    "awaiting_fee": _("Awaiting the fee"),
    "completed": _("Completed"),
    "rejected": _("Rejected"),
    "withdrawn": _("Withdrawn"),
    "linked": _("Linked to an open request"),
}
REASONS = {
    "identity_not_verified": _("Identity could not be verified"),
    "no_data_held": _("No personal data about the requester is held"),
    "harm_to_person": _("Disclosure could harm the person or others (Art. 33(2)(i))"),
    "business_interference": _(
        "Disclosure could seriously interfere with business (Art. 33(2)(ii))"
    ),
    "violates_law": _("Disclosure would violate another law (Art. 33(2)(iii))"),
    "fee_not_paid": _("The fee was not paid"),
    "not_entitled": _("The law does not entitle the requester to this request"),
    "manifestly_unfounded": _("The request is manifestly unfounded"),
}
IDENTITY_METHODS = {
    "email_code": _("Code sent by e-mail"),
    "phone_callback": _("Phone callback"),
    "document_seen": _("Identity document seen"),
    "signed_in": _("Signed in as a member"),
}
DONE = {
    "identity_code": _("The code was sent to the address held for the person."),
    "identity_verify": _("The identity is verified."),
    "identity_record": _("The identity check is recorded."),
    "payment": _("The payment is recorded."),
    "assign": _("The request is assigned."),
    "complete": _("The step is done."),
    "reject": _("The request is rejected, and the requester is told why."),
    "withdraw": _("The withdrawal is recorded."),
}


def moment(text: str | None, language: str) -> str:
    """A time from the request desk (already in the company's zone), as a person reads it."""
    if not text:
        return ""
    at = datetime.fromisoformat(text)
    return at.strftime("%Y年%m月%d日 %H:%M" if language == "ja" else "%Y-%m-%d %H:%M")


def day(text: str | None, language: str) -> str:
    """The calendar day of a time from the request desk, in the company's zone."""
    if not text:
        return ""
    at = datetime.fromisoformat(text)
    return at.strftime("%Y年%m月%d日" if language == "ja" else "%Y-%m-%d")
