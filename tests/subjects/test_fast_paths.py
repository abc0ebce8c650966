"""The validators' fast paths give exactly what the packages give.

``fast_paths.plain_email`` answers for plain ASCII addresses instead of
email-validator, and ``fast_paths.valid_in_japan`` asks Japan's metadata
what ``phonenumbers.is_valid_number`` asks it. Each is held to the package's
own answer over generated input of every shape: arbitrary text, addresses
built to sit on every boundary the package checks, and addresses shaped like
real ones (Faker's, in several locales). ``normalize_many`` and
``normalize_changes`` are held to ``normalize`` value by value.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

import email_validator
import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from faker import Faker
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mamori.errors import ValidationFailed
from mamori.policy.schemas import Validator
from mamori.subjects import fast_paths
from mamori.subjects.validation import normalize, normalize_changes, normalize_many
from mamori.synthetic import Population
from tests.subjects.test_validation import BAD, GOOD

V = Validator
CATEGORY = "user.test.value"


def _library(text: str) -> str | None:
    """What email-validator makes of ``text`` as Mamori calls it; None if it refuses."""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(raw: str) -> str | None:
    try:
        return normalize(V.EMAIL, raw, category=CATEGORY)
    except ValidationFailed:
        return None


def _assert_same_email(raw: str) -> None:
    fast = fast_paths.plain_email(raw.strip())
    assert fast is None or fast == _library(raw.strip())
    assert _ours(raw) == _library(raw.strip())


_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_TRICKY = (
    '@.-_+"<>()[]\\,;: \t\n\u00a0\u3000ＡａＺ１＠．。｡é\u0301\u200bİıſK\u212aℌ①Ⅸ\ufb01ßΣς\U0001d400'
)
_ANY = st.text(st.sampled_from(_ATEXT + _TRICKY), max_size=40)


def _cased(text: str, flips: list[bool]) -> str:
    """``text`` with the case of its first ``len(flips)`` characters swapped where asked."""
    flips = (flips + [False] * len(text))[: len(text)]
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))


_LABEL_ALPHABET = string.ascii_letters + string.digits + "-"
_label = st.text(st.sampled_from(_LABEL_ALPHABET), min_size=1, max_size=66)
_tld = st.one_of(
    st.sampled_from(
        [
            *("jp", "com", "JP", "Com", "co.jp", "ne.jp", "org", "museum", "x1", "a1b", "1a"),
            *("test", "local", "localhost", "onion", "arpa", "invalid", "TEST", "Local"),
            *("xn--wgv71a", "xn--zckzah", "xn--abc", "ab--cd", "-jp", "jp-"),
        ]
    ),
    _label,
)
_local = st.one_of(
    st.text(st.sampled_from(_ATEXT + "."), min_size=1, max_size=70),
    st.sampled_from(
        [
            *("info", "INFO", "Sales", "postmaster", "webmaster", "www", "news", "noc", "abuse"),
            *("taro.yamada", "hanako+news", "a", "a.b.c", "o'reilly", "user_1", "x-y"),
        ]
    ),
)


@st.composite
def _built(draw: st.DrawFn) -> str:
    """An address assembled near every edge the package checks."""
    local = draw(_local)
    labels = draw(st.lists(_label, min_size=0, max_size=4))
    domain = ".".join([*labels, draw(_tld)])
    if draw(st.booleans()):  # pad to the lengths the package counts
        size = draw(st.integers(245, 260))
        domain = "a" * max(0, size - len(local) - len(domain) - 2) + "." + domain
    text = f"{local}@{domain}"
    text = _cased(text, draw(st.lists(st.booleans(), max_size=len(text))))
    return (
        draw(st.sampled_from(["", " ", "\t", "\u3000"])) + text + draw(st.sampled_from(["", " "]))
    )


_FAKERS = [Faker(locale) for locale in ("ja_JP", "en_US", "de_DE", "fr_FR", "zh_CN", "ko_KR")]
_FAKER_KINDS = ("email", "free_email", "company_email", "safe_email", "ascii_email")


@st.composite
def _faker_address(draw: st.DrawFn) -> str:
    fake = draw(st.sampled_from(_FAKERS))
    fake.seed_instance(draw(st.integers(0, 2**32)))
    address = str(getattr(fake, draw(st.sampled_from(_FAKER_KINDS)))())
    flips = draw(st.lists(st.booleans(), max_size=len(address)))
    return _cased(address, flips)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_ANY, _built(), _faker_address()))
@example("Taro.Yamada@Example.COM")
@example("a@" + "b" * 63 + ".jp")
@example("a@" + "b" * 64 + ".jp")
@example("a" * 64 + "@example.jp")
@example("a" * 65 + "@example.jp")
@example("a" * 64 + "@" + ("b" * 60 + ".") * 3 + "b" * 5 + ".jp")
@example("info@example.jp")
@example("x@mail.example.test")
@example("x@a--b.jp")
@example("x@xn--abc.jp")
@example("x@example.c0m")
@example("x@example.jp.")
@example("x@-example.jp")
@example(".x@example.jp")
@example("x.@example.jp")
@example("x..y@example.jp")
@example("x@example..jp")
@example("x@example")
@example("x@[127.0.0.1]")
@example("Taro <x@example.jp>")
@example('"x y"@example.jp')
def test_plain_email_is_what_email_validator_returns(raw: str) -> None:
    _assert_same_email(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(), max_size=60))
def test_arbitrary_text_is_refused_or_normalized_as_email_validator_does(raw: str) -> None:
    _assert_same_email(raw)


def test_the_fast_path_takes_the_addresses_people_type() -> None:
    for person in Population(seed=11, pool=50).people(200):
        address = person.values["user.contact.email"]
        assert fast_paths.plain_email(address) == _library(address)
        assert fast_paths.plain_email(address) is not None
    for address in ("Taro.Yamada@Example.COM", "hanako+news@mail.example.jp", "o'reilly@ex.jp"):
        assert fast_paths.plain_email(address) == _library(address) is not None


def test_the_fast_path_reads_the_packages_reserved_names_as_they_stand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        email_validator,
        "SPECIAL_USE_DOMAIN_NAMES",
        [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "jp"],
    )
    assert fast_paths.plain_email("taro@example.jp") is None
    assert _library("taro@example.jp") is None


# Phone numbers: the number types of Japan's metadata, as phonenumbers reads them.


def _package_says(national: str) -> bool:
    number = phonenumbers.PhoneNumber(country_code=81, national_number=int(national))
    return bool(phonenumbers.is_valid_number(number))


@settings(max_examples=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.from_regex(r"\A[1-9][0-9]{7,16}\Z"),
        st.from_regex(r"\A(?:[2-9]0|50|60|70|80|90|120|570|800|990)[0-9]{5,12}\Z"),
    )
)
def test_valid_in_japan_is_what_phonenumbers_says(national: str) -> None:
    assert fast_paths.valid_in_japan(national) == _package_says(national)


@pytest.mark.parametrize("length", [9, 10])
def test_valid_in_japan_agrees_for_every_four_digit_prefix(length: int) -> None:
    for prefix in range(1000, 10000):
        for tail in ("0" * length, "9" * length, "5123456789"):
            national = (str(prefix) + tail)[:length]
            assert fast_paths.valid_in_japan(national) == _package_says(national), national


# Values in bulk: normalize_many and normalize_changes against normalize.

VALIDATORS: dict[str, Validator] = {
    f"user.test.{v.value}": v for v in Validator if v is not Validator.DATE
} | {"user.test.date": V.DATE, "user.test.text2": V.TEXT}
_SAMPLES: dict[Validator, list[str]] = {}
for _validator, _raw, _ in [*GOOD, *BAD]:
    _SAMPLES.setdefault(_validator, []).append(_raw)


def _reference(values: Mapping[str, str]) -> dict[str, str] | list[tuple[str, str | None]]:
    """Value by value, as ``subjects.service.normalize_values`` does it."""
    normalized, problems = {}, []
    for category, raw in values.items():
        validator = VALIDATORS.get(category)
        if validator is None:
            problems.append((category, None))
            continue
        try:
            normalized[category] = normalize(validator, raw, category=category)
        except ValidationFailed as exc:
            problems.append((category, exc.message))
    return problems or normalized


@st.composite
def _record(draw: st.DrawFn) -> dict[str, str]:
    categories = draw(st.lists(st.sampled_from([*VALIDATORS, "user.unknown"]), unique=True))
    record = {}
    for category in categories:
        validator = VALIDATORS.get(category, V.TEXT)
        record[category] = draw(
            st.one_of(st.sampled_from(_SAMPLES[validator]), st.text(max_size=12))
        )
    return record


@settings(max_examples=300, deadline=None)
@given(st.lists(_record(), max_size=12).flatmap(lambda rs: st.permutations(rs + rs)))
def test_normalize_many_is_normalize_value_by_value(records: list[dict[str, str]]) -> None:
    expected = [_reference(r) for r in records]
    assert normalize_many(VALIDATORS, records) == expected
    changes = normalize_changes(VALIDATORS, records)
    applied: list[object] = []
    for record, changed in zip(records, changes, strict=True):
        if isinstance(changed, tuple):
            values = dict(record)
            values.update(changed)
            applied.append(values)
            assert list(values) == list(record)
        else:
            applied.append(changed)
    assert applied == expected


def test_normalize_many_on_synthetic_people() -> None:
    validators = {
        "user.name": V.TEXT,
        "user.name.kana": V.KANA,
        "user.contact.email": V.EMAIL,
        "user.contact.phone_number": V.PHONE,
        "user.contact.address.postal_code": V.POSTAL_CODE,
        "user.contact.address.prefecture": V.PREFECTURE,
    }
    records = [
        {k: v for k, v in p.values.items() if k in validators}
        for p in Population(seed=5, pool=100).people(500)
    ]
    expected = [
        {c: normalize(validators[c], raw, category=c) for c, raw in r.items()} for r in records
    ]
    assert normalize_many(validators, records) == expected
