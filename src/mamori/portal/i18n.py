"""Languages of the pages: Japanese by default, English by a switch that is remembered.

Every text on a page is an English message id translated through gettext.
The Japanese catalogs (``locale/ja/LC_MESSAGES/*.po``, one per part of the
site) are compiled in memory when first needed, with Babel, so there is no
build step and no binary catalog to keep in step with its source. English
needs no catalog: the message ids are the English text.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
COOKIE = "mamori_lang"
LOCALE = Path(__file__).with_name("locale")


def catalog_files(language: str) -> list[Path]:
    return sorted((LOCALE / language / "LC_MESSAGES").glob("*.po"))


def read_catalogs(language: str) -> Catalog:
    """Every catalog of ``language`` as one; a message id in two files is a mistake."""
    merged = Catalog(locale=language)
    for path in catalog_files(language):
        with path.open("rb") as source:
            for message in read_po(source, locale=language):
                if message.id and merged.get(message.id) is not None:
                    raise ValueError(f"message {message.id!r} is translated twice ({path.name})")
                if message.id:
                    merged[message.id] = message
    return merged


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The translations of ``language``; English is the message ids themselves."""
    if language == "en":
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, read_catalogs(language), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def asked(request: Request) -> str | None:
    """The language the query asks for (``?lang=en``), if it is one of ours."""
    wanted = request.query_params.get("lang")
    return wanted if wanted in LANGUAGES else None


def chosen(request: Request) -> str:
    """The page's language: the query's, else the remembered one, else Japanese."""
    remembered = request.cookies.get(COOKIE)
    return asked(request) or (remembered if remembered in LANGUAGES else DEFAULT)
