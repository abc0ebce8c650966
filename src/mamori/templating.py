"""The one way Mamori renders HTML: Jinja2 with autoescape and strict undefined names.

Every page (the disclosure report, the public notice, the ledger) is rendered
from templates in its domain's ``templates/`` folder by an environment made
here, so a value can never reach a page unescaped and a misspelt name fails
loudly instead of printing nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined


@cache
def environment(folder: Path) -> Environment:
    """The environment for the templates in ``folder``, made once."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
