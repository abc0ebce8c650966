"""System purposes: the only purposes named in code.

They serve the data-subject rights the law gives every person (disclosure,
correction, erasure), so they rest on legal obligation, need no consent, and
may touch every category. A role still has to list them to use them.
"""

from __future__ import annotations

from mamori.policy.schemas import LegalBasis, Purpose, Text

ALL_CATEGORIES = "*"


def _system(key: str, ja: str, en: str, data_use: str) -> Purpose:
    # model_construct: the "*" wildcard is not a key a policy file may use.
    return Purpose.model_construct(
        key=key,
        title=Text(ja=ja, en=en),
        description=Text(ja=ja, en=en),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        data_use=data_use,
        categories=[ALL_CATEGORIES],
        retention="P100Y",
        profiling=False,
        third_party_provision=False,
        foreign_transfer=False,
    )


SYSTEM_PURPOSES: dict[str, Purpose] = {
    p.key: p
    for p in (
        _system(
            "dsr.disclosure",
            "保有個人データの開示",
            "Disclosure of held data",
            "essential.legal_obligation",
        ),
        _system(
            "dsr.correction",
            "保有個人データの訂正",
            "Correction of held data",
            "essential.legal_obligation",
        ),
        _system(
            "dsr.erasure",
            "保有個人データの消去",
            "Erasure of held data",
            "essential.legal_obligation",
        ),
        _system(
            "dsr.cessation",
            "利用停止・第三者提供の停止",
            "Cessation of use or of provision",
            "essential.legal_obligation",
        ),
        _system(
            "dsr.notification",
            "利用目的の通知",
            "Notification of purposes",
            "essential.legal_obligation",
        ),
    )
}
