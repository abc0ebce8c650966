"""Every message of the portal has a Japanese translation, and no translation is dead.

The messages are extracted the way a translator's tool would (Babel, with the
Jinja2 extractor for templates and the Python one for code), from ALL portal
templates and modules, so a page added by anyone is checked too.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import mamori.portal
from mamori.portal.i18n import read_catalogs

PORTAL = Path(mamori.portal.__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}


def extracted() -> set[str]:
    """Every message id used in the portal's templates and Python code."""
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PORTAL, method_map=METHODS, options_map=OPTIONS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        found.update(i for i in ids if i)
    return found


def test_the_extraction_finds_the_layout_and_the_public_pages() -> None:
    messages = extracted()
    assert "Skip to the main content" in messages  # base.html
    assert "Public notice on the handling of personal information" in messages  # notice.html
    assert "(external site)" in messages  # home.html


def test_every_message_has_a_japanese_translation() -> None:
    catalog = read_catalogs("ja")
    missing = sorted(m for m in extracted() if catalog.get(m) is None or not catalog.get(m).string)
    assert missing == []


def test_no_translation_is_unused() -> None:
    used = extracted()
    unused = sorted(str(m.id) for m in read_catalogs("ja") if m.id and m.id not in used)
    assert unused == []
