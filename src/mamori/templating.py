"""The one way Mamori renders HTML: Jinja2 with autoescape and strict undefined names.

Every page (the disclosure report, the public notice, the ledger) is rendered
from templates in its domain's ``templates/`` folder by an environment made
here, so a value can never reach a page unescaped and a misspelt name fails
loudly instead of printing nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined


def make_environment(folder: Path, *, extensions: Sequence[str] = ()) -> Environment:
    """A new environment for the templates in ``folder``."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=list(extensions),
    )


@cache
def environment(folder: Path) -> Environment:
    """The environment for the templates in ``folder``, made once."""
    return make_environment(folder)
