"""Shortcuts for the e-mail addresses and phone numbers nearly everyone types.

Mamori checks addresses and numbers with the packages that know them, and
an import of a customer list asks them once for every row. For the plain
shapes people actually type (an ASCII address, a Japanese number written
as 03-5275-6121) the answer the package would give is worked out here, at
a fraction of the cost; anything else still goes to the package. They stand
apart from ``validation`` because each is a promise to answer exactly as
the package does, which tests/subjects/test_fast_paths.py holds them to
over generated input of every shape.
"""

from __future__ import annotations

import re

import email_validator
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from phonenumbers.phonemetadata import PhoneMetadata

# What nearly everyone types: a dot-atom of ASCII atext before the @-sign, and a host
# name of ASCII letters, digits and inner hyphens, labels of at most 63 characters.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+{_LABEL})")


def plain_email(text: str) -> str | None:
    """What ``validate_email`` returns for a plain ASCII address, or None to ask it.

    For such an address email-validator keeps the part before the @-sign as
    typed and lower-cases the host name (UTS-46 maps A-Z to a-z and leaves
    a-z, 0-9, "." and "-" alone; NFC leaves ASCII alone). Whatever else it
    might reject or rewrite goes to it: lengths over its limits, a host name
    with "--" (Punycode, R-LDH labels), a top-level domain that does not end
    with a letter, special-use names, and the RFC 2142 mailbox names it
    lower-cases. A hypothesis test in tests/subjects holds the two equal.
    """
    if len(text) > 254:
        return None
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None:
        return None
    local, domain = match[1], match[2].lower()
    if len(local) > 64 or len(domain) > 253 or "--" in domain or not "a" <= domain[-1] <= "z":
        return None
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        return None
    for special in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if domain == special or domain.endswith("." + special):
            return None
    return f"{local}@{domain}"


_NATIONAL_PHONE = re.compile(r"0[1-9][0-9]{8,9}")


def e164_national(text: str) -> str | None:
    """A shortcut for the usual "03-5275-6121": 0, then the national number.

    ``phonenumbers.parse`` strips the national prefix 0 and keeps the rest
    whenever the rest is a valid number, which is all that is asked here, so
    this returns what parsing would, at a third of the cost; when it cannot
    tell, it returns None and the number is parsed. A hypothesis test in
    tests/subjects holds the two to the same answer.
    """
    digits = text.replace("-", "").replace(" ", "")
    if not _NATIONAL_PHONE.fullmatch(digits):
        return None
    return "+81" + digits[1:] if valid_in_japan(digits[1:]) else None


# A type of number as phonenumbers tests it: its possible lengths (none: any) and its
# pattern (none: it matches no number).
_NumberTest = tuple[frozenset[int], re.Pattern[str] | None]


def _number_tests(region: str) -> tuple[_NumberTest, tuple[_NumberTest, ...]]:
    """The general description of ``region``'s numbers, and each type's, in its order."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise RuntimeError(f"phonenumbers has no metadata for {region}")
    general, *types = (
        metadata.general_desc,
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        metadata.mobile,
    )
    tests = [
        (
            frozenset(d.possible_length),
            re.compile(d.national_number_pattern) if d.national_number_pattern else None,
        )
        for d in (general, *types)
        if d is not None
    ]
    if general is None:
        tests.insert(0, (frozenset(), None))
    return tests[0], tuple(tests[1:])


_JAPAN_GENERAL, _JAPAN_TYPES = _number_tests("JP")


def valid_in_japan(national: str) -> bool:
    """``phonenumbers.is_valid_number`` of +81 ``national`` (digits, no leading 0).

    It asks the same of Japan's metadata: the number matches the general
    description, then one of the number types (premium rate, toll free, ...,
    fixed line, mobile), each a set of lengths and a pattern; a number of no
    type is invalid. Doing that here skips its eleven calls per type. A
    hypothesis test in tests/subjects holds the two to the same answer.
    """
    size = len(national)
    lengths, pattern = _JAPAN_GENERAL
    if (lengths and size not in lengths) or pattern is None or not pattern.fullmatch(national):
        return False
    return any(
        (not lengths or size in lengths) and pattern is not None and pattern.fullmatch(national)
        for lengths, pattern in _JAPAN_TYPES
    )
